// The ~113M bench model through the addon: load, prefill, decode, next to the
// machine's measured limits.
import { WeightType, shapeOf } from './bench-model';
import { ModelBench, benchModel } from './engine-bench';
import { embeddingParams, layerMatrixParams } from './flops';
import { OtherLoad, cpuSnapshot, otherLoad } from './machine';
import { BenchContext, BenchSection, SectionResult } from './section';
import { Table, fmt, fmtBytes, fmtInt, fmtMillions, fmtPercent, left, right } from './tables';

export const PREFILL_LENGTHS = [512, 2048] as const;
export const PREFILL_REPEATS = 3;
export const DECODE_PROMPT = 512;
export const DECODE_TOKENS = 64;
export const LOADS = 3;

export interface ModelSectionRow {
  weightType: WeightType;
  file: { path: string; bytes: number; written: boolean; writeMs: number };
  bench: ModelBench;
  /** What other processes ran while this type was measured. */
  otherLoad: OtherLoad;
}

/** The T=1 GB/s of the logits matrix per weight type, from the kernel section: decode's memory limit. */
export type MemoryBandwidth = (type: WeightType) => number | undefined;

export function modelSection(memoryBandwidth: MemoryBandwidth): BenchSection {
  return {
    key: 'model',
    async run(context: BenchContext): Promise<SectionResult> {
      // Every file first: writing one leaves a heap of garbage that must not be collected during a measurement.
      const files = context.weightTypes.map((type) => context.modelFile(type));
      const rows: ModelSectionRow[] = [];
      for (const file of files) {
        const { weightType } = file;
        context.log(`model ${weightType}: ${file.written ? `wrote ${fmtBytes(file.bytes)} in ${fmt(file.writeMs / 1000)} s` : 'reused'} ${file.path}`);
        const before = cpuSnapshot();
        const bench = await benchModel(file.path, weightType, {
          threads: context.threads,
          prefillLengths: PREFILL_LENGTHS,
          repeats: PREFILL_REPEATS,
          decodePrompt: DECODE_PROMPT,
          decodeTokens: DECODE_TOKENS,
          loads: LOADS,
          log: context.log,
        });
        const load = otherLoad(before, cpuSnapshot());
        if (load.otherCores > 0.2 || load.stealCores > 0.2) {
          context.log(`  ${weightType}: other processes kept ${fmt(load.otherCores, 2)} cores busy (steal ${fmt(load.stealCores, 2)}): its numbers are disturbed`);
        }
        rows.push({ weightType, file, bench, otherLoad: load });
      }
      const peak = context.peak.peakGflops;
      return {
        tables: [modelTable(rows), prefillTable(rows, peak), decodeTable(rows, memoryBandwidth, context.bandwidth.readGBps)],
        json: {
          prefillLengths: PREFILL_LENGTHS,
          prefillRepeats: PREFILL_REPEATS,
          decodePrompt: DECODE_PROMPT,
          decodeTokens: DECODE_TOKENS,
          rows: rows.map(({ weightType, file, bench, otherLoad: other }) => ({ weightType, file, otherLoad: other, ...bench })),
        },
      };
    },
  };
}

function modelTable(rows: readonly ModelSectionRow[]): Table {
  const first = rows[0]?.bench.info;
  const shape = first ? shapeOf({ ...first, tied: first.tiedEmbeddings }) : undefined;
  return {
    title: 'Bench model: load',
    columns: [
      ...left('weights'),
      ...right('file', 'weight bytes', `load ms (median of ${LOADS})`, 'first load ms', 'other load (cores)'),
    ],
    rows: rows.map(({ weightType, file, bench, otherLoad: other }) => [
      weightType,
      fmtBytes(file.bytes),
      fmtBytes(bench.info.weightBytes),
      fmt(bench.load.medianMs),
      fmt(bench.load.runsMs[0]),
      fmt(other.otherCores + other.stealCores, 2),
    ]),
    notes: shape
      ? [
          `${first!.architecture}, hidden ${shape.hidden}, ${shape.layers} layers, ${shape.heads} heads / ${shape.kvHeads} KV head, head_dim ${shape.headDim}, ` +
            `ffn ${shape.ffn}, vocab ${fmtInt(shape.vocab)}, tied embeddings: ${fmtMillions(layerMatrixParams(shape))} layer + ` +
            `${fmtMillions(embeddingParams(shape))} embedding parameters (Qwen2.5-0.5B's ratios at ~1/4 of its size).`,
          'Loads after the first read the file from the page cache. Other load: cores kept busy by other processes (and the',
          "hypervisor's steal) while the type was measured; above ~0.1 its numbers are disturbed.",
        ]
      : [],
  };
}

