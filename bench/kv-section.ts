// Decode at long context with the KV cache stored as f32, f16 and q8_0: the
// bytes each type holds per token, and the decode step next to the time it
// takes to read the weights and the KV cache once at the measured bandwidth.
import { promptTokens } from '../test/fixtures/tiny-models';
import { Engine, KvType, Model, PrefixCache } from '../server/src/engine';
import { WeightType, shapeOf } from './bench-model';
import { decodeWeightBytes } from './flops';
import { median, streamTimings, timeMs } from './measure';
import { boundMs } from './model-section';
import { measureAttention } from './native-tools';
import { BenchContext, BenchSection, SectionResult } from './section';
import { Table, fmt, fmtBytes, fmtInt, fmtPercent, left, right } from './tables';

export const KV_CONTEXTS = [2048, 8192] as const;
const MEASURED_TYPES: readonly KvType[] = ['f32', 'f16', 'q8_0'];
const WEIGHT_TYPE: WeightType = 'Q8_0';
/** Tokens generated per measurement; the first is excluded from the per-token figure. */
const DECODE_TOKENS = 33;

/** Bytes per stored KV value of each type (q8_0: 32 int8 and an f16 scale per 32 values). */
const BYTES_PER_VALUE: Record<KvType, number> = { f32: 4, f16: 2, bf16: 2, q8_0: 34 / 32 };

/** Qwen2.5-Coder-1.5B at 128K tokens, the issue's example: 28 layers, 2 KV heads of 128. */
const EXAMPLE = { name: 'Qwen2.5-Coder-1.5B at 128K tokens', layers: 28, kvHeads: 2, headDim: 128, tokens: 131072 };

export interface KvRow {
  kvType: KvType;
  context: number;
  kvBytesPerToken: number;
  /** Weights plus KV cache one step reads, at the mean context of the run. */
  bytesPerToken: number;
  boundMs: number;
  /** Median decode step over every round (the first token of each excluded). */
  medianMs: number;
  steps: number;
}

export interface AttentionRow {
  kvType: KvType;
  /** Per round (types interleaved), the median of snapkv-bench's repeats. */
  roundsMs: number[];
  bestMs: number;
  kvBytes: number;
}

/** The types take turns, round after round, so load from other processes falls on all of them alike. */
const ROUNDS = 3;
export const ATTENTION_CONTEXT = 32768;

export function kvSection(): BenchSection {
  return {
    key: 'kvTypes',
    async run(context: BenchContext): Promise<SectionResult> {
      const file = context.modelFile(WEIGHT_TYPE);
      const longest = KV_CONTEXTS[KV_CONTEXTS.length - 1];
      const prompt = Int32Array.from(promptTokens(longest, 29));
      const readGBps = context.bandwidth.readGBps;
      const models = new Map<KvType, Model>();
      const prefixes = new Map<KvType, PrefixCache>();
      const gaps = new Map<string, number[]>();
      const rows: KvRow[] = [];
      try {
        for (const kvType of MEASURED_TYPES) {
          const model = await Engine.load(file.path, { backend: 'cpu', threads: context.threads, kvType });
          models.set(kvType, model);
          const prefillMs = await timeMs(async () => {
            prefixes.set(kvType, await model.prefill(prompt.subarray(0, longest - 1), { logits: 'none', capacity: longest + DECODE_TOKENS + 8 }));
          });
          context.log(`kv ${kvType}: prefilled ${longest - 1} tokens in ${fmt(prefillMs / 1000)} s`);
        }
        for (const length of [...KV_CONTEXTS].reverse()) {
          for (let round = 0; round < ROUNDS; round++) {
            for (const kvType of MEASURED_TYPES) {
              const prefix = prefixes.get(kvType)!;
              prefix.truncate(length - 1);
              await prefix.extend(prompt.subarray(length - 1, length), { logits: 'last' });
              const run = await streamTimings(prefix.generate({ maxTokens: DECODE_TOKENS, temperature: 0 }));
              const key = `${kvType}@${length}`;
              gaps.set(key, [...(gaps.get(key) ?? []), ...run.gapsMs]);
            }
          }
          for (const kvType of MEASURED_TYPES) {
            const model = models.get(kvType)!;
            const shape = shapeOf({ ...model.info, tied: model.info.tiedEmbeddings });
            const kvBytesPerToken = model.info.kvBytesPerToken;
            const bytesPerToken = decodeWeightBytes(shape, WEIGHT_TYPE) + kvBytesPerToken * (length + DECODE_TOKENS / 2);
            const stepsMs = gaps.get(`${kvType}@${length}`)!;
            const row: KvRow = { kvType, context: length, kvBytesPerToken, bytesPerToken, boundMs: boundMs(bytesPerToken, readGBps), medianMs: median(stepsMs), steps: stepsMs.length };
            context.log(`kv ${kvType}, ${length} tokens: ${fmt(row.medianMs, 2)} ms/token (bound ${fmt(row.boundMs, 2)} ms)`);
            rows.push(row);
          }
        }
      } finally {
        prefixes.forEach((prefix) => prefix.dispose());
        models.forEach((model) => model.dispose());
      }
      rows.sort((a, b) => a.context - b.context || MEASURED_TYPES.indexOf(a.kvType) - MEASURED_TYPES.indexOf(b.kvType));

      const attention: AttentionRow[] = MEASURED_TYPES.map((kvType) => ({ kvType, roundsMs: [], bestMs: Infinity, kvBytes: 0 }));
      for (let round = 0; round < ROUNDS; round++) {
        for (const row of attention) {
          const r = await measureAttention(row.kvType, ATTENTION_CONTEXT, context.threads);
          row.roundsMs.push(r.medianMs);
          row.bestMs = Math.min(row.bestMs, r.medianMs);
          row.kvBytes = r.kvBytes;
        }
      }
      context.log(`kv attention at ${ATTENTION_CONTEXT}: ${attention.map((a) => `${a.kvType} ${fmt(a.bestMs)} ms`).join(', ')}`);
      return {
        tables: [kvTable(rows, readGBps), attentionTable(attention, readGBps)],
        json: { weightType: WEIGHT_TYPE, decodeTokens: DECODE_TOKENS, rounds: ROUNDS, readGBps, rows, attention: { context: ATTENTION_CONTEXT, rows: attention } },
      };
    },
  };
}

