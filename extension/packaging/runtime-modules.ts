// Which installed packages the built server and extension load at run time: the packages their compiled
// JavaScript requires, and everything those depend on, as folders under node_modules (nested ones included).
import { builtinModules } from 'module';
import * as fs from 'fs';
import * as path from 'path';

interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const REQUIRE_CALL = /\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g;
const NOT_PACKAGED = new Set(['vscode', ...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/** Package names required by the .js files under `dirs` (bare specifiers only). */
export function requiredPackages(dirs: string[]): Set<string> {
  const names = new Set<string>();
  for (const dir of dirs) {
    for (const file of listJsFiles(dir)) {
      const source = fs.readFileSync(file, 'utf8');
      for (const match of source.matchAll(REQUIRE_CALL)) {
        const specifier = match[1];
        if (NOT_PACKAGED.has(specifier) || specifier.startsWith('node:')) continue;
        const parts = specifier.split('/');
        names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
      }
    }
  }
  return names;
}

/**
 * The folders (relative to `root`, forward slashes) of `roots` and all their dependencies, resolved the way
 * Node resolves them: the nearest node_modules upward from the package that depends on them.
 */
export function dependencyClosure(root: string, roots: Iterable<string>): string[] {
  const found = new Set<string>();
  const visit = (name: string, fromDir: string, optional: boolean): void => {
    const dir = resolvePackageDir(name, fromDir, root);
    if (dir === undefined) {
      if (optional) return;
      throw new Error(`The runtime package ${name} (needed from ${path.relative(root, fromDir) || '.'}) is not installed: run npm install.`);
    }
    const relative = path.relative(root, dir).split(path.sep).join('/');
    if (found.has(relative)) return;
    found.add(relative);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, dir, true);
    for (const dep of Object.keys(manifest.peerDependencies ?? {})) visit(dep, dir, true);
  };
  for (const name of roots) visit(name, root, false);
  return [...found].sort();
}

function resolvePackageDir(name: string, fromDir: string, root: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.resolve(dir) === path.resolve(root)) return undefined;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function listJsFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listJsFiles(full));
    else if (entry.name.endsWith('.js')) files.push(full);
  }
  return files;
}
