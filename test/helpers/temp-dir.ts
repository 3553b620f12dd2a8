// A temporary folder per test file, removed when the file's tests end.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `snapkv-${prefix}-`));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('temp dir used outside a test');
    return dir;
  };
}
