// Watches the folders that hold a repository's listed files, for `serve`,
// which has no editor to report changes (the language server gets them from
// VS Code). One non-recursive watch per folder holding a listed file, and each
// folder above it: .git, node_modules and other unlisted trees cost no watch,
// a new folder shows up as a change in its parent, and the next listing's
// paths (watch() again after each update) bring it in.
import * as fs from 'fs';
import * as path from 'path';

/** More watches than this are not opened (Linux allows 8192 per user on older systems). */
export const MAX_WATCHED_FOLDERS = 4096;

export class FolderWatcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private warned = false;

  constructor(
    readonly root: string,
    /** Called with the changed entry, relative to the root, forward slashes. */
    private readonly onChange: (relativePath: string) => void,
    private readonly log: (line: string) => void,
  ) {}

  /** Watches the folders of these files (relative, forward slashes) and the root; stops watching the others. */
  watch(relativeFiles: Iterable<string>): void {
    const wanted = new Set<string>(['.']);
    for (const file of relativeFiles) {
      for (let folder = path.posix.dirname(file); !wanted.has(folder); folder = path.posix.dirname(folder)) wanted.add(folder);
    }
    for (const [folder, watcher] of this.watchers) {
      if (!wanted.has(folder)) {
        watcher.close();
        this.watchers.delete(folder);
      }
    }
    for (const folder of wanted) {
      if (this.watchers.has(folder)) continue;
      if (this.watchers.size >= MAX_WATCHED_FOLDERS) {
        if (!this.warned) this.log(`watching ${MAX_WATCHED_FOLDERS} folders, the most this server opens: changes in the others are not seen until a restart`);
        this.warned = true;
        break;
      }
      this.open(folder);
    }
  }

  get folders(): number {
    return this.watchers.size;
  }

  private open(folder: string): void {
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(path.join(this.root, folder), { persistent: false });
    } catch (error) {
      // Gone since it was listed (the next update's listing says so), or out of watches.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.log(`cannot watch ${folder}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    watcher.on('change', (_event, name) => {
      const entry = typeof name === 'string' ? name : name?.toString('utf8');
      // git's own files change on every git command, ours included: the working files say what changed.
      if (folder === '.' && entry === '.git') return;
      this.onChange(entry ? path.posix.join(folder, entry) : folder);
    });
    watcher.on('error', () => {
      // The folder was deleted: its parent saw that, and the update drops it.
      watcher.close();
      if (this.watchers.get(folder) === watcher) this.watchers.delete(folder);
    });
    this.watchers.set(folder, watcher);
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
