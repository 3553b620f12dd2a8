// The native tools (build/native/snapkv-bench, snapkv-run) run as child
// processes that print one JSON object.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { WeightType } from './bench-model';

/** The package root: the first folder above this file that holds package.json. */
export function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

export function nativeTool(name: 'snapkv-bench' | 'snapkv-run'): string {
  const file = path.join(repoRoot(), 'build', 'native', name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: build it with \`npx cmake-js compile --out build\` (or \`npm run build:native\`)`);
  }
  return file;
}

/** Runs a tool and parses its JSON stdout; rejects with its stderr when it fails. */
export function runJsonTool<T>(tool: string, args: readonly string[], timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${path.basename(tool)} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`${path.basename(tool)} ${args.join(' ')} printed no JSON: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

export interface PeakResult {
  /** f32 FMA throughput of all threads. */
  peakGflops: number;
  threads: number;
  lanes: number;
}

export async function measurePeak(threads: number): Promise<PeakResult> {
  const { peakGflops, threads: used, lanes } = await runJsonTool<PeakResult>(nativeTool('snapkv-bench'), [
    'peak',
    '--threads',
    String(threads),
  ]);
  return { peakGflops, threads: used, lanes };
}

export interface MatmulRequest {
  type: WeightType;
  rows: number;
  cols: number;
  tokens: number;
  threads: number;
  repeats?: number;
}

export interface MatmulResult {
  type: WeightType;
  rows: number;
  cols: number;
  tokens: number;
  medianMs: number;
  gflops: number;
  /** Weight bytes / median time: the bandwidth a matvec (tokens = 1) reaches. */
  weightGBps: number;
  threads: number;
}

/** Median time of out[T x rows] = in[T x cols] * W[rows x cols]^T with W in `type`. */
export async function measureMatmul(request: MatmulRequest): Promise<MatmulResult> {
  const args = ['matmul', '--type', request.type, '--rows', String(request.rows), '--cols', String(request.cols)];
  args.push('--tokens', String(request.tokens), '--threads', String(request.threads));
  if (request.repeats !== undefined) args.push('--repeats', String(request.repeats));
  const r = await runJsonTool<MatmulResult>(nativeTool('snapkv-bench'), args);
  return {
    type: request.type,
    rows: r.rows,
    cols: r.cols,
    tokens: r.tokens,
    medianMs: r.medianMs,
    gflops: r.gflops,
    weightGBps: r.weightGBps,
    threads: r.threads,
  };
}

export interface BandwidthResult {
  /** Best of seven passes of every thread reading its share of a buffer far larger than the caches. */
  readGBps: number;
  bytes: number;
  threads: number;
}

/** The machine's memory read bandwidth with `threads` threads of the engine's pool: decode's ceiling. */
export async function measureBandwidth(threads: number): Promise<BandwidthResult> {
  const { readGBps, bytes, threads: used } = await runJsonTool<BandwidthResult>(nativeTool('snapkv-bench'), ['bandwidth', '--threads', String(threads)]);
  return { readGBps, bytes, threads: used };
}

export interface AttentionResult {
  kvType: string;
  context: number;
  layers: number;
  kvBytes: number;
  medianMs: number;
  /** KV bytes read per second by the attention of one decode token. */
  kvGBps: number;
  threads: number;
}

/** One decode token's attention over `context` cached positions in every layer (Qwen2.5-0.5B's heads by default). */
export async function measureAttention(kvType: string, context: number, threads: number): Promise<AttentionResult> {
  const args = ['attention', '--kv-type', kvType, '--context', String(context), '--threads', String(threads), '--repeats', '5'];
  return runJsonTool<AttentionResult>(nativeTool('snapkv-bench'), args, 600_000);
}
