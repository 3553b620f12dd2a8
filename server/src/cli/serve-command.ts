// `snapkv-code serve <folder>`: index the folder, then answer OpenAI-style
// chat requests about it until interrupted.
import { DEFAULT_SERVE_OPTIONS, OpenAiServer } from '../http/openai-server';
import type { Session } from '../session/session';
import type { ServeArgs } from './args';
import { ProgressBar } from './progress-bar';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function runServe(session: Session, serve: ServeArgs, signal: AbortSignal): Promise<number> {
  const bar = new ProgressBar();
  const index = await session.indexFolder({ signal, onProgress: (p) => bar.update(p) });
  bar.clear();
  process.stderr.write(`${index.files} files, ${index.tokens.toLocaleString('en-US')} tokens (${index.source}); ${index.leftOut.length} left out\n`);
  if (index.answerMode?.note) process.stderr.write(`${index.answerMode.note}\n`);
  const server = new OpenAiServer(session, {
    apiKey: serve.apiKey,
    maxConcurrent: serve.maxConcurrent ?? DEFAULT_SERVE_OPTIONS.maxConcurrent,
    maxRequestBytes: serve.maxRequestBytes ?? DEFAULT_SERVE_OPTIONS.maxRequestBytes,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const address = await server.listen(serve.port, serve.host);
  if (!LOOPBACK.has(serve.host) && serve.apiKey === undefined) {
    process.stderr.write(`warning: listening on ${serve.host} without --api-key: anyone who reaches this port can read the repository through the model\n`);
  }
  const shown = address.host.includes(':') ? `[${address.host}]` : address.host;
  // Tests and scripts read the port from this line.
  process.stderr.write(`listening on http://${shown}:${address.port}/v1\n`);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  session.cancelAll();
  await server.close();
  return 0;
}
