// Questions read the prefix cache together; an index update rewrites it and
// must wait for them, and new questions wait behind a waiting update so that
// a stream of questions cannot starve it.

interface Waiter {
  exclusive: boolean;
  grant: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class ReadWriteLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Waiter[] = [];

  get activeReaders(): number {
    return this.readers;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Resolves to a release function once no update holds or awaits the lock. */
  read(signal?: AbortSignal): Promise<() => void> {
    return this.acquire(false, signal);
  }

  write(signal?: AbortSignal): Promise<() => void> {
    return this.acquire(true, signal);
  }

  private acquire(exclusive: boolean, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        exclusive,
        grant: () => resolve(this.releaser(exclusive)),
        reject,
        signal,
      };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) {
            this.queue.splice(index, 1);
            reject(signal.reason);
            this.pump();
          }
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.pump();
    });
  }

  private releaser(exclusive: boolean): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (exclusive) this.writer = false;
      else this.readers--;
      this.pump();
    };
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.writer) {
      const next = this.queue[0];
      if (next.exclusive && this.readers > 0) return;
      this.queue.shift();
      if (next.signal && next.onAbort) next.signal.removeEventListener('abort', next.onAbort);
      if (next.exclusive) this.writer = true;
      else this.readers++;
      next.grant();
      if (next.exclusive) return;
    }
  }
}
