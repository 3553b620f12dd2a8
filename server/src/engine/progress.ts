// Progress of a long prefill, as callers show it: counts, rate and time left.

export interface PrefillProgress {
  tokensDone: number;
  tokensTotal: number;
  elapsedMs: number;
  tokensPerSecond: number;
  /** Estimated time to finish at the rate so far; undefined before the first report. */
  etaMs: number | undefined;
}

export type ProgressListener = (progress: PrefillProgress) => void;

/** Turns the engine's (done, total) reports into PrefillProgress, timed from creation. */
export function progressReporter(listener: ProgressListener | undefined): ((done: number, total: number) => void) | undefined {
  if (!listener) return undefined;
  const start = performance.now();
  return (done, total) => {
    const elapsedMs = performance.now() - start;
    const tokensPerSecond = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
    const etaMs = done > 0 && tokensPerSecond > 0 ? ((total - done) / tokensPerSecond) * 1000 : undefined;
    listener({ tokensDone: done, tokensTotal: total, elapsedMs, tokensPerSecond, etaMs });
  };
}