function prefillTable(rows: readonly ModelSectionRow[], peakGflops: number): Table {
  const body: string[][] = [];
  for (const { weightType, bench } of rows) {
    for (const p of bench.prefill) {
      body.push([
        weightType,
        String(p.tokens),
        fmt(p.medianMs),
        fmtInt(p.tokensPerSecond),
        fmt(p.gflop, 1),
        fmt(p.gflops),
        fmtPercent(p.gflops, peakGflops),
      ]);
    }
  }
  return {
    title: `Prefill (addon, median of ${PREFILL_REPEATS} after a warm-up, logits of the last token)`,
    columns: [...left('weights'), ...right('prompt', 'ms', 'tokens/s', 'GFLOP', 'GFLOP/s', '% of peak')],
    rows: body,
    notes: [
      `FLOPs: 2 x layer matrix weights per token + attention 4 x layers x heads x head_dim x mean context + the last token's logits. Peak: ${fmt(peakGflops)} GFLOP/s.`,
    ],
  };
}

function decodeTable(rows: readonly ModelSectionRow[], memoryBandwidth: MemoryBandwidth, readGBps: number): Table {
  return {
    title: `Decode (addon, greedy, ${DECODE_TOKENS} tokens after a ${DECODE_PROMPT}-token prompt; first token excluded)`,
    columns: [
      ...left('weights'),
      ...right('ms/token (median)', 'p90', 'tokens/s', 'bytes/token', 'bytes / read bandwidth (ms)', '% of that bound', 'GB/s'),
      ...right('logits matvec GB/s', `TTFT ms (${DECODE_PROMPT})`),
    ],
    rows: rows.map(({ weightType, bench }) => {
      const d = bench.decode;
      const limit = memoryBandwidth(weightType);
      return [
        weightType,
        fmt(d.medianMsPerToken, 2),
        fmt(d.p90MsPerToken, 2),
        fmt(d.tokensPerSecond),
        fmtBytes(d.bytesPerToken),
        fmt(boundMs(d.bytesPerToken, readGBps), 2),
        fmtPercent(boundMs(d.bytesPerToken, readGBps), d.medianMsPerToken),
        fmt(d.gbps),
        limit === undefined ? '-' : fmt(limit),
        fmt(d.timeToFirstTokenMs),
      ];
    }),
    notes: [
      "bytes/token: every weight matrix (the tied embedding as the output projection) plus the KV cache (in the model's KV type) at the mean context.",
      `bytes / read bandwidth: the fastest a step can be when it reads those bytes once at the machine's measured ${fmt(readGBps)} GB/s (same threads);`,
      '% of that bound: how close the measured step comes to it (100% is at memory bandwidth).',
      'logits matvec GB/s: snapkv-bench on the 151669 x 448 output matrix at T=1. It does not fit in the caches, so this is the rate a',
      "decode step can read that weight type from memory with the engine's kernel: the practical ceiling for the GB/s column.",
      'TTFT: prefill of the prompt plus the wait for the first token.',
    ],
  };
}

/** The time to read `bytes` once at `gbps`, in ms. */
export function boundMs(bytes: number, gbps: number): number {
  return (bytes / (gbps * 1e9)) * 1000;
}
