// A fixture repository and model for the server tests, and the environment
// the command-line tests run snapkv-code in.
import * as fs from 'fs';
import * as path from 'path';
import { tinyModelSpec, TinyModelSpec, writeTinyModel } from '../fixtures/tiny-models';

/** A qwen2 model with the real Qwen tokenizer and chat template, random weights. */
export function serverModelSpec(partial: Partial<TinyModelSpec> = {}): TinyModelSpec {
  return tinyModelSpec({ arch: 'qwen2', tied: true, weightType: 'F32', contextLength: 8192, ...partial });
}

export function writeServerModel(dir: string, partial: Partial<TinyModelSpec> = {}): string {
  return writeTinyModel(serverModelSpec(partial), dir).path;
}

/** The server model and the fixture repository (at dir/repo), written into `dir`. */
export function writeServerFixture(dir: string): { model: string; repo: string } {
  const model = writeServerModel(dir);
  const repo = path.join(dir, 'repo');
  writeFixtureRepo(repo);
  return { model, repo };
}

/** An empty home (dir/home: no Ollama or LM Studio models to find) and a cache in dir/cache. */
export function isolatedEnv(dir: string): { HOME: string; SNAPKV_CACHE_DIR: string; OLLAMA_MODELS: string } {
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  return { HOME: home, SNAPKV_CACHE_DIR: path.join(dir, 'cache'), OLLAMA_MODELS: path.join(home, 'none') };
}

export interface FixtureFile {
  path: string;
  text: string;
}

export const FIXTURE_FILES: readonly FixtureFile[] = [
  { path: 'README.md', text: '# Inventory\n\nTracks stock levels for a small shop.\n' },
  { path: 'src/config.ts', text: "export const MAX_ITEMS = 250;\nexport const CURRENCY = 'EUR';\n" },
  {
    path: 'src/stock.ts',
    text:
      "import { MAX_ITEMS } from './config';\n\n" +
      'export function addItem(stock: Map<string, number>, name: string, count: number): void {\n' +
      '  const total = [...stock.values()].reduce((a, b) => a + b, 0);\n' +
      "  if (total + count > MAX_ITEMS) throw new Error('stock full');\n" +
      '  stock.set(name, (stock.get(name) ?? 0) + count);\n}\n',
  },
  { path: 'src/report.py', text: 'def report(stock):\n    for name, count in sorted(stock.items()):\n        print(f"{name}: {count}")\n' },
];

/** Writes the files with mtimes one minute apart, in list order (the last is the newest). */
export function writeFixtureRepo(root: string, files: readonly FixtureFile[] = FIXTURE_FILES, baseTime = Date.now() / 1000 - 3600): void {
  files.forEach((file, i) => {
    const full = path.join(root, file.path);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, file.text);
    const t = baseTime + 60 * i;
    fs.utimesSync(full, t, t);
  });
}

/** Many generated source files, for prefills long enough to cancel. */
export function writeLargeRepo(root: string, files: number, linesPerFile: number): void {
  const base = Date.now() / 1000 - 7200;
  for (let f = 0; f < files; f++) {
    const lines = Array.from({ length: linesPerFile }, (_, l) => `export const value_${f}_${l} = ${(f * 7919 + l * 104729) % 100000}; // item ${l}`);
    const full = path.join(root, `gen/module_${String(f).padStart(3, '0')}.ts`);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, `${lines.join('\n')}\n`);
    fs.utimesSync(full, base + f, base + f);
  }
}
