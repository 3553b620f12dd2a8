// `npm test`'s last step: the end-to-end tests in a real VS Code, when its
// set-up (`npm run setup:e2e`: chromium and code-server) has been done here;
// otherwise a visible line saying they were skipped and how to run them.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const REPO_ROOT = path.join(__dirname, '..', '..', '..');
const STAMP = path.join(REPO_ROOT, '.e2e', 'code-server', 'installed-4.96.4');

function hasChromium(): boolean {
  return spawnSync('sh', ['-c', 'command -v chromium'], { stdio: 'ignore' }).status === 0;
}

if (!fs.existsSync(STAMP) || !hasChromium()) {
  console.log('\nEnd-to-end tests in VS Code SKIPPED: code-server or chromium is not set up here. Run `npm run setup:e2e` once, then `npm test` again.\n');
  process.exit(0);
}
const run = spawnSync('npm', ['run', 'test:e2e'], { cwd: REPO_ROOT, stdio: 'inherit' });
process.exit(run.status ?? 1);
