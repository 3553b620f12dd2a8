// While the model loads, status says so (StatusResult.modelLoad: the file, its size, since when), so the editor
// shows "Loading model…" rather than "No model" and the user does not start a second load. A model chosen during
// a load replaces it: status names the new file at once, and whoever waited for the old load gets the new model.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Methods, StatusResult } from '../server/src/protocol';
import { Session } from '../server/src/session/session';
import { until } from './helpers/async-helpers';
import { TestLspClient } from './helpers/lsp-client';
import { writeFixtureRepo, writeServerFixture, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

/** A client that keeps every snapkv/statusChanged the server sends, in order. */
function recordingClient(): { client: TestLspClient; statuses: StatusResult[] } {
  const client = new TestLspClient();
  const statuses: StatusResult[] = [];
  client.connection.onNotification(Methods.statusChanged, (status: StatusResult) => void statuses.push(status));
  return { client, statuses };
}

describe('status while the model loads', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('status-model-load');

  it('over LSP: reports the load (file, size, start) from its start, then the model and no load', async () => {
    const { model: modelPath, repo } = writeServerFixture(tempDir());
    const { client, statuses } = recordingClient();
    try {
      const before = Date.now();
      await client.initialize({ modelPath, cacheDir: path.join(tempDir(), 'cache'), backend: 'cpu' }, repo);
      await until('the model to load', () => statuses.some((s) => s.model !== null));
      const after = Date.now();
      const loading = statuses.filter((s) => s.modelLoad !== undefined);
      assert.ok(loading.length > 0, `no status told of the load: ${JSON.stringify(statuses)}`);
      const first = loading[0];
      assert.strictEqual(first.model, null);
      assert.strictEqual(first.modelProblem, undefined, 'a load in flight is not a problem');
      assert.deepStrictEqual(Object.keys(first.modelLoad ?? {}).sort(), ['bytes', 'path', 'startedAt']);
      assert.strictEqual(first.modelLoad?.path, modelPath);
      assert.strictEqual(first.modelLoad?.bytes, fs.statSync(modelPath).size);
      const startedAt = first.modelLoad?.startedAt ?? 0;
      assert.ok(startedAt >= before && startedAt <= after, `started at ${startedAt}, between ${before} and ${after}`);
      assert.ok(statuses.indexOf(first) < statuses.findIndex((s) => s.model !== null), 'the load is told before its end');
      for (const status of statuses.filter((s) => s.model !== null)) assert.strictEqual(status.modelLoad, undefined);

      const status = await client.connection.sendRequest<StatusResult>(Methods.status);
      assert.strictEqual(status.model?.path, modelPath);
      assert.strictEqual(status.modelLoad, undefined);
    } finally {
      await client.close();
    }
  });

  it('over LSP: a load that fails ends with the problem in status and no load', async () => {
    const modelPath = writeServerModel(tempDir());
    const corrupt = path.join(tempDir(), 'corrupt.gguf');
    fs.writeFileSync(corrupt, fs.readFileSync(modelPath).subarray(0, 5000));
    const repo = path.join(tempDir(), 'repo');
    writeFixtureRepo(repo);
    const { client, statuses } = recordingClient();
    try {
      await client.initialize({ modelPath, cacheDir: path.join(tempDir(), 'cache'), backend: 'cpu' }, repo);
      await until('the model to load', () => statuses.some((s) => s.model !== null));
      statuses.length = 0;
      await client.connection.sendRequest(Methods.configure, { modelPath: corrupt, cacheDir: path.join(tempDir(), 'cache'), backend: 'cpu' });
      await assert.rejects(client.connection.sendRequest(Methods.index, { folder: repo }), /corrupt\.gguf/);
      const status = await client.connection.sendRequest<StatusResult>(Methods.status);
      assert.strictEqual(status.model, null);
      assert.match(status.modelProblem ?? '', /corrupt\.gguf/);
      assert.strictEqual(status.modelLoad, undefined, 'a failed load is over');
      const told = statuses.find((s) => s.modelLoad !== undefined);
      assert.strictEqual(told?.modelLoad?.path, corrupt, `no status told of the load of corrupt.gguf: ${JSON.stringify(statuses)}`);
      assert.strictEqual(told?.modelLoad?.bytes, 5000);
      assert.strictEqual(told?.modelProblem, undefined, 'no problem is reported while the file is still being read');
    } finally {
      await client.close();
    }
  });

  it('a model chosen during a load replaces it: status names the new file at once, and the waiting caller gets the new model', async () => {
    const first = writeServerModel(tempDir());
    const second = writeServerModel(tempDir(), { layers: 3 });
    const cacheDir = path.join(tempDir(), 'cache');
    const session = new Session({ settings: { modelPath: first, cacheDir, backend: 'cpu' } });
    try {
      const waiting = session.model();
      assert.strictEqual(session.status().modelLoad?.path, first);
      assert.strictEqual(session.status().model, null);
      const configured = session.configure({ modelPath: second, cacheDir, backend: 'cpu' });
      // Told before the old read ends: the user sees their choice, not the file they replaced.
      assert.strictEqual(session.status().modelLoad?.path, second);
      assert.strictEqual((await configured).reindex, true);
      const loaded = await waiting;
      assert.strictEqual(loaded.path, second);
      assert.strictEqual(loaded.model.info.layers, 3);
      const status = session.status();
      assert.strictEqual(status.model?.path, second);
      assert.strictEqual(status.modelLoad, undefined);
      assert.strictEqual(status.modelProblem, undefined, 'the replaced load is no problem');
      assert.strictEqual((await session.model()).path, second, 'loaded once, kept');
    } finally {
      await session.dispose();
    }
  });
});
