// The include and exclude settings: globs relative to the folder.
import picomatch from 'picomatch';
import { WorkspaceError } from './workspace-errors';

interface CompiledGlob {
  pattern: string;
  matches: (path: string) => boolean;
}

/**
 * A list of globs, read the way users write them in ignore files and VS Code
 * settings: a pattern without a slash matches a name at any depth ("*.log",
 * "vendor"), a leading "/" or "./" anchors it to the folder ("/vendor"), and a
 * pattern that matches a folder matches everything in it ("docs", "docs/",
 * "src/gen/**").
 */
export class GlobList {
  private readonly globs: CompiledGlob[];

  constructor(patterns: readonly string[] | undefined, setting: string) {
    this.globs = [];
    for (const raw of patterns ?? []) {
      if (typeof raw !== 'string') throw new WorkspaceError('INVALID_SETTING', `${setting} must be a list of glob strings; got ${JSON.stringify(raw)}.`);
      const trimmed = raw.trim();
      // As in .gitignore: a leading "/" (or "./") anchors the glob to the folder root; a trailing "/" does not.
      const anchored = /^\.?\//.test(trimmed);
      const pattern = trimmed.replace(/^\.?\/+/, '').replace(/\/+$/, '');
      if (pattern === '') continue;
      let matches: (path: string) => boolean;
      try {
        matches = picomatch(pattern, { dot: true, basename: !anchored && !pattern.includes('/') });
      } catch (error) {
        throw new WorkspaceError('INVALID_SETTING', `The glob "${raw}" in ${setting} is not valid (${(error as Error).message}). Correct or remove it.`);
      }
      this.globs.push({ pattern: raw, matches });
    }
  }

  get isEmpty(): boolean {
    return this.globs.length === 0;
  }

  /** The first pattern that matches `relPath` or one of its folders, as the user wrote it. */
  match(relPath: string): string | undefined {
    if (this.globs.length === 0) return undefined;
    const candidates = [relPath];
    for (let slash = relPath.lastIndexOf('/'); slash > 0; slash = relPath.lastIndexOf('/', slash - 1)) {
      candidates.push(relPath.slice(0, slash));
    }
    for (const glob of this.globs) {
      if (candidates.some((candidate) => glob.matches(candidate))) return glob.pattern;
    }
    return undefined;
  }
}
