// Git's view of the folder: tracked files plus untracked ones that no ignore
// rule (.gitignore at any level, .git/info/exclude, core.excludesFile) hides.
import { execFile } from 'child_process';
import type { LeftOutFile } from '../protocol';
import { AbortError } from '../engine/errors';
import { isNodeAbort } from './cancellation';
import { WorkspaceError } from './workspace-errors';

/** Large repositories list hundreds of thousands of paths; execFile's default 1 MiB would cut them off. */
const GIT_MAX_OUTPUT_BYTES = 512 * 1024 * 1024;

function runGit(args: string[], cwd: string, signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      // Pager, prompts and colour off: git runs unattended here.
      { cwd, signal, maxBuffer: GIT_MAX_OUTPUT_BYTES, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat' } },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stderr }));
        else resolve(stdout);
      },
    );
  });
}

/**
 * True when `root` lies inside a git work tree that git agrees to read. False
 * when git is missing, the folder is no repository, or git refuses it (a
 * repository owned by another user): the caller then walks the folder instead.
 */
export async function isInsideGitWorkTree(root: string, signal?: AbortSignal): Promise<boolean> {
  try {
    return (await runGit(['rev-parse', '--is-inside-work-tree'], root, signal)).trim() === 'true';
  } catch (error) {
    if (isNodeAbort(error)) throw new AbortError('workspace packing was cancelled');
    return false;
  }
}

/**
 * True when the enclosing repository ignores the folder itself (a scratch or
 * build folder inside a repository): git lists nothing there, so it is walked.
 */
export async function isIgnoredByRepository(root: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await runGit(['check-ignore', '-q', '.'], root, signal);
    return true;
  } catch (error) {
    if (isNodeAbort(error)) throw new AbortError('workspace packing was cancelled');
    return false;
  }
}

export interface GitListing {
  /** Relative to `root`, forward slashes, as git prints them; may name files that no longer exist. */
  paths: string[];
  /** Untracked nested repositories, which git lists as one folder entry. */
  leftOut: LeftOutFile[];
}

export async function listGitFiles(root: string, signal?: AbortSignal): Promise<GitListing> {
  let stdout: string;
  try {
    // Paths come relative to cwd and limited to it, so a subfolder of a repository works too.
    // -z: no quoting of unusual names.
    stdout = await runGit(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root, signal);
  } catch (error) {
    if (isNodeAbort(error)) throw new AbortError('workspace packing was cancelled');
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new WorkspaceError(
      'GIT_FAILED',
      `git could not list the files of ${root}: ${stderr || (error as Error).message}. Fix the repository, or open the folder as a plain folder.`,
    );
  }
  const paths = new Set<string>();
  const leftOut: LeftOutFile[] = [];
  for (const entry of stdout.split('\0')) {
    if (entry === '') continue;
    if (entry.endsWith('/')) {
      leftOut.push({ path: entry.slice(0, -1), reason: 'excluded', detail: 'a separate git repository inside the folder: its files are not packed' });
    } else {
      // A conflicted file appears once per stage.
      paths.add(entry);
    }
  }
  return { paths: [...paths], leftOut };
}
