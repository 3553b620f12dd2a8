// Which files the folder has: git's view inside a work tree, else a walk that
// honours .gitignore; then what each listed path is on disk.
import * as fs from 'fs';
import * as path from 'path';
import type { LeftOutFile } from '../protocol';
import { throwIfAborted } from './cancellation';
import { isIgnoredByRepository, isInsideGitWorkTree, listGitFiles } from './git-listing';
import { walkFolder } from './gitignore-walk';
import { inspectListedPaths, ListedFile } from './listed-file-stats';
import type { ListingMode } from './pack-types';
import { assertReadableFolder, unreadableFolder, WorkspaceError } from './workspace-errors';

export interface WorkspaceListing {
  /** Absolute, resolved from what the caller passed. */
  root: string;
  source: 'git' | 'walk';
  /** Regular files, sorted by path. */
  files: ListedFile[];
  /** Listed entries that are not regular files (links, submodules, special files, unreadable folders). */
  leftOut: LeftOutFile[];
}

const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export async function listWorkspaceFiles(folder: string, mode: ListingMode = 'auto', signal?: AbortSignal): Promise<WorkspaceListing> {
  throwIfAborted(signal);
  const root = path.resolve(folder);
  await assertReadableFolder(root);
  let realRoot: string;
  try {
    realRoot = await fs.promises.realpath(root);
  } catch (error) {
    throw unreadableFolder(root, error);
  }

  let source: 'git' | 'walk' = mode === 'walk' ? 'walk' : 'git';
  if (mode === 'auto' && (await isInsideGitWorkTree(root, signal)) && (await isIgnoredByRepository(root, signal))) {
    source = 'walk';
  } else if (mode !== 'walk' && !(await isInsideGitWorkTree(root, signal))) {
    if (mode === 'git') {
      throw new WorkspaceError('GIT_FAILED', `${root} is not inside a git work tree (or git is not installed). Use the 'walk' listing for plain folders.`);
    }
    source = 'walk';
  }
  const listed = source === 'git' ? await listGitFiles(root, signal) : await walkFolder(root, signal);
  const inspected = await inspectListedPaths(root, realRoot, listed.paths, signal);
  return {
    root,
    source,
    files: inspected.files.sort(byPath),
    leftOut: [...listed.leftOut, ...inspected.leftOut].sort(byPath),
  };
}
