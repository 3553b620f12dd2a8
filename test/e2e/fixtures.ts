// The e2e fixtures: a copy of the small workspace (so edits in VS Code never touch the repository) and a tiny
// random-weight model with the real Qwen vocabulary and chat template (its answers are gibberish, which is fine:
// the tests check that the editor streams, stops, references and explains, not what the model knows).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tinyModelName, tinyModelSpec, writeTinyModel } from '../fixtures/tiny-models';
import { E2E_DIR, REPO_ROOT } from './code-server';

const FIXTURE_WORKSPACE = path.join(REPO_ROOT, 'test', 'e2e', 'fixture-workspace');

/**
 * A fresh copy of the fixture workspace in the system's temporary folder: outside this repository, whose git
 * view (the server packs what git tracks) would otherwise hide the copy's files.
 */
export function copyWorkspace(name: string): string {
  const target = path.join(os.tmpdir(), 'snapkv-e2e', name);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.cpSync(FIXTURE_WORKSPACE, target, { recursive: true });
  return target;
}

/** An e2e model (Qwen2 by default, Llama as the second one), written once and kept under .e2e/models. */
export function e2eModel(arch: 'qwen2' | 'llama' = 'qwen2'): string {
  const dir = path.join(E2E_DIR, 'models');
  fs.mkdirSync(dir, { recursive: true });
  const spec = tinyModelSpec({ arch, weightType: 'F32', tied: true, hidden: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, contextLength: 8192, seed: 11 });
  const existing = path.join(dir, `${tinyModelName(spec)}.gguf`);
  return fs.existsSync(existing) ? existing : writeTinyModel(spec, dir).path;
}

/** The folder for this run's screenshots, emptied of the previous run's on first use. */
export function screenshotsDir(): string {
  const dir = process.env.E2E_SCREENSHOTS ?? path.join(E2E_DIR, 'screenshots');
  if (!screenshotsCleared) {
    fs.rmSync(dir, { recursive: true, force: true });
    screenshotsCleared = true;
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

let screenshotsCleared = false;
