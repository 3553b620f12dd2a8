// The machine's f32 FMA peak and the engine's matmul on the bench model's
// shapes (snapkv-bench): the ceilings the model numbers are read against.
import { BENCH_SHAPE, BenchModelShape, WeightType, benchModelSpec } from './bench-model';
import { MatmulResult, measureMatmul } from './native-tools';
import { BenchContext, BenchSection, SectionResult } from './section';
import { Table, fmt, fmtPercent, left, right } from './tables';

/** Tokens of a batched matmul, as one prefill chunk (the engine's default chunk is 256). */
export const BATCH_TOKENS = 256;
/** Repeats of the T=1 matvec: it takes microseconds, so take the median of many. */
export const MATVEC_REPEATS = 51;

export interface KernelShape {
  name: string;
  rows: number;
  cols: number;
  /** How many times a layer uses it (0: once per token, outside the layers). */
  perLayer: number;
  /** Measured at T=BATCH_TOKENS too (the logits matrix is only multiplied for one token per prefill). */
  batched: boolean;
}

export function kernelShapes(shape: BenchModelShape): KernelShape[] {
  const q = shape.heads * shape.headDim;
  const kv = shape.kvHeads * shape.headDim;
  return [
    { name: 'attn q, output', rows: q, cols: shape.hidden, perLayer: 2, batched: true },
    { name: 'attn k, v', rows: kv, cols: shape.hidden, perLayer: 2, batched: true },
    { name: 'ffn gate, up', rows: shape.ffn, cols: shape.hidden, perLayer: 2, batched: true },
    { name: 'ffn down', rows: shape.hidden, cols: shape.ffn, perLayer: 1, batched: true },
    { name: 'logits (tied embd)', rows: shape.vocab, cols: shape.hidden, perLayer: 0, batched: false },
  ];
}

export interface KernelRow {
  type: WeightType;
  shape: KernelShape;
  batched: MatmulResult | null;
  matvec: MatmulResult;
}

export interface KernelTypeSummary {
  type: WeightType;
  /** All of a layer's matrices at T=BATCH_TOKENS: their FLOPs over their summed median times. */
  layerGflops: number;
  /** All of a layer's matrices at T=1: their weight bytes over their summed median times. */
  layerMatvecGBps: number;
}

/** The bench model's shape without writing its file (the vocabulary is the real Qwen one). */
function benchShape(vocab: number): BenchModelShape {
  const spec = benchModelSpec('F32');
  return {
    hidden: spec.hidden,
    heads: spec.heads,
    kvHeads: spec.kvHeads,
    headDim: spec.hidden / spec.heads,
    ffn: spec.ffn,
    layers: spec.layers,
    vocab,
    tied: BENCH_SHAPE.tied,
  };
}

export function kernelSection(vocab: number): BenchSection {
  return {
    key: 'kernels',
    async run(context: BenchContext): Promise<SectionResult> {
      const shapes = kernelShapes(benchShape(vocab));
      const rows: KernelRow[] = [];
      const summaries: KernelTypeSummary[] = [];
      for (const type of context.weightTypes) {
        context.log(`matmul ${type}`);
        const typeRows: KernelRow[] = [];
        for (const shape of shapes) {
          const base = { type, rows: shape.rows, cols: shape.cols, threads: context.threads };
          const batched = shape.batched ? await measureMatmul({ ...base, tokens: BATCH_TOKENS }) : null;
          const matvec = await measureMatmul({ ...base, tokens: 1, repeats: MATVEC_REPEATS });
          typeRows.push({ type, shape, batched, matvec });
        }
        rows.push(...typeRows);
        summaries.push(summarize(type, typeRows));
      }
      return { tables: [kernelTable(rows, summaries, context.peak.peakGflops)], json: { batchTokens: BATCH_TOKENS, rows, summaries } };
    },
  };
}

function summarize(type: WeightType, rows: readonly KernelRow[]): KernelTypeSummary {
  let flops = 0;
  let batchedSeconds = 0;
  let bytes = 0;
  let matvecSeconds = 0;
  for (const { shape, batched, matvec } of rows) {
    if (shape.perLayer === 0 || !batched) continue;
    flops += shape.perLayer * 2 * BATCH_TOKENS * shape.rows * shape.cols;
    batchedSeconds += (shape.perLayer * batched.medianMs) / 1000;
    bytes += shape.perLayer * matvec.weightGBps * (matvec.medianMs / 1000) * 1e9;
    matvecSeconds += (shape.perLayer * matvec.medianMs) / 1000;
  }
  return { type, layerGflops: flops / batchedSeconds / 1e9, layerMatvecGBps: bytes / matvecSeconds / 1e9 };
}

function kernelTable(rows: readonly KernelRow[], summaries: readonly KernelTypeSummary[], peakGflops: number): Table {
  const body: string[][] = [];
  for (const summary of summaries) {
    for (const row of rows.filter((r) => r.type === summary.type)) {
      body.push([
        row.type,
        row.shape.name,
        `${row.shape.rows} x ${row.shape.cols}`,
        row.batched ? fmt(row.batched.gflops) : '-',
        row.batched ? fmtPercent(row.batched.gflops, peakGflops) : '-',
        fmt(row.matvec.medianMs * 1000, 0),
        fmt(row.matvec.weightGBps),
      ]);
    }
    body.push([summary.type, '**one layer, weighted**', '', fmt(summary.layerGflops), fmtPercent(summary.layerGflops, peakGflops), '', fmt(summary.layerMatvecGBps)]);
  }
  return {
    title: `Matmul kernels (snapkv-bench, median; T=${BATCH_TOKENS}: 7 runs, T=1: ${MATVEC_REPEATS} runs)`,
    columns: [
      ...left('weights', 'matrix', 'rows x cols'),
      ...right(`T=${BATCH_TOKENS} GFLOP/s`, '% of peak', 'T=1 µs', 'T=1 weight GB/s'),
    ],
    rows: body,
    notes: [
      `Peak: ${fmt(peakGflops)} GFLOP/s (f32 FMA, all threads). "one layer, weighted": every matrix of a layer by its count`,
      '(q and output twice, k and v twice, gate and up twice, down once): FLOPs / summed time at T=256, bytes / summed time at T=1.',
      'The layer matrices fit in the caches, so their T=1 GB/s is read from cache; the logits matrix (68M weights) does not, so its',
      "T=1 GB/s is memory bandwidth, or the kernel's own speed where that is lower (then the cached rows are about as slow).",
    ],
  };
}
