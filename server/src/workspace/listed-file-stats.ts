// Turns listed paths into regular files with their size and mtime, and says
// why every other entry (link, folder, special file) is not packed.
import * as fs from 'fs';
import * as path from 'path';
import type { LeftOutFile } from '../protocol';
import { throwIfAborted } from './cancellation';
import { errorCode } from './workspace-errors';

export interface ListedFile {
  /** Relative to the folder, forward slashes. */
  path: string;
  absolutePath: string;
  mtimeMs: number;
  size: number;
}

/** lstat calls in flight at once: enough to hide disk latency, few enough not to exhaust file handles. */
const STAT_CONCURRENCY = 32;

type Inspected = { file: ListedFile } | { leftOut: LeftOutFile } | { gone: true };

/**
 * Links are never packed: a link inside the folder would pack its target twice,
 * one leaving it would pack what the user did not open, and not following them
 * rules out loops. Each is still listed, with where it points.
 */
async function describeLink(relPath: string, absolutePath: string, realRoot: string): Promise<LeftOutFile> {
  let target: string;
  try {
    target = await fs.promises.realpath(absolutePath);
  } catch (error) {
    const detail = errorCode(error) === 'ELOOP' ? 'symbolic link loop' : 'broken symbolic link';
    return { path: relPath, reason: 'unreadable', detail };
  }
  const inside = path.relative(realRoot, target);
  if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
    return { path: relPath, reason: 'excluded', detail: 'symbolic link to a location outside the folder: links are not followed' };
  }
  const shown = inside === '' ? '.' : inside.split(path.sep).join('/');
  return { path: relPath, reason: 'excluded', detail: `symbolic link to ${shown}: links are not followed` };
}

async function inspect(root: string, realRoot: string, relPath: string): Promise<Inspected> {
  const absolutePath = path.join(root, ...relPath.split('/'));
  let stats: fs.Stats;
  try {
    stats = await fs.promises.lstat(absolutePath);
  } catch (error) {
    // Deleted but still tracked by git: nothing on disk to pack.
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return { gone: true };
    return { leftOut: { path: relPath, reason: 'unreadable', detail: errorCode(error) ?? String(error) } };
  }
  if (stats.isSymbolicLink()) return { leftOut: await describeLink(relPath, absolutePath, realRoot) };
  if (stats.isDirectory()) {
    // Only git lists folders: a submodule is one entry.
    return { leftOut: { path: relPath, reason: 'excluded', detail: 'git submodule: its files are not packed' } };
  }
  if (!stats.isFile()) {
    // Reading a FIFO would block forever.
    return { leftOut: { path: relPath, reason: 'unreadable', detail: 'not a regular file (a FIFO, socket or device)' } };
  }
  return { file: { path: relPath, absolutePath, mtimeMs: stats.mtimeMs, size: stats.size } };
}

export interface InspectedListing {
  files: ListedFile[];
  leftOut: LeftOutFile[];
}

export async function inspectListedPaths(root: string, realRoot: string, relPaths: readonly string[], signal?: AbortSignal): Promise<InspectedListing> {
  const files: ListedFile[] = [];
  const leftOut: LeftOutFile[] = [];
  for (let i = 0; i < relPaths.length; i += STAT_CONCURRENCY) {
    throwIfAborted(signal);
    const chunk = relPaths.slice(i, i + STAT_CONCURRENCY);
    for (const result of await Promise.all(chunk.map((p) => inspect(root, realRoot, p)))) {
      if ('file' in result) files.push(result.file);
      else if ('leftOut' in result) leftOut.push(result.leftOut);
    }
  }
  return { files, leftOut };
}
