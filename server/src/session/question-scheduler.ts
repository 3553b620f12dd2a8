// The one queue in front of the engine: questions, index updates, saves and
// closes of the prefix cache wait here in arrival order, as nano-vllm's
// scheduler admits sequences. The head of the queue is admitted when
//  - it reads the prefix (a question, a save) and no update or close holds
//    it, or it writes the prefix (an update, a close) and nothing holds it;
//  - and, for a question, its compact cache fits the memory limit beside the
//    running questions' (a question over the limit still runs, alone).
// Nothing overtakes the head: a stream of questions cannot starve an update,
// and a small question does not pass a large one waiting for memory.
// A waiting item leaves the queue when its signal aborts; a running item's
// work sees the same signal, and its turn ends when the work settles.

export type WorkKind = 'question' | 'save' | 'update' | 'close';

export interface WorkItem {
  kind: WorkKind;
  /** A question's compact cache at most, in bytes: held for the whole turn. */
  bytes?: number;
  signal?: AbortSignal;
  /** Called when the item cannot run at once. */
  onQueued?: () => void;
}

/** An admitted item's hold on the prefix and on memory. */
export interface Turn {
  /** The prefix is no longer read (the question's compact cache exists): updates may run; memory stays held. */
  doneReading(): void;
}

interface Waiting {
  item: WorkItem;
  bytes: number;
  admit: (turn: Turn) => void;
  onAbort?: () => void;
}

const writes = (kind: WorkKind): boolean => kind === 'update' || kind === 'close';

export class QuestionScheduler {
  private readers = 0;
  private writer = false;
  private questions = 0;
  private inUse = 0;
  private readonly queue: Waiting[] = [];

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

  get questionsRunning(): number {
    return this.questions;
  }

  get waitingCount(): number {
    return this.queue.length;
  }

  /** Waits for the item's turn, runs `work` in it, and ends the turn when the work settles. */
  async run<T>(item: WorkItem, work: (turn: Turn) => Promise<T>): Promise<T> {
    const bytes = item.bytes ?? 0;
    // One NaN would stay in the running total for good (NaN - NaN is NaN): refuse it here.
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`a question's memory estimate must be a number of bytes, not ${bytes}`);
    item.signal?.throwIfAborted();
    const waiting: Waiting = { item, bytes, admit: () => {} };
    if (this.queue.length > 0 || !this.admits(waiting)) item.onQueued?.();
    const turn = await new Promise<Turn>((resolve, reject) => {
      waiting.admit = resolve;
      if (item.signal) {
        const signal = item.signal;
        waiting.onAbort = () => {
          const at = this.queue.indexOf(waiting);
          if (at < 0) return;
          this.queue.splice(at, 1);
          reject(signal.reason);
          this.pump();
        };
        signal.addEventListener('abort', waiting.onAbort, { once: true });
      }
      this.queue.push(waiting);
      this.pump();
    });
    try {
      return await work(turn);
    } finally {
      turn.doneReading();
      this.leave(item.kind, bytes);
    }
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (!this.admits(next)) return;
      this.queue.shift();
      if (next.onAbort) next.item.signal?.removeEventListener('abort', next.onAbort);
      next.admit(this.enter(next.item.kind, next.bytes));
    }
  }

  private admits({ item, bytes }: Waiting): boolean {
    if (this.writer) return false;
    if (writes(item.kind)) return this.readers === 0;
    if (item.kind !== 'question') return true;
    return this.questions === 0 || this.inUse + bytes <= this.limit;
  }

  private enter(kind: WorkKind, bytes: number): Turn {
    if (writes(kind)) {
      this.writer = true;
      return { doneReading: () => {} };
    }
    this.readers++;
    if (kind === 'question') {
      this.questions++;
      this.inUse += bytes;
    }
    let reading = true;
    return {
      doneReading: () => {
        if (!reading) return;
        reading = false;
        this.readers--;
        this.pump();
      },
    };
  }

  /** What `enter` took, given back once the turn's reading is over. */
  private leave(kind: WorkKind, bytes: number): void {
    if (writes(kind)) this.writer = false;
    else if (kind === 'question') {
      this.questions--;
      this.inUse -= bytes;
    }
    this.pump();
  }
}
