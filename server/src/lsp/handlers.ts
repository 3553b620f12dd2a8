// Wires the custom requests of protocol.ts to the session.
import { CancellationToken, Connection, DidChangeWatchedFilesNotification } from 'vscode-languageserver/node';
import type { AnswerDelta, AskParams, CancelParams, ConfigureResult, ContextMapParams, IndexParams, ServerSettings } from '../protocol';
import { Methods } from '../protocol';
import { Session } from '../session/session';
import { Debouncer } from '../session/debouncer';
import { openIndexProgress } from './index-progress';
import { answering } from './request-errors';

export interface HandlerOptions {
  clientSupportsProgress: () => boolean;
  log: (line: string) => void;
}

/** An AbortSignal that follows an LSP cancellation token (and any extra ones). */
export function abortOn(...tokens: Array<CancellationToken | undefined>): AbortController {
  const controller = new AbortController();
  for (const token of tokens) {
    if (!token) continue;
    if (token.isCancellationRequested) controller.abort();
    token.onCancellationRequested(() => controller.abort());
  }
  return controller;
}

export function registerHandlers(connection: Connection, session: Session, options: HandlerOptions): { reindexSoon(): void; dispose(): void } {
  const { log } = options;

  const runIndex = async (params: IndexParams, token?: CancellationToken) => {
    const progress = await openIndexProgress(connection, options.clientSupportsProgress(), params.workDoneToken, 'Indexing workspace');
    const controller = abortOn(token, progress.cancelled);
    try {
      return await session.indexFolder({ folder: params.folder, force: params.force, signal: controller.signal, onProgress: (p) => progress.report(p) });
    } finally {
      progress.done();
    }
  };

  connection.onRequest(Methods.index, (params: IndexParams | undefined, token) => answering(() => runIndex(params ?? {}, token), log, 'indexing'));

  connection.onRequest(Methods.ask, (params: AskParams, token) =>
    answering(
      async () => {
        const controller = abortOn(token);
        let progress: Awaited<ReturnType<typeof openIndexProgress>> | undefined;
        try {
          return await session.ask(params, {
            signal: controller.signal,
            onDelta: (text) => void connection.sendNotification(Methods.answerDelta, { requestId: params.requestId, text } satisfies AnswerDelta),
            onIndexProgress: (p) => {
              if (!progress) {
                // Opened lazily: most questions find the index ready.
                void openIndexProgress(connection, options.clientSupportsProgress(), undefined, 'Indexing workspace before answering').then((handle) => {
                  progress = handle;
                  handle.report(p);
                });
                return;
              }
              progress.report(p);
            },
          });
        } finally {
          progress?.done();
        }
      },
      log,
      'question',
    ),
  );

  connection.onRequest(Methods.cancel, (params: CancelParams) => ({ cancelled: session.cancel(params.requestId) }));
  connection.onRequest(Methods.status, () => session.status());
  connection.onRequest(Methods.contextMap, (params: ContextMapParams | undefined) => session.contextMap(params?.requestId) ?? null);
  connection.onRequest(Methods.configure, (settings: ServerSettings) =>
    answering(
      async () => {
        const { reindex } = await session.configure(settings);
        if (reindex) reindexer.trigger();
        return { reindex } satisfies ConfigureResult;
      },
      log,
      'configuring',
    ),
  );

  // File changes arrive in bursts (a save, a branch switch): one update after they settle.
  const reindexer = new Debouncer(1000, () => {
    if (!session.hasIndex()) return;
    void (async () => {
      const progress = await openIndexProgress(connection, options.clientSupportsProgress(), undefined, 'Updating the index');
      const controller = abortOn(progress.cancelled);
      try {
        await session.reindex({ signal: controller.signal, onProgress: (p) => progress.report(p) });
      } finally {
        progress.done();
      }
    })().catch((error: unknown) => log(`update after file changes failed: ${error instanceof Error ? error.message : String(error)}`));
  });
  connection.onNotification(DidChangeWatchedFilesNotification.type, () => reindexer.trigger());

  return {
    reindexSoon: () => reindexer.trigger(),
    dispose: () => reindexer.cancel(),
  };
}
