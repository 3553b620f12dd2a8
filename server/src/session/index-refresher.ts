// File changes -> one update of the indexed folder once they settle (a save,
// a branch switch and a formatter come in bursts). The one owner of that rule
// for both places that hear of changes: the language server (from the
// editor's file watcher) and `serve` (from its own, workspace/folder-watcher.ts).
// The update itself is Session.reindex: questions already compressed finish
// on the old prefix, new ones wait for the new one.
import type { IndexResult } from '../protocol';
import { Debouncer } from './debouncer';
import type { Session } from './session';
import type { IndexProgress } from './workspace-index';

/** How one update is shown: its progress, its cancellation, its end. */
export interface RefreshRun {
  signal?: AbortSignal;
  onProgress?: (progress: IndexProgress) => void;
  done(): void;
}

export interface IndexRefresherOptions {
  /** Quiet time after the last change before the update starts. */
  delayMs: number;
  log: (line: string) => void;
  /** Called as an update starts. */
  begin?: () => RefreshRun | Promise<RefreshRun>;
  onUpdated?: (result: IndexResult) => void;
}

export class IndexRefresher {
  private readonly debouncer: Debouncer;
  private running = 0;

  constructor(
    private readonly session: Session,
    private readonly options: IndexRefresherOptions,
  ) {
    this.debouncer = new Debouncer(options.delayMs, () => {
      if (!session.hasIndex()) return;
      this.running++;
      this.refresh()
        .catch((error: unknown) => options.log(`update after file changes failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => this.running--);
    });
  }

  /** A file changed (or the settings did): update once things are quiet. */
  trigger(): void {
    this.debouncer.trigger();
  }

  /** True from a change until the update it caused has finished. */
  get stale(): boolean {
    return this.debouncer.pending || this.running > 0;
  }

  private async refresh(): Promise<void> {
    const run = await this.options.begin?.();
    try {
      const result = await this.session.reindex({ signal: run?.signal, onProgress: run?.onProgress });
      if (result) this.options.onUpdated?.(result);
    } finally {
      run?.done();
    }
  }

  /** No update starts after this (one already running finishes). */
  dispose(): void {
    this.debouncer.cancel();
  }
}
