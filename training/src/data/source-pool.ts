// The pool of real source files that synthetic repositories are made of: text files under
// a node_modules folder, found in a stable order (sorted paths, symbolic links never
// followed) so that the same seed gives the same data on every machine with the same
// installed packages. Each file belongs to one split for good, decided by a hash of its
// path, so held-out repositories are built only from files that training never saw.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface SourceFile {
  /** The path shown in the prompt: relative to the node_modules folder, forward slashes. */
  readonly path: string;
  readonly text: string;
  readonly split: Split;
  /** sha256 of the text (hex), for the pool manifest and de-duplication. */
  readonly sha256: string;
}

export interface PoolOptions {
  /** Default: the node_modules folder of this checkout. */
  readonly root?: string;
  readonly minBytes?: number;
  readonly maxBytes?: number;
}

export const SOURCE_EXTENSIONS: readonly string[] = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs', '.py', '.md', '.json'];
/** Lines longer than this mark minified or generated text, which tokenizes into noise. */
const MAX_LINE_LENGTH = 240;
const MIN_LINES = 6;

/** Percent buckets of the path hash: [0, 80) train, [80, 90) validation, [90, 100) test. */
export function splitOfPath(relPath: string): Split {
  const bucket = createHash('sha256').update(`snapkv-split:${relPath}`).digest().readUInt32BE(0) % 100;
  return bucket < 80 ? 'train' : bucket < 90 ? 'val' : 'test';
}

export function defaultPoolRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules');
    if (fs.existsSync(path.join(candidate, 'typescript'))) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`no node_modules folder with packages was found above ${__dirname}: run npm install`);
}

/**
 * Every usable file under `root`, sorted by path. Identical texts appear once (the first
 * path in sorted order keeps it), so no text can sit in two splits.
 */
export function loadSourcePool(options: PoolOptions = {}): SourceFile[] {
  const root = options.root ?? defaultPoolRoot();
  const minBytes = options.minBytes ?? 200;
  const maxBytes = options.maxBytes ?? 16_000;
  const paths: string[] = [];
  walk(root, '', paths, (size) => size >= minBytes && size <= maxBytes);
  paths.sort(compareCodeUnits);

  const seen = new Set<string>();
  const files: SourceFile[] = [];
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (const relPath of paths) {
    const bytes = fs.readFileSync(path.join(root, relPath));
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      continue;
    }
    if (!isPlainText(text)) continue;
    // The tokenizer normalizes to NFC, so such a file's tokens would not decode to its characters
    // and answer spans could not be mapped back (a Kelvin sign K becomes K).
    if (text.normalize('NFC') !== text) continue;
    // A file that opens with a blank line shares a token ("\n\n") with its header line, so the
    // header's token span could not end at its line.
    if (/^\r?\n/.test(text)) continue;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (seen.has(sha256)) continue;
    seen.add(sha256);
    files.push({ path: relPath, text, split: splitOfPath(relPath), sha256 });
  }
  return files;
}

function walk(root: string, rel: string, out: string[], sizeOk: (size: number) => boolean): void {
  const entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
  for (const entry of entries) {
    // Dot folders (.bin, .cache) hold links and caches, not package sources.
    if (entry.name.startsWith('.')) continue;
    const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) walk(root, child, out, sizeOk);
    else if (entry.isFile() && SOURCE_EXTENSIONS.includes(path.extname(entry.name)) && !entry.name.endsWith('.min.js')) {
      if (sizeOk(fs.statSync(path.join(root, child)).size)) out.push(child);
    }
    // Symbolic links are skipped: the project links itself into node_modules.
  }
}

function isPlainText(text: string): boolean {
  if (text.includes('\u0000') || text.includes('\ufffd')) return false;
  let lines = 0;
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n', start);
    const length = (end < 0 ? text.length : end) - start;
    if (length > MAX_LINE_LENGTH) return false;
    lines++;
    if (end < 0) break;
    start = end + 1;
  }
  return lines >= MIN_LINES;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
