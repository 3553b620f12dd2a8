// The longest prompt one-shot mode handles: prompts doubling from a start
// length, each compressed layer by layer (Model.compressOneShot), until the
// first out-of-memory error. Each step is about four times the work of the
// last (attention is quadratic), so the search also stops when the next step
// would not fit the time budget, and says so.
import { Model } from '../../server/src/engine';
import { nowMs } from '../measure';
import { Deadline } from './deadline';
import { describeError, isOutOfMemory } from './errors';
import { OneShotSearch } from './results';
import { ShapeName } from './shapes';
import { randomTokens } from './tokens';

export interface OneShotPlan {
  start: number;
  /** The search stops after this length even without running out of memory. */
  cap: number;
  budget: number;
  window: number;
  chunkTokens?: number;
  seed: number;
  deadline: Deadline;
  log: (line: string) => void;
}

/** The time the next step should take, from the last one: quadratic in the prompt once attention dominates. */
export function predictNextMs(lastTokens: number, lastMs: number, nextTokens: number): number {
  const ratio = nextTokens / lastTokens;
  return lastMs * ratio * ratio;
}

export async function searchOneShot(model: Model, shape: ShapeName, plan: OneShotPlan): Promise<OneShotSearch> {
  const search: OneShotSearch = { shape, budget: plan.budget, attempts: [], longestOk: 0, stoppedBy: 'cap' };
  let last: { tokens: number; ms: number } | undefined;
  for (let tokens = plan.start; tokens <= plan.cap; tokens *= 2) {
    const predicted = last ? predictNextMs(last.tokens, last.ms, tokens) : 0;
    if (!plan.deadline.allows(predicted)) {
      search.stoppedBy = 'time';
      plan.log(`one-shot: stopping before ${tokens} tokens: about ${(predicted / 1000).toFixed(0)} s predicted, ${(plan.deadline.remainingMs() / 1000).toFixed(0)} s left`);
      break;
    }
    const prompt = randomTokens(tokens, model.info.vocab, plan.seed + tokens);
    const started = nowMs();
    try {
      const compact = await model.compressOneShot(prompt, { window: plan.window, budget: plan.budget, reserveTokens: 8, chunkTokens: plan.chunkTokens });
      const ms = nowMs() - started;
      try {
        search.attempts.push({ tokens, outcome: 'ok', ms, cacheBytes: compact.stats().usedBytes });
      } finally {
        compact.dispose();
      }
      search.longestOk = tokens;
      last = { tokens, ms };
      plan.log(`one-shot ${tokens} tokens: ${(ms / 1000).toFixed(1)} s`);
    } catch (error) {
      const oom = isOutOfMemory(error);
      search.attempts.push({ tokens, outcome: oom ? 'out-of-memory' : 'error', ms: nowMs() - started, error: describeError(error) });
      search.stoppedBy = oom ? 'out-of-memory' : 'error';
      plan.log(`one-shot ${tokens} tokens: ${describeError(error)}`);
      break;
    }
  }
  return search;
}
