// Errors of the engine as callers see them: a code to branch on and a message
// that says what to do.

import { ENGINE_ERROR_CODES, EngineErrorCode } from '../protocol';

// The codes are listed once, in the protocol, where clients branch on them too.
export type { EngineErrorCode };

export class EngineError extends Error {
  override name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown when an AbortSignal stopped the work. */
export class AbortError extends Error {
  override name = 'AbortError';
  readonly code = 'ABORT_ERR';
  constructor(message = 'the operation was cancelled') {
    super(message);
  }
}

function hasCode(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

/** Converts what the addon threw into an EngineError or AbortError. */
export function translateNativeError(error: unknown): Error {
  if (!hasCode(error)) return error instanceof Error ? error : new Error(String(error));
  if (error.code === 'CANCELLED') return new AbortError();
  const known = (ENGINE_ERROR_CODES as readonly string[]).includes(error.code);
  return new EngineError(known ? (error.code as EngineErrorCode) : 'INTERNAL', known ? error.message : `${error.code}: ${error.message}`);
}

/** Starts a native call and awaits it, translating what it throws or rejects with. */
export async function nativeCall<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    throw translateNativeError(error);
  }
}

/** Runs a synchronous native call, translating what it throws. */
export function nativeSync<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw translateNativeError(error);
  }
}
