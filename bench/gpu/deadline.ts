// A time budget for a benchmark run: on a device machine a command has a hard
// limit, and a row that would overrun it is better skipped (and said so) than
// cut off with everything after it.

export class Deadline {
  private readonly endsAt: number;

  /** `budgetSeconds` undefined: no limit. */
  constructor(readonly budgetSeconds: number | undefined) {
    this.endsAt = budgetSeconds === undefined ? Infinity : performance.now() + budgetSeconds * 1000;
  }

  remainingMs(): number {
    return this.endsAt - performance.now();
  }

  /** True when work expected to take `estimateMs` still fits. */
  allows(estimateMs = 0): boolean {
    return this.remainingMs() > estimateMs;
  }
}

export const SKIPPED_FOR_TIME = 'skipped: the time budget ran out';

/** A row skipped because its predicted time is more than what is left. */
export function skippedForTime(estimateMs: number): string {
  return `skipped: about ${Math.round(estimateMs / 1000)} s predicted, more than the time left`;
}
