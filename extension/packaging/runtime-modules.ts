// What the built server and extension load at run time: our compiled files that the entry points reach
// through require, the packages those files require, and everything those depend on, as folders under
// node_modules (nested ones included). Files only the command line reaches (its MCP server and the HTTP
// server of `serve`, with the MCP SDK and its web-server dependencies) are not the extension's.
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

const RELATIVE_REQUIRE_CALL = /\brequire\(\s*["'](\.{1,2}\/[^"']*)["']\s*\)/g;

function resolveRelative(fromFile: string, specifier: string): string {
  const base = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [base, `${base}.js`, `${base}.json`, path.join(base, 'index.js')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`${fromFile} requires ${specifier}, which is not built: run npm run build:ts and npm run build:extension.`);
}

/** Our compiled files that `entries` reach through relative requires, the entries included, sorted. */
export function reachableFiles(entries: string[]): string[] {
  const seen = new Set<string>();
  const pending = [...entries.map((entry) => path.resolve(entry))];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.js')) continue;
    for (const match of fs.readFileSync(file, 'utf8').matchAll(RELATIVE_REQUIRE_CALL)) pending.push(resolveRelative(file, match[1]));
  }
  return [...seen].sort();
}

/** Package names required by `files` (bare specifiers only). */
export function requiredPackages(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    const source = fs.readFileSync(file, 'utf8');
    for (const match of source.matchAll(REQUIRE_CALL)) {
      const specifier = match[1];
      if (NOT_PACKAGED.has(specifier) || specifier.startsWith('node:')) continue;
      const parts = specifier.split('/');
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
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
