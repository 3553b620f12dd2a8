// A model load in flight as the editor names it: the file, its size, and how long it has taken. The engine
// reports no finer progress, so the time is what tells the user that it is still going.
import * as path from 'path';
import type { ModelLoadStatus } from '../../server/src/protocol';
import { formatBytes } from './format';

/** "Loading model qwen.gguf (940 MiB)…" */
export function modelLoadTitle(load: ModelLoadStatus): string {
  const size = load.bytes !== undefined ? ` (${formatBytes(load.bytes)})` : '';
  return `Loading model ${path.basename(load.path)}${size}…`;
}

/** "for 1 min 5 s", from the server's start time; a clock behind the server's reads as just started. */
export function modelLoadElapsed(load: ModelLoadStatus, now: number): string {
  const seconds = Math.max(0, Math.round((now - load.startedAt) / 1000));
  if (seconds < 60) return `for ${seconds} s`;
  return `for ${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
