// Where a file link from an answer or the context map points, kept inside the workspace folder
// by construction: the link is cut into names at every separator either platform knows ("/" and
// "\"), names that climb (".."), name a drive or a stream (":") or are empty are refused, and the
// joined path is checked once more against the folder. No vscode import, so tests can run it.
import * as path from 'path';

export type PathFlavour = 'posix' | 'win32';

export class LinkOutsideWorkspaceError extends Error {
  override name = 'LinkOutsideWorkspaceError';
}

function refuse(link: string, why: string): never {
  throw new LinkOutsideWorkspaceError(`Refusing to open ${JSON.stringify(link)}: ${why}.`);
}

/** The folder-relative names of `link`; a link that is absolute or climbs out is refused. */
export function linkSegments(link: string, flavour: PathFlavour): string[] {
  if (link.length === 0) refuse(link, 'it is empty');
  if (link.includes('\0')) refuse(link, 'it holds a NUL character');
  if (path.posix.isAbsolute(link) || path.win32.isAbsolute(link) || /^[a-zA-Z]:/.test(link)) refuse(link, 'it is not relative to the workspace folder');
  const segments = link.split(/[\\/]+/).filter((segment) => segment !== '' && segment !== '.');
  if (segments.length === 0) refuse(link, 'it names no file');
  for (const segment of segments) {
    if (segment === '..') refuse(link, 'it leads outside the workspace folder');
    // On Windows "a:b" is a stream of a, and names ending in dots or spaces are another file's.
    if (flavour === 'win32' && (segment.includes(':') || /[. ]$/.test(segment))) refuse(link, 'it is not a plain file name on Windows');
  }
  return segments;
}

/**
 * The absolute path of `link` inside `folder` (the folder's own path syntax: `flavour`), or
 * LinkOutsideWorkspaceError. An absolute link is accepted only when it lies inside the folder.
 */
export function resolveWorkspaceLink(folder: string, link: string, flavour: PathFlavour = process.platform === 'win32' ? 'win32' : 'posix'): string {
  const paths = flavour === 'win32' ? path.win32 : path.posix;
  const root = paths.resolve(folder);
  let relative = link;
  if (paths.isAbsolute(link)) {
    relative = paths.relative(root, paths.resolve(link));
    if (relative === '' || relative.startsWith('..') || paths.isAbsolute(relative)) refuse(link, 'it lies outside the workspace folder');
  }
  const resolved = paths.join(root, ...linkSegments(relative, flavour));
  const check = paths.relative(root, resolved);
  if (check === '' || check === '..' || check.startsWith(`..${paths.sep}`) || paths.isAbsolute(check)) refuse(link, 'it leads outside the workspace folder');
  return resolved;
}
