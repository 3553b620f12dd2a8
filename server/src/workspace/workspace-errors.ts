// Failures of the workspace folder itself, with messages that say what to do.
// Problems with single files never throw: they become LeftOutFile entries.
import * as fs from 'fs';

export type WorkspaceErrorCode = 'FOLDER_MISSING' | 'NOT_A_FOLDER' | 'FOLDER_UNREADABLE' | 'GIT_FAILED' | 'INVALID_SETTING';

export class WorkspaceError extends Error {
  override name = 'WorkspaceError';
  constructor(
    readonly code: WorkspaceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Throws a WorkspaceError unless `root` is a folder this process can list. */
export async function assertReadableFolder(root: string): Promise<void> {
  let stats: fs.Stats;
  try {
    stats = await fs.promises.stat(root);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new WorkspaceError('FOLDER_MISSING', `The workspace folder ${root} does not exist. Open an existing folder, or correct the path.`);
    }
    throw unreadableFolder(root, error);
  }
  if (!stats.isDirectory()) {
    throw new WorkspaceError('NOT_A_FOLDER', `${root} is a file, not a folder. Open the folder that contains it instead.`);
  }
  try {
    // R_OK to list it, X_OK to open what is inside.
    await fs.promises.access(root, fs.constants.R_OK | fs.constants.X_OK);
  } catch (error) {
    throw unreadableFolder(root, error);
  }
}

export function unreadableFolder(root: string, error: unknown): WorkspaceError {
  const why = errorCode(error) === 'EACCES' || errorCode(error) === 'EPERM' ? 'permission denied' : String((error as Error).message ?? error);
  return new WorkspaceError(
    'FOLDER_UNREADABLE',
    `Cannot read the workspace folder ${root} (${why}). Give the user that runs VS Code read access to it, or open another folder.`,
  );
}

export { errorCode };
