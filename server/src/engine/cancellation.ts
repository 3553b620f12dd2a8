// Bridges an AbortSignal to the native cancel flag that worker threads poll.
import { AbortError } from './errors';
import { nativeAddon, NativeCancelFlag } from './native-addon';

export interface LinkedCancellation {
  readonly flag: NativeCancelFlag;
  /** Stops listening to the signal. */
  release(): void;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError();
}

export function linkCancellation(signal: AbortSignal | undefined): LinkedCancellation {
  throwIfAborted(signal);
  const flag = new (nativeAddon().CancelFlag)();
  if (!signal) return { flag, release: () => undefined };
  const onAbort = (): void => flag.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return { flag, release: () => signal.removeEventListener('abort', onAbort) };
}
