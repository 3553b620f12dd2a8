// Our engine through its TypeScript API, as the server drives it: prefill,
// decode from the full cache and from SnapKV compact caches, and the time from
// a question to its first token against a long prefix.
import { Model, PrefixCache } from '../../server/src/engine';
import { BenchModelShape } from '../bench-model';
import { timeDecode } from '../engine-bench';
import { prefillFlops } from '../flops';
import { median, nowMs, repeatTimed } from '../measure';
import { cacheName } from './cache-name';
import { Deadline, SKIPPED_FOR_TIME, skippedForTime } from './deadline';
import { describeError } from './errors';
import { GpuBenchOptions } from './options';
import { CacheKind, DecodeRow, PrefillRow, TtftRow } from './results';
import { randomTokens } from './tokens';

/** The measurement settings of the command line (options.ts says what each is), for one shape. */
export type EnginePlan = Pick<
  GpuBenchOptions,
  'prefillLengths' | 'decodeLengths' | 'budgets' | 'ttftPrefix' | 'question' | 'window' | 'decodeTokens' | 'repeats' | 'chunkTokens'
> & {
  shape: BenchModelShape;
  seed: number;
  deadline: Deadline;
  log: (line: string) => void;
  /** Called after every row, so that a run cut off keeps the rows it finished. */
  onRow?: () => void;
};

/**
 * Prefill rows, appended to `rows`: a warm-up, then `repeats` timed prefills
 * of each length (logits of the last token only). A length whose runs would
 * not fit the time left, at the rate of the previous length, is skipped.
 */
export async function measurePrefill(model: Model, plan: EnginePlan, rows: PrefillRow[]): Promise<void> {
  let msPerFlop: number | undefined;
  for (const tokens of plan.prefillLengths) {
    const flops = prefillFlops(plan.shape, tokens);
    const estimateMs = msPerFlop === undefined ? 0 : msPerFlop * flops * (plan.repeats + 1);
    if (!plan.deadline.allows(estimateMs)) {
      rows.push({ tokens, error: estimateMs > 0 ? skippedForTime(estimateMs) : SKIPPED_FOR_TIME });
      plan.onRow?.();
      continue;
    }
    const prompt = randomTokens(tokens, model.info.vocab, plan.seed + tokens);
    try {
      const timing = await repeatTimed(async () => {
        const prefix = await model.prefill(prompt, { logits: 'last', capacity: tokens + 1, chunkTokens: plan.chunkTokens });
        prefix.dispose();
      }, plan.repeats);
      const row = { tokens, medianMs: timing.medianMs, runsMs: [...timing.runsMs], tokensPerSecond: tokens / (timing.medianMs / 1000) };
      msPerFlop = timing.medianMs / flops;
      plan.log(`prefill ${tokens}: ${row.tokensPerSecond.toFixed(0)} tokens/s`);
      rows.push(row);
    } catch (error) {
      rows.push({ tokens, error: describeError(error) });
      plan.log(`prefill ${tokens}: ${describeError(error)}`);
    }
    plan.onRow?.();
  }
}

/** One long prefix shared by the TTFT and decode rows (prefilling it once per row would dominate the run). */
export interface LongPrefix {
  prefix: PrefixCache;
  prompt: Int32Array;
  question: Int32Array;
  prefillMs: number;
  kvBytesPerPosition: number;
  placement: string;
}

/** `length`: the longest prefix the TTFT and decode rows to run will cut it to. */
export async function prefillLongPrefix(model: Model, plan: EnginePlan, length: number): Promise<LongPrefix> {
  const prompt = randomTokens(length, model.info.vocab, plan.seed);
  const question = randomTokens(plan.question, model.info.vocab, plan.seed + 1);
  const started = nowMs();
  const prefix = await model.prefill(prompt, {
    logits: 'none',
    capacity: length + plan.question + plan.decodeTokens + 16,
    chunkTokens: plan.chunkTokens,
  });
  const prefillMs = nowMs() - started;
  const stats = prefix.stats();
  plan.log(`prefix of ${length} tokens prefilled in ${(prefillMs / 1000).toFixed(1)} s`);
  return { prefix, prompt, question, prefillMs, kvBytesPerPosition: stats.usedBytes / stats.tokens, placement: stats.placement };
}

async function firstTokenMs(start: number, tokens: AsyncGenerator<number, void, undefined>): Promise<number> {
  const first = await tokens.next();
  const ms = nowMs() - start;
  await tokens.return(undefined);
  if (first.done) throw new Error('generation produced no token');
  return ms;
}

