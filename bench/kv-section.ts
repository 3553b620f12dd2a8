// Decode at long context with the KV cache stored as f32, f16 and q8_0: the
// bytes each type holds per token, and the decode step next to the time it
// takes to read the weights and the KV cache once at the measured bandwidth.
import { promptTokens } from '../test/fixtures/tiny-models';
import { Engine, KvType, PrefixCache } from '../server/src/engine';
import { WeightType, shapeOf } from './bench-model';
import { DecodeTiming, timeDecode } from './engine-bench';
import { decodeWeightBytes } from './flops';
import { timeMs } from './measure';
import { boundMs } from './model-section';
import { BenchContext, BenchSection, SectionResult } from './section';
import { Table, fmt, fmtBytes, fmtInt, fmtPercent } from './tables';

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
  decode: DecodeTiming;
}

export function kvSection(): BenchSection {
  return {
    key: 'kvTypes',
    async run(context: BenchContext): Promise<SectionResult> {
      const file = context.modelFile(WEIGHT_TYPE);
      const longest = KV_CONTEXTS[KV_CONTEXTS.length - 1];
      const prompt = Int32Array.from(promptTokens(longest, 29));
      const readGBps = context.bandwidth.readGBps;
      const rows: KvRow[] = [];
      for (const kvType of MEASURED_TYPES) {
        const model = await Engine.load(file.path, { backend: 'cpu', threads: context.threads, kvType });
        try {
          const shape = shapeOf({ ...model.info, tied: model.info.tiedEmbeddings });
          const weightBytes = decodeWeightBytes(shape, WEIGHT_TYPE);
          const kvBytesPerToken = model.info.kvBytesPerToken;
          let prefix: PrefixCache | undefined;
          const prefillMs = await timeMs(async () => {
            prefix = await model.prefill(prompt.subarray(0, longest - 1), { logits: 'none', capacity: longest + DECODE_TOKENS + 8 });
          });
          context.log(`kv ${kvType}: prefilled ${longest - 1} tokens in ${fmt(prefillMs / 1000)} s`);
          try {
            for (const length of [...KV_CONTEXTS].reverse()) {
              prefix!.truncate(length - 1);
              await prefix!.extend(prompt.subarray(length - 1, length), { logits: 'last' });
              const decode = await timeDecode(prefix!.generate({ maxTokens: DECODE_TOKENS, temperature: 0 }));
              const bytesPerToken = weightBytes + kvBytesPerToken * (length + DECODE_TOKENS / 2);
              const bound = boundMs(bytesPerToken, readGBps);
              context.log(`kv ${kvType}, ${length} tokens: ${fmt(decode.medianMsPerToken, 2)} ms/token (bound ${fmt(bound, 2)} ms)`);
              rows.push({ kvType, context: length, kvBytesPerToken, bytesPerToken, boundMs: bound, decode });
            }
          } finally {
            prefix!.dispose();
          }
        } finally {
          model.dispose();
        }
      }
      rows.sort((a, b) => a.context - b.context || MEASURED_TYPES.indexOf(a.kvType) - MEASURED_TYPES.indexOf(b.kvType));
      return {
        tables: [kvTable(rows, readGBps)],
        json: { weightType: WEIGHT_TYPE, decodeTokens: DECODE_TOKENS, readGBps, rows },
      };
    },
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
      { header: 'context' },
      { header: 'KV type' },
      { header: 'KV bytes/token', align: 'right' },
      { header: 'KV memory', align: 'right' },
      { header: 'decode ms/token', align: 'right' },
      { header: 'vs f32', align: 'right' },
      { header: 'bytes / read bandwidth (ms)', align: 'right' },
      { header: '% of that bound', align: 'right' },
    ],
    rows: rows.map((r) => {
      const f32 = f32Of(r.context);
      return [
        String(r.context),
        r.kvType,
        fmtInt(r.kvBytesPerToken),
        fmtBytes(r.kvBytesPerToken * r.context),
        fmt(r.decode.medianMsPerToken, 2),
        f32 ? `${fmt(f32.decode.medianMsPerToken / r.decode.medianMsPerToken, 2)}x` : '-',
        fmt(r.boundMs, 2),
        fmtPercent(r.boundMs, r.decode.medianMsPerToken),
      ];
    }),
    notes: [
      `Median of ${DECODE_TOKENS - 1} decode steps after the first token. Bound: weights plus the KV cache at the mean context, read once at ${fmt(readGBps)} GB/s.`,
      `${EXAMPLE.name}: ${MEASURED_TYPES.map((t) => `${t} ${fmtBytes(exampleBytes(t))}`).join(', ')} of KV cache.`,
    ],
  };
}