function attentionTable(rows: readonly AttentionRow[], readGBps: number): Table {
  const f32 = rows.find((r) => r.kvType === 'f32');
  return {
    title: `KV cache types: one decode token's attention over ${ATTENTION_CONTEXT} positions (Qwen2.5-0.5B heads: 24 layers, 14 / 2 heads, head_dim 64)`,
    columns: [
      ...left('KV type'),
      ...right('KV read', 'ms (best round)'),
      ...left('rounds ms'),
      ...right('vs f32', 'KV GB/s', 'KV / read bandwidth (ms)'),
    ],
    rows: rows.map((r) => [
      r.kvType,
      fmtBytes(r.kvBytes),
      fmt(r.bestMs, 1),
      r.roundsMs.map((ms) => fmt(ms, 0)).join(' / '),
      f32 ? `${fmt(f32.bestMs / r.bestMs, 2)}x` : '-',
      fmt(r.kvBytes / 1e9 / (r.bestMs / 1000), 2),
      fmt(boundMs(r.kvBytes, readGBps), 1),
    ]),
    notes: [
      'snapkv-bench attention: the engine\'s causal_attention for one query token in every layer, rows read in their stored type.',
      'Each query head reads its KV head\'s rows on its own (7 query heads share one here), so the loop is bound by the per-row',
      'dot products and conversions more than by memory: the KV GB/s column stays under the read bandwidth.',
    ],
  };
}

function exampleBytes(type: KvType): number {
  return EXAMPLE.layers * 2 * EXAMPLE.kvHeads * EXAMPLE.headDim * BYTES_PER_VALUE[type] * EXAMPLE.tokens;
}

function kvTable(rows: readonly KvRow[], readGBps: number): Table {
  const f32Of = (length: number): KvRow | undefined => rows.find((r) => r.context === length && r.kvType === 'f32');
  return {
    title: `KV cache types: decode at long context (${WEIGHT_TYPE} bench model, full cache)`,
    columns: [
      ...left('context', 'KV type'),
      ...right('KV bytes/token', 'KV memory', 'decode ms/token', 'vs f32', 'bytes / read bandwidth (ms)', '% of that bound'),
    ],
    rows: rows.map((r) => {
      const f32 = f32Of(r.context);
      return [
        String(r.context),
        r.kvType,
        fmtInt(r.kvBytesPerToken),
        fmtBytes(r.kvBytesPerToken * r.context),
        fmt(r.medianMs, 2),
        f32 ? `${fmt(f32.medianMs / r.medianMs, 2)}x` : '-',
        fmt(r.boundMs, 2),
        fmtPercent(r.boundMs, r.medianMs),
      ];
    }),
    notes: [
      `Median of ${ROUNDS} x ${DECODE_TOKENS - 1} decode steps, the types taking turns each round. Bound: weights plus the KV cache at the mean context, read once at ${fmt(readGBps)} GB/s.`,
      `${EXAMPLE.name}: ${MEASURED_TYPES.map((t) => `${t} ${fmtBytes(exampleBytes(t))}`).join(', ')} of KV cache.`,
    ],
  };
}
