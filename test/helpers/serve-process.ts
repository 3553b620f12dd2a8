// `snapkv-code serve` as a child process on a free port of 127.0.0.1, for the
// tests that talk to it over real sockets.
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';

export const SNAPKV_BIN = path.join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'snapkv-code');

export interface ServeProcess {
  /** The API root, http://127.0.0.1:PORT/v1. */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  stderr(): string;
  /** Resolves once stderr matches `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const child: ChildProcess = spawn(SNAPKV_BIN, ['serve', ...args, '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const wake of waiters) wake();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitForLog = (pattern: RegExp, timeoutMs = 60_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pattern.test(stderr)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`serve did not log ${pattern} within ${timeoutMs} ms; stderr:\n${stderr}`));
      }, timeoutMs);
      const gone = (): void => {
        cleanup();
        reject(new Error(`serve exited before logging ${pattern}; stderr:\n${stderr}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', gone);
      };
      waiters.add(check);
      child.once('exit', gone);
      check();
    });
  await waitForLog(/listening on http:\/\/127\.0\.0\.1:\d+\/v1/);
  const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(stderr)?.[1]);
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/v1`,
    origin,
    stderr: () => stderr,
    waitForLog,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The `data:` payloads of a server-sent-events body, read to its end. Written apart from the server's own reader. */
export async function readSse(response: Response): Promise<string[]> {
  return sseData(await response.text());
}

/** The `data:` payloads of a whole server-sent-events text; comments (keep-alives) are skipped, as clients skip them. */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((event) => event.trim() !== '' && !event.split('\n').every((line) => line.startsWith(':')))
    .map((event) => {
      const line = event.split('\n').find((l) => l.startsWith('data: '));
      if (!line) throw new Error(`an event without data: ${JSON.stringify(event)}`);
      return line.slice(6);
    });
}
