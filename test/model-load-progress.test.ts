// Reading the model file is the first step of the first index or question and
// can take seconds: whoever waits for it hears which file is being read, once,
// and nobody hears it again once the model is loaded.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { describeIndexProgress } from '../server/src/session/progress-text';
import { Session } from '../server/src/session/session';
import type { IndexProgress } from '../server/src/session/workspace-index';
import { writeFixtureRepo, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

describe('progress while the model loads', function () {
  this.timeout(180_000);
  const tempDir = useTempDir('model-load-progress');

  it('reports loading-model (the file and its size) before listing, and only while the model is not loaded', async () => {
    const modelPath = writeServerModel(tempDir());
    const repo = path.join(tempDir(), 'repo');
    writeFixtureRepo(repo);
    const session = new Session({ settings: { modelPath, cacheDir: path.join(tempDir(), 'cache'), backend: 'cpu' }, defaultFolder: repo });
    try {
      const first: IndexProgress[] = [];
      const second: IndexProgress[] = [];
      // Two callers while the load is in flight both wait for it, and both are told.
      const [preview] = await Promise.all([session.previewIndex({ onProgress: (p) => first.push(p) }), session.model(undefined, (p) => second.push(p))]);
      assert.ok(preview.tokens.length > 0);
      assert.deepStrictEqual(second.map((p) => p.phase), ['loading-model']);
      for (const reports of [first, second]) {
        const loading = reports.filter((p) => p.phase === 'loading-model');
        assert.strictEqual(loading.length, 1, JSON.stringify(reports.map((p) => p.phase)));
        assert.strictEqual(reports.indexOf(loading[0]), 0, 'loading comes first');
        const megabytes = fs.statSync(modelPath).size / 1024 / 1024;
        assert.ok(megabytes >= 1 && megabytes < 1024, 'the fixture is sized in MiB');
        assert.strictEqual(loading[0].note, `${path.basename(modelPath)} (${megabytes.toFixed(1).replace(/\.0$/, '')} MiB)`);
        assert.strictEqual(describeIndexProgress(loading[0]).message, `loading model ${loading[0].note}`);
        assert.strictEqual(describeIndexProgress(loading[0]).percentage, undefined);
      }
      assert.ok(first.some((p) => p.phase === 'listing'));

      const later: IndexProgress[] = [];
      await session.previewIndex({ onProgress: (p) => later.push(p) });
      assert.ok(later.length > 0);
      assert.ok(!later.some((p) => p.phase === 'loading-model'), 'a loaded model is not loaded again');
    } finally {
      await session.dispose();
    }
  });
});
