// Cancellation and cooperative yielding for the long loops of packing, which
// run on the language server's only JavaScript thread.
import { AbortError } from '../engine/errors';

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('workspace packing was cancelled');
}

/** Lets pending LSP messages (a cancel among them) run before the next file. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Node's own AbortError (from execFile or fs with a signal) as the project's AbortError. */
export function isNodeAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}
