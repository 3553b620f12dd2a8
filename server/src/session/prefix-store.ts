// Prefix caches kept on disk per workspace folder and model, so reopening a
// workspace does not prefill it again. The engine checks that a file belongs
// to the loaded model; the record beside it says which folder and model file
// it came from.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { EngineError, Model, PrefixCache } from '../engine';

interface StoreRecord {
  version: 1;
  folder: string;
  modelPath: string;
  modelBytes: number;
  tokens: number;
  savedAt: string;
}

export type StoreLog = (line: string) => void;

export class PrefixStore {
  private readonly dir: string;

  constructor(cacheDir: string, folder: string, private readonly log: StoreLog = () => {}) {
    const key = createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 16);
    this.dir = path.join(cacheDir, `${path.basename(folder).replace(/[^\w.-]/g, '_') || 'root'}-${key}`);
  }

  private files(modelPath: string): { cache: string; record: string } {
    const model = createHash('sha256').update(path.resolve(modelPath)).digest('hex').slice(0, 12);
    return { cache: path.join(this.dir, `prefix-${model}.snapkvpc`), record: path.join(this.dir, `prefix-${model}.json`) };
  }

  /** The saved cache for this folder and model, or undefined when there is none or it no longer fits. */
  async load(model: Model, modelPath: string, modelBytes: number, extraCapacity: number): Promise<PrefixCache | undefined> {
    const { cache, record } = this.files(modelPath);
    let saved: StoreRecord;
    try {
      saved = JSON.parse(fs.readFileSync(record, 'utf8')) as StoreRecord;
    } catch {
      return undefined;
    }
    if (saved.version !== 1 || saved.modelBytes !== modelBytes || !fs.existsSync(cache)) {
      this.remove(modelPath);
      return undefined;
    }
    try {
      return await model.loadPrefix(cache, { extraCapacity });
    } catch (error) {
      if (error instanceof EngineError && error.code === 'INVALID_FILE') {
        this.log(`saved prefix cache ${cache} is not usable (${error.message}); it is removed and the folder prefilled again`);
        this.remove(modelPath);
        return undefined;
      }
      throw error;
    }
  }

  async save(prefix: PrefixCache, folder: string, modelPath: string, modelBytes: number): Promise<string> {
    const { cache, record } = this.files(modelPath);
    fs.mkdirSync(this.dir, { recursive: true });
    await prefix.save(cache);
    const entry: StoreRecord = {
      version: 1,
      folder: path.resolve(folder),
      modelPath: path.resolve(modelPath),
      modelBytes,
      tokens: prefix.length,
      savedAt: new Date().toISOString(),
    };
    fs.writeFileSync(`${record}.partial`, JSON.stringify(entry, null, 2));
    fs.renameSync(`${record}.partial`, record);
    return cache;
  }

  remove(modelPath: string): void {
    const { cache, record } = this.files(modelPath);
    fs.rmSync(cache, { force: true });
    fs.rmSync(record, { force: true });
  }
}
