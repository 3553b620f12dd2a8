// The model's load when the server starts, shown as work-done progress once it has taken long
// enough to notice: a large file takes seconds, a small one would only flash a notification.
import { AbortError } from '../engine';
import type { IndexProgress } from '../session/workspace-index';
import type { ProgressHandle } from './index-progress';

export const LOAD_PROGRESS_AFTER_MS = 500;

export interface LoadWithProgress {
  /** Starts the load; reports 'loading-model' while the file is read. */
  prepare(signal: AbortSignal, onProgress: (progress: IndexProgress) => void): Promise<void>;
  /** Opens the progress in the editor (cancellable when the server created it). */
  openProgress(): Promise<ProgressHandle>;
  log(line: string): void;
  showAfterMs?: number;
}

/** Never rejects: a load that fails or is cancelled is logged, and the first question tries again. */
export async function prepareWithProgress(load: LoadWithProgress): Promise<void> {
  const controller = new AbortController();
  let progress: Promise<ProgressHandle | undefined> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const show = (report: IndexProgress): void => {
    progress = load.openProgress().then(
      (handle) => {
        handle.cancelled?.onCancellationRequested(() => controller.abort(new AbortError()));
        handle.report(report);
        return handle;
      },
      (error: unknown) => {
        load.log(`no progress shown for loading the model: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      },
    );
  };
  try {
    await load.prepare(controller.signal, (report) => {
      timer ??= setTimeout(() => show(report), load.showAfterMs ?? LOAD_PROGRESS_AFTER_MS);
    });
  } catch (error) {
    load.log(`not ready to answer: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
    if (progress) (await progress)?.done();
  }
}
