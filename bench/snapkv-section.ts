// Decode from the full cache against SnapKV compact caches at long prompts:
// one 32K prefill, truncated down to each length, so every row shares it.
import { promptTokens } from '../test/fixtures/tiny-models';
import { Engine, PrefixCache } from '../server/src/engine';
import { WeightType } from './bench-model';
import { DecodeTiming, timeDecode } from './engine-bench';
import { nowMs, timeMs } from './measure';
import { BenchContext, BenchSection, SectionResult } from './section';
import { Table, fmt, fmtBytes, left, right } from './tables';

export const SNAPKV_LENGTHS = [4096, 16384, 32768] as const;
export const SNAPKV_BUDGETS = [512, 2048] as const;
const WINDOW = 32;
/** Tokens generated per measurement; the first is excluded from the per-token figure. */
const DECODE_TOKENS = 33;
const WEIGHT_TYPE: WeightType = 'Q8_0';

export interface SnapKvRow {
  promptTokens: number;
  /** 'full', or the SnapKV budget. */
  cache: 'full' | number;
  cacheBytes: number;
  /** Time to compress (prefill of the last WINDOW tokens as the question, plus selection); 0 for the full cache. */
  compressMs: number;
  decode: DecodeTiming;
}

function row(promptTokens: number, cache: SnapKvRow['cache'], cacheBytes: number, compressMs: number, decode: DecodeTiming): SnapKvRow {
  return { promptTokens, cache, cacheBytes, compressMs, decode };
}

async function measureLength(prefix: PrefixCache, prompt: Int32Array, length: number, log: (line: string) => void): Promise<SnapKvRow[]> {
  const rows: SnapKvRow[] = [];
  const question = prompt.subarray(length - WINDOW, length);
  prefix.truncate(length - WINDOW);
  for (const budget of SNAPKV_BUDGETS) {
    let compressMs = 0;
    const started = nowMs();
    const compact = await prefix.query(question, { window: WINDOW, budget, kernel: 7, pooling: 'max', reserveTokens: DECODE_TOKENS + 1 });
    compressMs = nowMs() - started;
    try {
      const bytes = compact.stats().usedBytes;
      const decode = await timeDecode(compact.generate({ maxTokens: DECODE_TOKENS, temperature: 0 }));
      log(`  ${length} tokens, budget ${budget}: ${fmt(decode.medianMsPerToken, 2)} ms/token, ${fmtBytes(bytes)}`);
      rows.push(row(length, budget, bytes, compressMs, decode));
    } finally {
      compact.dispose();
    }
  }
  await prefix.extend(question, { logits: 'last' });
  const fullBytes = prefix.stats().usedBytes;
  const decode = await timeDecode(prefix.generate({ maxTokens: DECODE_TOKENS, temperature: 0 }));
  log(`  ${length} tokens, full cache: ${fmt(decode.medianMsPerToken, 2)} ms/token, ${fmtBytes(fullBytes)}`);
  rows.unshift(row(length, 'full', fullBytes, 0, decode));
  return rows;
}

function snapkvTable(rows: readonly SnapKvRow[]): Table {
  const fullOf = (length: number): SnapKvRow | undefined => rows.find((r) => r.promptTokens === length && r.cache === 'full');
  return {
    title: `SnapKV: decode from the full cache and from compact caches (${WEIGHT_TYPE} bench model)`,
    columns: [
      ...right('prompt tokens'),
      ...left('cache'),
      ...right('KV memory', 'compress ms', 'decode ms/token', 'speed-up', 'memory ratio'),
    ],
    rows: rows.map((r) => {
      const full = fullOf(r.promptTokens);
      const speedup = full ? full.decode.medianMsPerToken / r.decode.medianMsPerToken : NaN;
      const memory = full ? full.cacheBytes / r.cacheBytes : NaN;
      return [
        String(r.promptTokens),
        r.cache === 'full' ? 'full' : `SnapKV ${r.cache}`,
        fmtBytes(r.cacheBytes),
        r.cache === 'full' ? '-' : fmt(r.compressMs, 0),
        fmt(r.decode.medianMsPerToken, 2),
        r.cache === 'full' ? '1.00x' : `${fmt(speedup, 2)}x`,
        r.cache === 'full' ? '1x' : `${fmt(memory, 1)}x smaller`,
      ];
    }),
    notes: [
      `Median of ${DECODE_TOKENS - 1} decode steps after the first token; window ${WINDOW}, kernel 7, max pooling.`,
      'KV memory: keys and values held (f32); a compact cache holds budget + generated entries per layer and KV head.',
      'Compress: the last 32 prompt tokens prefilled as the question against the prefix, then selection and gather.',
    ],
  };
}

export function snapkvSection(): BenchSection {
  return {
    key: 'snapkv',
    async run(context: BenchContext): Promise<SectionResult> {
      const file = context.modelFile(WEIGHT_TYPE);
      const model = await Engine.load(file.path, { backend: 'cpu', threads: context.threads });
      try {
        const longest = SNAPKV_LENGTHS[SNAPKV_LENGTHS.length - 1];
        const prompt = Int32Array.from(promptTokens(longest, 23));
        context.log(`snapkv: prefilling ${longest} tokens once (${WEIGHT_TYPE})`);
        let prefix: PrefixCache | undefined;
        const prefillMs = await timeMs(async () => {
          prefix = await model.prefill(prompt.subarray(0, longest - WINDOW), { logits: 'none', capacity: longest + DECODE_TOKENS + 8 });
        });
        context.log(`snapkv: prefill took ${fmt(prefillMs / 1000)} s (${fmt(((longest - WINDOW) / prefillMs) * 1000, 0)} tokens/s)`);
        const rows: SnapKvRow[] = [];
        try {
          for (const length of [...SNAPKV_LENGTHS].reverse()) rows.push(...(await measureLength(prefix!, prompt, length, context.log)));
        } finally {
          prefix!.dispose();
        }
        rows.sort((a, b) => a.promptTokens - b.promptTokens);
        return {
          tables: [snapkvTable(rows)],
          json: { weightType: WEIGHT_TYPE, window: WINDOW, decodeTokens: DECODE_TOKENS, longPrefill: { tokens: longest - WINDOW, ms: prefillMs }, rows },
        };
      } finally {
        model.dispose();
      }
    },
  };
}
