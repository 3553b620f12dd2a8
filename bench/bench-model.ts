/**
 * The benchmark model: Qwen2.5-0.5B's shape ratios scaled to about 100M
 * parameters, with the real Qwen vocabulary and tied embeddings, random
 * weights (speed does not depend on what the weights learned).
 *
 *                     Qwen2.5-0.5B    bench model
 *   hidden                 896            448
 *   heads / kvHeads       14 / 2         7 / 1      (7 query heads per KV head in both)
 *   head_dim                64             64
 *   ffn                   4864           2432       (ffn / hidden = 5.43 in both)
 *   layers                  24             12
 *   vocab               151936*        151669       (*padded; the tokenizer has 151665)
 *
 * ~45M non-embedding + ~68M embedding parameters = ~113M.
 *
 * Files are written once into bench/tmp/ (git-ignored) and reused by name.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TinyModelConfig, TinyModelSpec, tinyModelName, tinyModelSpec, writeTinyModel } from '../test/fixtures/tiny-models';
import { WeightType } from '../test/fixtures/quantize';

export type { WeightType };

export const BENCH_SHAPE = {
  arch: 'qwen2',
  tied: true,
  hidden: 448,
  heads: 7,
  kvHeads: 1,
  ffn: 2432,
  layers: 12,
  // Room for a 32K-token prompt plus a question and an answer (the SnapKV section).
  contextLength: 40960,
  seed: 1,
} as const;

export function benchModelSpec(weightType: WeightType): TinyModelSpec {
  return tinyModelSpec({ ...BENCH_SHAPE, weightType });
}

/** The numbers the FLOP and byte counts need (what TinyModelConfig has, without writing a file). */
export interface BenchModelShape {
  readonly hidden: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ffn: number;
  readonly layers: number;
  readonly vocab: number;
  readonly tied: boolean;
}

export interface BenchModelFile {
  readonly weightType: WeightType;
  readonly path: string;
  readonly bytes: number;
  /** False when an earlier run's file was reused. */
  readonly written: boolean;
  /** Time to generate and write the file (0 when reused). */
  readonly writeMs: number;
}

/** The file name carries every spec field that changes the file, so a stale cache is never reused. */
export function benchModelFileName(spec: TinyModelSpec): string {
  return `bench-${tinyModelName(spec)}-ctx${spec.contextLength}-rope${spec.ropeBase}.gguf`;
}

/**
 * The bench model of `weightType` in `dir`, written unless a previous run left
 * it there. Writing goes to a private folder first and is renamed into place,
 * so an interrupted run never leaves a truncated file under the final name.
 */
export function ensureBenchModel(weightType: WeightType, dir: string): BenchModelFile {
  const spec = benchModelSpec(weightType);
  const target = path.join(dir, benchModelFileName(spec));
  if (fs.existsSync(target)) {
    return { weightType, path: target, bytes: fs.statSync(target).size, written: false, writeMs: 0 };
  }
  fs.mkdirSync(dir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(dir, '.writing-'));
  try {
    const start = performance.now();
    const written = writeTinyModel(spec, staging);
    const writeMs = performance.now() - start;
    fs.renameSync(written.path, target);
    return { weightType, path: target, bytes: fs.statSync(target).size, written: true, writeMs };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The shape of a config the fixtures report, or of the engine's model info. */
export function shapeOf(config: Pick<TinyModelConfig, keyof BenchModelShape>): BenchModelShape {
  const { hidden, heads, kvHeads, headDim, ffn, layers, vocab, tied } = config;
  return { hidden, heads, kvHeads, headDim, ffn, layers, vocab, tied };
}

/** The matrices of one layer as the engine multiplies them: rows x cols of W in out = in * W^T. */
export function layerMatrices(shape: BenchModelShape): ReadonlyArray<{ name: string; rows: number; cols: number; count: number }> {
  const q = shape.heads * shape.headDim;
  const kv = shape.kvHeads * shape.headDim;
  return [
    { name: 'attn q', rows: q, cols: shape.hidden, count: 1 },
    { name: 'attn k, v', rows: kv, cols: shape.hidden, count: 2 },
    { name: 'attn output', rows: shape.hidden, cols: q, count: 1 },
    { name: 'ffn gate, up', rows: shape.ffn, cols: shape.hidden, count: 2 },
    { name: 'ffn down', rows: shape.hidden, cols: shape.ffn, count: 1 },
  ];
}
