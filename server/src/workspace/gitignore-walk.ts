// The listing for folders outside any git work tree: a walk that honours the
// .gitignore files it meets, each for its own subtree, as git would.
import * as fs from 'fs';
import * as path from 'path';
import ignore, { Ignore } from 'ignore';
import type { LeftOutFile } from '../protocol';
import { throwIfAborted } from './cancellation';
import { errorCode, unreadableFolder } from './workspace-errors';

/** .gitignore rules of one folder; `base` is that folder relative to the root ('' for the root). */
interface IgnoreScope {
  base: string;
  rules: Ignore;
}

export interface WalkListing {
  /** Every non-ignored entry that is not a folder (files, symbolic links, special files), relative, forward slashes. */
  paths: string[];
  /** Subfolders that could not be read. */
  leftOut: LeftOutFile[];
}

// git matches case-insensitively where the file system usually is.
const IGNORE_CASE = process.platform === 'darwin' || process.platform === 'win32';

/**
 * Deeper .gitignore files override shallower ones, and within one file the
 * last matching rule wins, so the last scope with an opinion decides.
 */
function isIgnored(scopes: readonly IgnoreScope[], relPath: string, isFolder: boolean): boolean {
  let ignored = false;
  for (const scope of scopes) {
    const inScope = scope.base === '' ? relPath : relPath.slice(scope.base.length + 1);
    const result = scope.rules.test(isFolder ? `${inScope}/` : inScope);
    if (result.ignored) ignored = true;
    else if (result.unignored) ignored = false;
  }
  return ignored;
}

async function readIgnoreScope(folderAbs: string, base: string): Promise<IgnoreScope | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(path.join(folderAbs, '.gitignore'), 'utf8');
  } catch {
    // No .gitignore here; an unreadable one is reported when the file itself is packed.
    return undefined;
  }
  return { base, rules: ignore({ ignorecase: IGNORE_CASE }).add(text) };
}

const join = (base: string, name: string): string => (base === '' ? name : `${base}/${name}`);

export async function walkFolder(root: string, signal?: AbortSignal): Promise<WalkListing> {
  const paths: string[] = [];
  const leftOut: LeftOutFile[] = [];

  const visit = async (relFolder: string, inherited: readonly IgnoreScope[]): Promise<void> => {
    throwIfAborted(signal);
    const folderAbs = relFolder === '' ? root : path.join(root, ...relFolder.split('/'));
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(folderAbs, { withFileTypes: true });
    } catch (error) {
      if (relFolder === '') throw unreadableFolder(root, error);
      leftOut.push({ path: relFolder, reason: 'unreadable', detail: `folder could not be read (${errorCode(error) ?? String(error)})` });
      return;
    }
    const own = entries.some((e) => e.name === '.gitignore') ? await readIgnoreScope(folderAbs, relFolder) : undefined;
    const scopes = own ? [...inherited, own] : inherited;
    // Sorted so the listing (and the left-out list) never depends on directory order.
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const rel = join(relFolder, entry.name);
      // Symbolic links are never followed (a linked folder counts as an entry), so loops cannot occur.
      const isFolder = entry.isDirectory();
      if (isIgnored(scopes, rel, isFolder)) continue;
      if (isFolder) await visit(rel, scopes);
      else paths.push(rel);
    }
  };

  await visit('', []);
  return { paths, leftOut };
}
