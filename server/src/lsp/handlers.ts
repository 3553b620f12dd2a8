// Wires the custom requests of protocol.ts to the session.
import { CancellationToken, Connection, DidChangeWatchedFilesNotification } from 'vscode-languageserver/node';
import type { AnswerDelta, ConfigureResult, IndexParams } from '../protocol';
import { Methods } from '../protocol';
import { Session } from '../session/session';
import { IndexRefresher } from '../session/index-refresher';
import { listLocalModels } from '../session/model-facts';
import { openIndexProgress, ProgressHandle } from './index-progress';
import { answering, toResponseError } from './request-errors';
import { checkRequest } from '../requests/request-schemas';

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

/** A quick handler whose bad params are answered as an error, never thrown into the connection. */
function answeringNow<T>(work: () => T): T | ReturnType<typeof toResponseError> {
  try {
    return work();
  } catch (error) {
    return toResponseError(error);
  }
}

const SILENT_PROGRESS: ProgressHandle = { report: () => undefined, done: () => undefined };

export function registerHandlers(connection: Connection, session: Session, options: HandlerOptions): { dispose(): void } {
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

  // Every request's params go through its schema first: what reaches the session is typed and bounded.
  connection.onRequest(Methods.index, (raw: unknown, token) => answering(() => runIndex(checkRequest.index(raw), token), log, 'indexing'));

  connection.onRequest(Methods.ask, (raw: unknown, token) =>
    answering(
      async () => {
        const params = checkRequest.ask(raw);
        const controller = abortOn(token);
        // Opened on the first report (most questions find the index ready), and once: reports that arrive while it
        // opens wait for it, in order, and it closes after the last of them.
        let progress: Promise<ProgressHandle> | undefined;
        try {
          return await session.ask(params, {
            signal: controller.signal,
            onDelta: (text) => void connection.sendNotification(Methods.answerDelta, { requestId: params.requestId, text } satisfies AnswerDelta),
            onIndexProgress: (p) => {
              const title = p.phase === 'one-shot' ? 'Answering one-shot' : 'Indexing workspace before answering';
              progress ??= openIndexProgress(connection, options.clientSupportsProgress(), undefined, title).catch((error: unknown) => {
                log(`no progress shown for indexing before answering: ${error instanceof Error ? error.message : String(error)}`);
                return SILENT_PROGRESS;
              });
              void progress.then((handle) => handle.report(p));
            },
          });
        } finally {
          if (progress) (await progress).done();
        }
      },
      log,
      'question',
    ),
  );

  connection.onRequest(Methods.cancel, (raw: unknown) => answeringNow(() => ({ cancelled: session.cancel(checkRequest.cancel(raw).requestId) })));
  connection.onRequest(Methods.status, () => session.status());
  connection.onRequest(Methods.contextMap, (raw: unknown) => answeringNow(() => session.contextMap(checkRequest.contextMap(raw).requestId) ?? null));
  connection.onRequest(Methods.models, (raw: unknown) =>
    answering(
      async () => {
        checkRequest.models(raw);
        return listLocalModels(session.resolvedSettings.rope);
      },
      log,
      'listing models',
    ),
  );
  connection.onRequest(Methods.configure, (raw: unknown) =>
    answering(
      async () => {
        const { reindex } = await session.configure(checkRequest.configure(raw));
        if (reindex) reindexer.trigger();
        return { reindex } satisfies ConfigureResult;
      },
      log,
      'configuring',
    ),
  );

  // The editor watches the files and tells us (workspace/didChangeWatchedFiles); the refresher waits for quiet.
  const reindexer = new IndexRefresher(session, {
    delayMs: 1000,
    log,
    begin: async () => {
      const progress = await openIndexProgress(connection, options.clientSupportsProgress(), undefined, 'Updating the index');
      return { signal: abortOn(progress.cancelled).signal, onProgress: (p) => progress.report(p), done: () => progress.done() };
    },
  });
  connection.onNotification(DidChangeWatchedFilesNotification.type, () => reindexer.trigger());

  // A debounced update must not start on a session that shutdown disposed.
  return { dispose: () => reindexer.dispose() };
}
