// Work-done progress for indexing: the client's token when it sent one, else
// progress the server creates (cancellable from the editor's notification).
import { CancellationToken, Connection, WorkDoneProgressReporter } from 'vscode-languageserver/node';
import { describeIndexProgress } from '../session/progress-text';
import type { IndexProgress } from '../session/workspace-index';

export interface ProgressHandle {
  report(progress: IndexProgress): void;
  /** Fires when the user cancels from the progress notification. */
  cancelled?: CancellationToken;
  done(): void;
}

export async function openIndexProgress(
  connection: Connection,
  clientSupportsProgress: boolean,
  token: string | number | undefined,
  title: string,
): Promise<ProgressHandle> {
  let reporter: WorkDoneProgressReporter | undefined;
  let cancelled: CancellationToken | undefined;
  if (token !== undefined) {
    reporter = connection.window.attachWorkDoneProgress(token);
  } else if (clientSupportsProgress) {
    const created = await connection.window.createWorkDoneProgress();
    reporter = created;
    cancelled = created.token;
  }
  reporter?.begin(title, 0, 'starting', true);
  let lastSent = 0;
  let lastPhase: IndexProgress['phase'] | undefined;
  return {
    cancelled,
    report(progress) {
      const now = Date.now();
      // Progress arrives per chunk; a few messages a second are enough for a person. The first of
      // a phase always goes: a short prefill right after listing would otherwise never be shown.
      if (now - lastSent < 200 && progress.phase === 'prefilling' && lastPhase === 'prefilling') return;
      lastSent = now;
      lastPhase = progress.phase;
      const { message, percentage } = describeIndexProgress(progress);
      reporter?.report(percentage ?? 0, message);
    },
    done() {
      reporter?.done();
    },
  };
}
