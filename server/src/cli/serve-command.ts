// `snapkv-code serve <folder>`: index the folder, then answer OpenAI-style
// chat requests about it until interrupted, updating the index as its files change.
import { DEFAULT_SERVE_OPTIONS, OpenAiServer } from '../http/openai-server';
import { IndexRefresher } from '../session/index-refresher';
import type { Session } from '../session/session';
import { FolderWatcher } from '../workspace/folder-watcher';
import type { ServeArgs } from './args';
import { ProgressBar } from './progress-bar';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** Quiet time after the last file change before the index is updated, as in the editor. */
const CHANGE_QUIET_MS = 1000;

export async function runServe(session: Session, serve: ServeArgs, signal: AbortSignal): Promise<number> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const bar = new ProgressBar();
  const index = await session.indexFolder({ signal, onProgress: (p) => bar.update(p) });
  bar.clear();
  log(`${index.files} files, ${index.tokens.toLocaleString('en-US')} tokens (${index.source}); ${index.leftOut.length} left out`);
  if (index.answerMode?.note) log(index.answerMode.note);

  const refresher = new IndexRefresher(session, {
    delayMs: CHANGE_QUIET_MS,
    log,
    begin: () => {
      log(`files changed in ${index.folder}: re-indexing (questions already compressed finish on the old index; new ones wait for the new one)`);
      return { signal, done: () => undefined };
    },
    onUpdated: (result) => {
      log(`re-indexed: ${result.files} files, ${result.tokens.toLocaleString('en-US')} tokens (${result.source}, ${result.prefilledTokens} prefilled, ${result.seconds.toFixed(1)} s)`);
      watcher.watch(session.indexedFiles());
    },
  });
  const watcher = new FolderWatcher(index.folder, () => refresher.trigger(), log);
  watcher.watch(session.indexedFiles());
  log(`watching ${watcher.folders} folders of ${index.folder} for changes`);

  const server = new OpenAiServer(session, {
    apiKey: serve.apiKey,
    maxConcurrent: serve.maxConcurrent ?? DEFAULT_SERVE_OPTIONS.maxConcurrent,
    maxRequestBytes: serve.maxRequestBytes ?? DEFAULT_SERVE_OPTIONS.maxRequestBytes,
    log,
    indexStale: () => refresher.stale,
  });
  const address = await server.listen(serve.port, serve.host);
  if (!LOOPBACK.has(serve.host) && serve.apiKey === undefined) {
    log(`warning: listening on ${serve.host} without --api-key: anyone who reaches this port can read the repository through the model`);
  }
  const shown = address.host.includes(':') ? `[${address.host}]` : address.host;
  // Tests and scripts read the port from this line.
  log(`listening on http://${shown}:${address.port}/v1`);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  watcher.close();
  refresher.dispose();
  session.cancelAll();
  await server.close();
  return 0;
}
