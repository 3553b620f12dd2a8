// Builds the small folders and git repositories the workspace tests pack:
// files with chosen contents and modification times, git commands with a
// fixed identity and no user configuration.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.invalid',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.invalid',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function gitInit(root: string): void {
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'config', 'commit.gpgsign', 'false');
}

export function gitCommitAll(root: string, message = 'fixture'): void {
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', message);
}

export type FixtureFiles = Record<string, string | Uint8Array>;

/** Writes each file (forward-slash paths, folders created as needed). */
export function writeFiles(root: string, files: FixtureFiles): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, ...rel.split('/'));
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }
}

/** Base of the modification times the tests set: whole seconds, far from "now". */
export const MTIME_BASE_S = 1_600_000_000;

/** Sets a file's modification time to MTIME_BASE_S + `offsetS` seconds (links themselves are left alone). */
export function setMtime(root: string, rel: string, offsetS: number): void {
  const t = MTIME_BASE_S + offsetS;
  fs.utimesSync(path.join(root, ...rel.split('/')), t, t);
}

/** Sets the files' modification times in the order given, one second apart, oldest first. */
export function setMtimesInOrder(root: string, rels: readonly string[]): void {
  rels.forEach((rel, i) => setMtime(root, rel, i));
}

let fixtureCount = 0;

/** A fresh empty folder under `base`. */
export function freshFolder(base: string, name: string): string {
  const dir = path.join(base, `${name}-${fixtureCount++}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** True when this process ignores file permissions (root), so chmod cannot make a folder unreadable. */
export function permissionsAreIgnored(base: string): boolean {
  const probe = path.join(base, `permission-probe-${fixtureCount++}`);
  fs.mkdirSync(probe);
  fs.chmodSync(probe, 0o000);
  try {
    fs.readdirSync(probe);
    return true;
  } catch {
    return false;
  } finally {
    fs.chmodSync(probe, 0o700);
    fs.rmSync(probe, { recursive: true, force: true });
  }
}
