// Timing helpers: wall-clock milliseconds, medians, repeated runs.

export function nowMs(): number {
  return performance.now();
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The value below which `p` (0..1) of the values lie (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank];
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('mean of no values');
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Milliseconds `work` took. */
export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const start = nowMs();
  await work();
  return nowMs() - start;
}

export interface RepeatedTiming {
  /** Every measured run, in order (the warm-ups excluded). */
  readonly runsMs: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
}

/** Runs `work` `warmups` times unmeasured, then `repeats` times measured. */
export async function repeatTimed(work: () => Promise<unknown>, repeats: number, warmups = 1): Promise<RepeatedTiming> {
  for (let i = 0; i < warmups; i++) await work();
  const runsMs: number[] = [];
  for (let i = 0; i < repeats; i++) runsMs.push(await timeMs(work));
  return { runsMs, medianMs: median(runsMs), minMs: Math.min(...runsMs) };
}

/** Milliseconds between consecutive items of an async stream, and when the first came. */
export async function streamTimings<T>(stream: AsyncIterable<T>): Promise<{ items: T[]; firstMs: number; gapsMs: number[]; totalMs: number }> {
  const items: T[] = [];
  const gapsMs: number[] = [];
  const start = nowMs();
  let last = start;
  let firstMs = 0;
  for await (const item of stream) {
    const now = nowMs();
    if (items.length === 0) firstMs = now - start;
    else gapsMs.push(now - last);
    last = now;
    items.push(item);
  }
  return { items, firstMs, gapsMs, totalMs: last - start };
}
