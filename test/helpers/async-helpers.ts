// Small assertions for the engine's asynchronous API: draining a token stream,
// expecting a rejection of a given type, message and code, waiting for a condition.
import * as assert from 'assert';

/** Every token an async iterable yields, in order. */
export async function collect(tokens: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const t of tokens) out.push(t);
  return out;
}

/** Awaits `promise`, which must reject with `type` (and a message matching `pattern`); returns the error. */
export async function rejectsWith<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
  pattern?: RegExp,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    if (pattern) assert.match((error as Error).message, pattern);
    return error as T;
  }
  assert.fail(`expected a ${type.name}`);
}

/** Runs `call`, which must throw `type` (and a message matching `pattern`); returns the error. */
export function throwsWith<T extends Error>(call: () => unknown, type: new (...args: never[]) => T, pattern?: RegExp): T {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    if (pattern) assert.match((error as Error).message, pattern);
    return error as T;
  }
  assert.fail(`expected a ${type.name}`);
}

/** An error's `code`, for errors that carry one. */
export function codeOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

/** Resolves once `condition` holds, polling every `pollMs`; throws naming `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 120_000, pollMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
