// Dependency lock files: long, machine-written, and they say little that the
// manifest next to them does not.
import { baseName } from './path-names';

const LOCK_FILE_NAMES = new Set([
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lock',
  'bun.lockb',
  'deno.lock',
  'cargo.lock',
  'poetry.lock',
  'pipfile.lock',
  'pdm.lock',
  'uv.lock',
  'composer.lock',
  'gemfile.lock',
  'go.sum',
  'go.work.sum',
  'mix.lock',
  'pubspec.lock',
  'podfile.lock',
  'package.resolved',
  'packages.lock.json',
  'paket.lock',
  'flake.lock',
  'gradle.lockfile',
  'conan.lock',
  '.terraform.lock.hcl',
]);

export function lockFileByName(relPath: string): string | undefined {
  return LOCK_FILE_NAMES.has(baseName(relPath).toLowerCase()) ? 'dependency lock file' : undefined;
}
