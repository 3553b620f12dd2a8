// Prefix caches kept on disk per workspace folder and model, so reopening a
// workspace does not prefill it again. The engine checks that a file belongs
// to the loaded model and that its checksum holds; the record beside it says
// which folder and model file it came from.
//
// A cache holds the repository's tokens, and so every line of it: the folder
// is the user's alone (0700, files 0600, written by the engine). A cache that
// cannot be used (unreadable, not a regular file, corrupt, truncated) is set
// aside and the folder prefilled again: it never fails a question.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { AbortError, EngineError, Model, PrefixCache } from '../engine';
import { parseTemplateDay, templateDay } from '../text/template-clock';

interface StoreRecord {
  version: 1;
  folder: string;
  modelPath: string;
  modelBytes: number;
  tokens: number;
  savedAt: string;
  /** The date the chat template wrote into the cache's head (template-clock.ts); absent in older records. */
  templateDay?: string;
}

export type StoreLog = (line: string) => void;

const PRIVATE_FOLDER = 0o700;
const PRIVATE_FILE = 0o600;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class PrefixStore {
  private readonly dir: string;

  constructor(
    private readonly cacheDir: string,
    folder: string,
    private readonly log: StoreLog = () => {},
  ) {
    const key = createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 16);
    this.dir = path.join(cacheDir, `${path.basename(folder).replace(/[^\w.-]/g, '_') || 'root'}-${key}`);
  }

  /** The folder this store writes in. */
  get folderPath(): string {
    return this.dir;
  }

  private files(modelPath: string): { cache: string; record: string } {
    const model = createHash('sha256').update(path.resolve(modelPath)).digest('hex').slice(0, 12);
    return { cache: path.join(this.dir, `prefix-${model}.snapkvpc`), record: path.join(this.dir, `prefix-${model}.json`) };
  }

  /** The saved cache for this folder and model, or undefined when there is none or it cannot be used. */
  async load(model: Model, modelPath: string, modelBytes: number, extraCapacity: number): Promise<PrefixCache | undefined> {
    const { cache, record } = this.files(modelPath);
    let saved: StoreRecord;
    try {
      saved = JSON.parse(fs.readFileSync(record, 'utf8')) as StoreRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.setAside(record, `its record cannot be read (${messageOf(error)})`);
      return undefined;
    }
    if (saved.version !== 1 || saved.modelBytes !== modelBytes) {
      this.remove(modelPath);
      return undefined;
    }
    const problem = this.notARegularFile(cache);
    if (problem === 'missing') {
      this.remove(modelPath);
      return undefined;
    }
    if (problem) {
      this.setAside(cache, problem);
      fs.rmSync(record, { force: true });
      return undefined;
    }
    try {
      return await model.loadPrefix(cache, { extraCapacity });
    } catch (error) {
      // Cancellation and memory are not the file's fault; anything else is.
      if (error instanceof AbortError) throw error;
      if (error instanceof EngineError && error.code === 'OUT_OF_MEMORY') throw error;
      this.setAside(cache, messageOf(error));
      fs.rmSync(record, { force: true });
      return undefined;
    }
  }

  /** The date written into the saved cache's head, so an update renders the same head; undefined without a record. */
  savedDay(modelPath: string): Date | undefined {
    try {
      const saved = JSON.parse(fs.readFileSync(this.files(modelPath).record, 'utf8')) as Partial<StoreRecord>;
      // Records from before templateDay was kept were written the day their cache was first saved.
      return parseTemplateDay(saved.templateDay) ?? parseTemplateDay(typeof saved.savedAt === 'string' ? saved.savedAt.slice(0, 10) : undefined);
    } catch {
      return undefined;
    }
  }

  async save(prefix: PrefixCache, folder: string, modelPath: string, modelBytes: number, day: Date): Promise<string> {
    const { cache, record } = this.files(modelPath);
    this.ensurePrivateFolder();
    // A leftover that is not a regular file (a folder, a link) would take the engine's rename or be written through.
    const leftover = this.notARegularFile(cache);
    if (leftover !== undefined && leftover !== 'missing') this.setAside(cache, leftover);
    await prefix.save(cache);
    const entry: StoreRecord = {
      version: 1,
      folder: path.resolve(folder),
      modelPath: path.resolve(modelPath),
      modelBytes,
      tokens: prefix.length,
      savedAt: new Date().toISOString(),
      templateDay: templateDay(day),
    };
    const partial = `${record}.partial`;
    fs.rmSync(partial, { force: true, recursive: true });
    fs.writeFileSync(partial, JSON.stringify(entry, null, 2), { mode: PRIVATE_FILE, flag: 'wx' });
    fs.renameSync(partial, record);
    return cache;
  }

  remove(modelPath: string): void {
    const { cache, record } = this.files(modelPath);
    fs.rmSync(cache, { force: true });
    fs.rmSync(record, { force: true });
  }

  /** The store's folder, created 0700 (and made 0700 again if it was not); a link or another user's folder is refused. */
  private ensurePrivateFolder(): void {
    if (!fs.existsSync(this.cacheDir)) fs.mkdirSync(this.cacheDir, { recursive: true, mode: PRIVATE_FOLDER });
    let stats: fs.Stats | undefined;
    try {
      stats = fs.lstatSync(this.dir);
    } catch {
      fs.mkdirSync(this.dir, { mode: PRIVATE_FOLDER });
      stats = fs.lstatSync(this.dir);
    }
    if (!stats.isDirectory()) throw new Error(`the cache folder ${this.dir} is not a folder (a link or a file): remove it`);
    const uid = process.getuid?.();
    if (uid !== undefined && stats.uid !== uid) throw new Error(`the cache folder ${this.dir} belongs to another user: remove it or choose another cacheDir`);
    if ((stats.mode & 0o777) !== PRIVATE_FOLDER) fs.chmodSync(this.dir, PRIVATE_FOLDER);
  }

  /** 'missing', a reason the path cannot hold a cache, or undefined for a regular file. */
  private notARegularFile(file: string): string | undefined {
    let stats: fs.Stats;
    try {
      stats = fs.lstatSync(file);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : messageOf(error);
    }
    if (stats.isSymbolicLink()) return 'it is a symbolic link';
    if (!stats.isFile()) return 'it is not a regular file';
    return undefined;
  }

  /** Renames an unusable file out of the way (or removes it when it cannot be renamed), with a log line. */
  private setAside(file: string, why: string): void {
    const aside = `${file}.bad-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      fs.renameSync(file, aside);
      this.log(`saved prefix cache ${file} cannot be used (${why}); moved to ${aside}, and the folder is prefilled again`);
    } catch (renameError) {
      try {
        fs.rmSync(file, { force: true, recursive: true });
        this.log(`saved prefix cache ${file} cannot be used (${why}); removed, and the folder is prefilled again`);
      } catch (removeError) {
        this.log(`saved prefix cache ${file} cannot be used (${why}) and cannot be moved (${messageOf(renameError)}) or removed (${messageOf(removeError)}); the folder is prefilled again`);
      }
    }
  }
}
