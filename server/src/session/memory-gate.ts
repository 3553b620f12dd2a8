// Lets questions run together while their compact caches fit a byte limit;
// the rest wait in arrival order. A single question larger than the limit
// still runs, alone, rather than waiting forever.

interface Ticket {
  bytes: number;
  grant: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class MemoryGate {
  private inUse = 0;
  private running = 0;
  private readonly waiting: Ticket[] = [];

  constructor(private limit: number) {
    this.setLimit(limit);
  }

  setLimit(limit: number): void {
    // A NaN limit would make every comparison false: questions would run one at a time for ever.
    if (!Number.isFinite(limit) || limit <= 0) throw new RangeError(`the memory limit must be a positive number of bytes, not ${limit}`);
    this.limit = limit;
    this.pump();
  }

  get bytesInUse(): number {
    return this.inUse;
  }

  get runningCount(): number {
    return this.running;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Resolves to a release function when `bytes` may be spent. */
  enter(bytes: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    // One NaN would stay in the running total for good (NaN - NaN is NaN): refuse it at the gate.
    if (!Number.isFinite(bytes) || bytes < 0) return Promise.reject(new RangeError(`a question's memory estimate must be a number of bytes, not ${bytes}`));
    return new Promise((resolve, reject) => {
      const ticket: Ticket = { bytes, reject, signal, grant: () => resolve(this.releaser(bytes)) };
      if (signal) {
        ticket.onAbort = () => {
          const index = this.waiting.indexOf(ticket);
          if (index >= 0) {
            this.waiting.splice(index, 1);
            reject(signal.reason);
            this.pump();
          }
        };
        signal.addEventListener('abort', ticket.onAbort, { once: true });
      }
      this.waiting.push(ticket);
      this.pump();
    });
  }

  private releaser(bytes: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= bytes;
      this.running--;
      this.pump();
    };
  }

  private pump(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0];
      const fits = this.inUse + next.bytes <= this.limit || this.running === 0;
      if (!fits) return;
      this.waiting.shift();
      if (next.signal && next.onAbort) next.signal.removeEventListener('abort', next.onAbort);
      this.inUse += next.bytes;
      this.running++;
      next.grant();
    }
  }
}
