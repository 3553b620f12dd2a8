// The longest prompt one-shot mode handles: prompts doubling from a start
// length, each compressed layer by layer (Model.compressOneShot), until the
// first out-of-memory error. Each step is up to four times the work of the
// last (attention is quadratic), so the search also stops when the next step
// would not fit the time budget, and says so. A prompt can also be tried
// alone (--oneshot-start 1M): with nothing to predict from, it is attempted.
import { Model } from '../../server/src/engine';
import { BenchModelShape } from '../bench-model';
import { prefillFlops } from '../flops';
import { nowMs } from '../measure';
import { Deadline } from './deadline';
import { describeError, isOutOfMemory } from './errors';
import { OneShotAttempt, OneShotSearch } from './results';
import { randomTokens } from './tokens';

export interface OneShotPlan {
  shape: BenchModelShape;
  start: number;
  /** The search stops after this length even without running out of memory. */
  cap: number;
  budget: number;
  window: number;
  chunkTokens?: number;
  seed: number;
  deadline: Deadline;
  log: (line: string) => void;
  /** Called before and after each attempt: a run killed mid-attempt still shows how far it got. */
  save?: () => void;
}

/**
 * The time the next step should take, from the last one, in proportion to the
 * FLOPs of the forward pass (the matrices grow with the prompt, attention with
 * its square).
 */
export function predictNextMs(shape: BenchModelShape, lastTokens: number, lastMs: number, nextTokens: number): number {
  return (lastMs * prefillFlops(shape, nextTokens)) / prefillFlops(shape, lastTokens);
}

/** Fills `search` (already part of the saved report) attempt by attempt. */
export async function searchOneShot(model: Model, search: OneShotSearch, plan: OneShotPlan): Promise<OneShotSearch> {
  let last: { tokens: number; ms: number } | undefined;
  const planned = model.planOneShot(plan.cap, { window: plan.window, budget: plan.budget, reserveTokens: 8 });
  if (planned) {
    search.plannedLongest = planned.longestPrompt;
    plan.log(`one-shot: the memory plan admits prompts up to ${planned.longestPrompt} tokens (${(planned.bytesAvailable / 2 ** 30).toFixed(1)} GiB free beside the weights)`);
  }
  for (let tokens = plan.start; tokens <= plan.cap; tokens *= 2) {
    const predicted = last ? predictNextMs(plan.shape, last.tokens, last.ms, tokens) : 0;
    if (!plan.deadline.allows(predicted)) {
      search.stoppedBy = 'time';
      search.nextPredictedMs = predicted;
      plan.log(`one-shot: stopping before ${tokens} tokens: about ${(predicted / 1000).toFixed(0)} s predicted, ${(plan.deadline.remainingMs() / 1000).toFixed(0)} s left`);
      break;
    }
    const prompt = randomTokens(tokens, model.info.vocab, plan.seed + tokens);
    const attempt: OneShotAttempt = { tokens, outcome: 'unfinished' };
    search.attempts.push(attempt);
    const stoppedBy = search.stoppedBy;
    search.stoppedBy = 'cut-off';
    plan.save?.();
    const started = nowMs();
    try {
      const compact = await model.compressOneShot(prompt, { window: plan.window, budget: plan.budget, reserveTokens: 8, chunkTokens: plan.chunkTokens });
      attempt.ms = nowMs() - started;
      try {
        attempt.cacheBytes = compact.stats().usedBytes;
      } finally {
        compact.dispose();
      }
      attempt.outcome = 'ok';
      search.stoppedBy = stoppedBy;
      search.longestOk = tokens;
      last = { tokens, ms: attempt.ms };
      plan.log(`one-shot ${tokens} tokens: ${(attempt.ms / 1000).toFixed(1)} s`);
      plan.save?.();
    } catch (error) {
      const oom = isOutOfMemory(error);
      attempt.ms = nowMs() - started;
      attempt.outcome = oom ? 'out-of-memory' : 'error';
      attempt.error = describeError(error);
      search.stoppedBy = oom ? 'out-of-memory' : 'error';
      plan.log(`one-shot ${tokens} tokens: ${attempt.error}`);
      break;
    }
  }
  return search;
}
