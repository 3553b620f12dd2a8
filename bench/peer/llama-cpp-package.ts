// llama.cpp through the npm package node-llama-cpp, installed into a scratch
// folder outside the project (never a project dependency) and imported from
// there. The interfaces below are the part of its 3.21.1 typings the bench
// uses, written out so the project compiles without the package.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';

export const NODE_LLAMA_CPP_VERSION = '3.21.1';

export function defaultScratchDir(): string {
  return path.join(os.homedir(), '.cache', 'snapkv-code', 'peer');
}

export interface PeerTokenOutput {
  next: { token?: number | null; probabilities?: Map<number, number> };
}

export interface PeerSequence {
  evaluateWithoutGeneratingNewTokens(tokens: number[]): Promise<void>;
  evaluate(tokens: number[], options?: { temperature?: number; yieldEogToken?: boolean }): AsyncGenerator<number, void, void | number | number[]>;
  controlledEvaluate(
    input: Array<number | [number, { generateNext?: { probabilities?: boolean; token?: boolean } }]>,
  ): Promise<Array<PeerTokenOutput | undefined>>;
  clearHistory(): Promise<void>;
  readonly nextTokenIndex: number;
}

export interface PeerContext {
  getSequence(): PeerSequence;
  readonly contextSize: number;
  readonly batchSize: number;
  dispose(): Promise<void>;
}

export interface PeerContextOptions {
  contextSize: number;
  batchSize?: number;
  threads: { ideal: number; min: number };
  sequences: 1;
}

export interface PeerModel {
  createContext(options: PeerContextOptions): Promise<PeerContext>;
  readonly size: number;
  dispose(): Promise<void>;
}

export interface PeerLlama {
  loadModel(options: { modelPath: string; gpuLayers: 0; useMmap: boolean }): Promise<PeerModel>;
  readonly gpu: string | false;
  readonly buildType: string;
  readonly cpuMathCores: number;
  readonly llamaCppRelease: { repo: string; release: string };
  dispose(): Promise<void>;
}

interface NodeLlamaCppModule {
  getLlama(options: { gpu: false; build: 'never'; maxThreads: number; logLevel: 'error' | 'warn' }): Promise<PeerLlama>;
}

function packageDir(scratch: string): string {
  return path.join(scratch, 'node_modules', 'node-llama-cpp');
}

function installedVersion(scratch: string): string | undefined {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(packageDir(scratch), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Installs node-llama-cpp into `scratch` unless that version is there. The
 * package's install script is skipped: its prebuilt CPU binaries come as
 * optional npm dependencies, and the bench never builds llama.cpp.
 */
export async function ensureNodeLlamaCpp(scratch: string, log: (line: string) => void): Promise<void> {
  if (installedVersion(scratch) === NODE_LLAMA_CPP_VERSION) return;
  fs.mkdirSync(scratch, { recursive: true });
  // A package.json of its own keeps npm from walking up into a project that holds the scratch folder.
  const manifest = path.join(scratch, 'package.json');
  if (!fs.existsSync(manifest)) fs.writeFileSync(manifest, `${JSON.stringify({ name: 'snapkv-peer-scratch', private: true }, null, 2)}\n`);
  log(`installing node-llama-cpp@${NODE_LLAMA_CPP_VERSION} into ${scratch} (npm registry)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = ['install', '--prefix', scratch, '--ignore-scripts', '--no-audit', '--no-fund', '--no-save', `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`];
  await new Promise<void>((resolve, reject) => {
    execFile(npm, args, { cwd: scratch, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`npm ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
  const version = installedVersion(scratch);
  if (version !== NODE_LLAMA_CPP_VERSION) throw new Error(`node-llama-cpp ${NODE_LLAMA_CPP_VERSION} is not in ${scratch} after npm install (found ${version ?? 'nothing'})`);
}

/** llama.cpp's prebuilt CPU build, limited to `threads`. */
export async function loadPeerLlama(scratch: string, threads: number): Promise<PeerLlama> {
  const entry = path.join(packageDir(scratch), 'dist', 'index.js');
  // The package is ESM only; a dynamic import from this CommonJS file loads it by URL.
  const loaded = (await import(pathToFileURL(entry).href)) as NodeLlamaCppModule;
  return loaded.getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: 'error' });
}
