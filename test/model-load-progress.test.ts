// Reading the model file is the first step of the first index or question and
// can take seconds: whoever waits for it hears which file is being read, once,
// and nobody hears it again once the model is loaded.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { CancellationTokenSource } from 'vscode-languageserver/node';
import type { ProgressHandle } from '../server/src/lsp/index-progress';
import { prepareWithProgress } from '../server/src/lsp/model-load-progress';
import { modelLoadProgress } from '../server/src/session/loaded-model';
import { describeIndexProgress } from '../server/src/session/progress-text';
import { Session } from '../server/src/session/session';
import type { IndexProgress } from '../server/src/session/workspace-index';
import { writeServerFixture } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

describe('progress while the model loads', function () {
  this.timeout(180_000);
  const tempDir = useTempDir('model-load-progress');

  it('reports loading-model (the file and its size) before listing, and only while the model is not loaded', async () => {
    const { model: modelPath, repo } = writeServerFixture(tempDir());
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

describe('the language server start: progress for a slow model load', () => {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  /** A progress that records what it was told; `cancel` plays the user's cancel button. */
  function recordedProgress(): { handle: ProgressHandle; reports: IndexProgress[]; done: () => number; cancel: () => void } {
    const source = new CancellationTokenSource();
    const reports: IndexProgress[] = [];
    let doneCalls = 0;
    return {
      handle: { report: (p) => reports.push(p), cancelled: source.token, done: () => doneCalls++ },
      reports,
      done: () => doneCalls,
      cancel: () => source.cancel(),
    };
  }

  it('opens no progress for a load faster than the threshold', async () => {
    let opened = 0;
    const logs: string[] = [];
    await prepareWithProgress({
      prepare: async (_signal, onProgress) => onProgress(modelLoadProgress('small.gguf (1 MiB)')),
      openProgress: async () => {
        opened++;
        return recordedProgress().handle;
      },
      log: (line) => logs.push(line),
      showAfterMs: 200,
    });
    await sleep(300);
    assert.strictEqual(opened, 0);
    assert.deepStrictEqual(logs, []);
  });

  it('shows a slow load with the file it reads, and ends the progress when the load ends', async () => {
    const shown = recordedProgress();
    let opened = 0;
    await prepareWithProgress({
      prepare: async (_signal, onProgress) => {
        onProgress(modelLoadProgress('big.gguf (8 GiB)'));
        await sleep(150);
      },
      openProgress: async () => {
        opened++;
        return shown.handle;
      },
      log: () => undefined,
      showAfterMs: 20,
    });
    assert.strictEqual(opened, 1);
    assert.deepStrictEqual(shown.reports.map((p) => describeIndexProgress(p).message), ['loading model big.gguf (8 GiB)']);
    assert.strictEqual(shown.done(), 1);
  });

  it('stops the load when the user cancels the progress, and says so in the log', async () => {
    const shown = recordedProgress();
    const logs: string[] = [];
    await prepareWithProgress({
      prepare: async (signal, onProgress) => {
        onProgress(modelLoadProgress('big.gguf (8 GiB)'));
        await new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
      },
      openProgress: async () => {
        setTimeout(() => shown.cancel(), 10);
        return shown.handle;
      },
      log: (line) => logs.push(line),
      showAfterMs: 10,
    });
    assert.strictEqual(shown.done(), 1);
    assert.strictEqual(logs.length, 1);
    assert.match(logs[0], /^not ready to answer: .*cancel/i);
  });
});
