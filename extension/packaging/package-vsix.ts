// npm run package: the .vsix with the built extension, the built server, the native addon, the webview assets and
// the runtime node_modules, and nothing else. Our files are those the two entry points (the extension, and the
// language server it starts by path) reach through require; the packages are those these files require.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { dependencyClosure, reachableFiles, requiredPackages } from './runtime-modules';

const root = path.resolve(__dirname, '..', '..', '..');
const SERVER_OUT = 'out/server/src';
const EXTENSION_OUT = 'out/extension/src';
const ADDON = 'build/Release/snapkv.node';
const STAGING = 'out/vsix';

function main(): void {
  for (const required of [`${SERVER_OUT}/server-main.js`, `${EXTENSION_OUT}/extension.js`, ADDON, 'media/chat.js']) {
    if (!fs.existsSync(path.join(root, required))) throw new Error(`${required} is missing: run npm install (or npm run build) first.`);
  }
  const files = reachableFiles([path.join(root, EXTENSION_OUT, 'extension.js'), path.join(root, SERVER_OUT, 'server-main.js')]);
  const packages = requiredPackages(files);
  const modules = dependencyClosure(root, packages);
  console.log(`${files.length} compiled files reached from the extension and the language server.`);
  console.log(`Runtime packages required by the code: ${[...packages].sort().join(', ')}`);
  console.log(`With their dependencies: ${modules.length} package folders.`);

  fs.mkdirSync(path.join(root, STAGING), { recursive: true });
  const ignoreFile = path.join(root, STAGING, 'vscodeignore');
  const base = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  // Code, data and licences of each package; not its sources, type declarations, source maps or docs.
  const allowModules = modules.flatMap((dir) => [`!${dir}/**/*.{js,cjs,mjs,json,node,wasm}`, `!${dir}/LICEN[CS]E*`]).join('\n');
  const allowFiles = files.map((file) => `!${path.relative(root, file).split(path.sep).join('/')}`).join('\n');
  fs.writeFileSync(
    ignoreFile,
    `${base.trimEnd()}\n\n# Compiled files the entry points reach (computed by extension/packaging/package-vsix.ts)\n${allowFiles}\n` +
      `\n# Runtime packages (computed likewise)\n${allowModules}\n`,
  );

  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const vsix = path.join(root, `${manifest.name}-${manifest.version}.vsix`);
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  const args = [
    vsce, 'package',
    '--ignoreFile', ignoreFile,
    '--readme-path', 'extension/README.marketplace.md',
    '--target', `${process.platform}-${process.arch}`,
    '--skip-license',
    '--allow-missing-repository',
    '--out', vsix,
  ];
  execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  const bytes = fs.statSync(vsix).size;
  console.log(`${path.relative(root, vsix)}: ${(bytes / 1024 / 1024).toFixed(2)} MiB (${bytes} bytes)`);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
