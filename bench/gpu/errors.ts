// How a failed benchmark row is written down: 'OOM' for the engine's
// out-of-memory errors (what the table must show), else the error's code and
// first line.
import { EngineError } from '../../server/src/engine';
import { OOM } from './results';

export function isOutOfMemory(error: unknown): boolean {
  return error instanceof EngineError && error.code === 'OUT_OF_MEMORY';
}

export function describeError(error: unknown): string {
  if (isOutOfMemory(error)) return OOM;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof EngineError ? `${error.code}: ` : '';
  return `${code}${message.split('\n')[0]}`.slice(0, 300);
}