/**
 * Time from a question to its first token against the prefix cut to
 * `plan.ttftPrefix`: with the full cache (question prefilled onto the prefix)
 * and with SnapKV (question prefilled against the prefix, selection, gather).
 */
export async function measureTtft(long: LongPrefix, plan: EnginePlan, budgets: readonly number[], rows: TtftRow[]): Promise<void> {
  const { prefix, question } = long;
  const kinds: CacheKind[] = ['full', ...budgets];
  for (const cache of kinds) {
    const row: TtftRow = { prefix: plan.ttftPrefix, question: plan.question, cache };
    rows.push(row);
    if (!plan.deadline.allows()) {
      row.error = SKIPPED_FOR_TIME;
      continue;
    }
    try {
      prefix.truncate(plan.ttftPrefix);
      const ask = async (): Promise<number> => {
        const start = nowMs();
        if (cache === 'full') {
          await prefix.extend(question, { logits: 'last', chunkTokens: plan.chunkTokens });
          const ms = await firstTokenMs(start, prefix.generate({ maxTokens: 1 }));
          prefix.truncate(plan.ttftPrefix);
          return ms;
        }
        const compact = await prefix.query(question, { window: plan.window, budget: cache, reserveTokens: 8, chunkTokens: plan.chunkTokens });
        try {
          return await firstTokenMs(start, compact.generate({ maxTokens: 1 }));
        } finally {
          compact.dispose();
        }
      };
      await ask();
      const runsMs: number[] = [];
      for (let i = 0; i < plan.repeats; i++) runsMs.push(await ask());
      row.runsMs = runsMs;
      row.medianMs = median(runsMs);
      plan.log(`time to first token, ${cacheName(cache)}: ${row.medianMs.toFixed(1)} ms`);
    } catch (error) {
      row.error = describeError(error);
      plan.log(`time to first token, ${cacheName(cache)}: ${row.error}`);
    }
    plan.onRow?.();
  }
}

/**
 * Decode rows at each context length (longest first, cutting the shared
 * prefix back): compact caches of each budget, then the full cache. Context =
 * prefix + question, so every row decodes after the same kind of prompt.
 */
export async function measureDecode(long: LongPrefix, plan: EnginePlan, rows: DecodeRow[]): Promise<void> {
  const { prefix, question } = long;
  for (const context of [...plan.decodeLengths].sort((a, b) => b - a)) {
    const kinds: CacheKind[] = [...plan.budgets, 'full'];
    for (const cache of kinds) {
      const row: DecodeRow = { context, cache };
      rows.push(row);
      if (!plan.deadline.allows()) {
        row.error = SKIPPED_FOR_TIME;
        continue;
      }
      try {
        prefix.truncate(context - plan.question);
        if (cache === 'full') {
          await prefix.extend(question, { logits: 'last', chunkTokens: plan.chunkTokens });
          row.cacheBytes = prefix.stats().usedBytes;
          Object.assign(row, decodeFigures(await timeDecode(prefix.generate({ maxTokens: plan.decodeTokens }))));
        } else {
          const started = nowMs();
          const compact = await prefix.query(question, {
            window: plan.window,
            budget: cache,
            reserveTokens: plan.decodeTokens + 1,
            chunkTokens: plan.chunkTokens,
          });
          row.compressMs = nowMs() - started;
          try {
            row.cacheBytes = compact.stats().usedBytes;
            Object.assign(row, decodeFigures(await timeDecode(compact.generate({ maxTokens: plan.decodeTokens }))));
          } finally {
            compact.dispose();
          }
        }
        plan.log(`decode at ${context}, ${cacheName(cache)}: ${row.medianMsPerToken?.toFixed(2)} ms/token`);
      } catch (error) {
        row.error = describeError(error);
        plan.log(`decode at ${context}, ${cacheName(cache)}: ${row.error}`);
      }
      plan.onRow?.();
    }
  }
  rows.sort((a, b) => a.context - b.context || order(a.cache) - order(b.cache));
}

function order(cache: CacheKind): number {
  return cache === 'full' ? -1 : cache;
}

function decodeFigures(timing: Awaited<ReturnType<typeof timeDecode>>): Pick<DecodeRow, 'medianMsPerToken' | 'p90MsPerToken' | 'steps'> {
  return { medianMsPerToken: timing.medianMsPerToken, p90MsPerToken: timing.p90MsPerToken, steps: timing.generated - 1 };
}
