// The language server over a real LSP connection (stdio, vscode-jsonrpc):
// index a fixture repository with a fixture model, ask, stream, cancel, and
// get clear errors for bad input while the server keeps serving.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ResponseError } from 'vscode-jsonrpc/node';
import type { AskResult, ContextMap, IndexResult, StatusResult } from '../server/src/protocol';
import { Methods } from '../server/src/protocol';
import { SERVER, TestLspClient } from './helpers/lsp-client';
import { writeFixtureRepo, writeLargeRepo, writeServerFixture, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

const NOBODY = 65534;

async function failsWith(promise: Promise<unknown>, pattern: RegExp): Promise<ResponseError<unknown>> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail(`expected an error matching ${pattern}`);
}

describe('language server over LSP', function () {
  this.timeout(180_000);
  const tempDir = useTempDir('server-lsp');
  let modelPath: string;
  let repo: string;
  let client: TestLspClient;

  before(() => {
    ({ model: modelPath, repo } = writeServerFixture(tempDir()));
  });

  beforeEach(async () => {
    client = new TestLspClient();
    // The folders the tests index besides the repository must be declared: the server refuses any other.
    const others = ['empty', 'missing', 'locked', 'live', 'big'].map((name) => path.join(tempDir(), name));
    await client.initialize({ modelPath, cacheDir: path.join(tempDir(), 'cache'), backend: 'cpu', maxAnswerTokens: 12 }, [repo, ...others, path.join(repo, 'README.md')]);
  });

  afterEach(async () => {
    await client.close();
  });

  it('indexes a folder with work-done progress, then answers with streamed tokens, references and a context map', async () => {
    const index = await client.connection.sendRequest<IndexResult>(Methods.index, { folder: repo, force: true });
    assert.strictEqual(index.files, 4);
    assert.ok(index.tokens > 100, `only ${index.tokens} tokens`);
    assert.strictEqual(index.prefilledTokens, index.tokens);
    assert.strictEqual(index.source, 'prefill');
    assert.ok(client.createdProgressTokens.length >= 1, 'the server creates a progress');
    const kinds = client.progress.map((p) => p.value.kind);
    assert.strictEqual(kinds[0], 'begin');
    assert.strictEqual(kinds[kinds.length - 1], 'end');
    assert.ok(client.progress.some((p) => /tokens/.test(p.value.message ?? '')), 'progress reports tokens');

    const answer = await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'q1', question: 'What is MAX_ITEMS set to?' });
    assert.strictEqual(answer.requestId, 'q1');
    assert.ok(answer.tokens > 0);
    assert.strictEqual(client.deltasOf('q1').join(''), answer.text, 'the streamed pieces make the answer');
    assert.ok(client.deltasOf('q1').length >= 1);
    assert.ok(answer.references.length > 0, 'an answer names the files its kept cache came from');
    const paths = new Set(answer.references.map((r) => r.path));
    for (const p of paths) assert.ok(['README.md', 'src/config.ts', 'src/stock.ts', 'src/report.py'].includes(p), p);

    const map = await client.connection.sendRequest<ContextMap | null>(Methods.contextMap, { requestId: 'q1' });
    assert.ok(map);
    assert.strictEqual(map.question, 'What is MAX_ITEMS set to?');
    const shares = map.files.reduce((sum, f) => sum + f.share, 0);
    assert.ok(Math.abs(shares - 1) < 1e-9, `shares sum to ${shares}`);
    for (let i = 1; i < map.files.length; i++) assert.ok(map.files[i - 1].kept >= map.files[i].kept, 'ranked by kept entries');

    const status = await client.connection.sendRequest<StatusResult>(Methods.status);
    assert.strictEqual(status.tokensIndexed, index.tokens);
    assert.strictEqual(status.files, 4);
    assert.ok(status.prefixBytes > 0);
    assert.strictEqual(status.model?.architecture, 'qwen2');
    assert.strictEqual(status.compactBytes, 0, 'compact caches are freed after the answer');
  });

  it('answers two questions at once without mixing their streams, each as it answers alone', async () => {
    await client.connection.sendRequest(Methods.index, { folder: repo });
    const alone = await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'alone-a', question: 'Where is addItem defined?' });
    const aloneB = await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'alone-b', question: 'What does report print?' });
    const [a, b] = await Promise.all([
      client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'a', question: 'Where is addItem defined?' }),
      client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'b', question: 'What does report print?' }),
    ]);
    assert.strictEqual(a.text, alone.text);
    assert.strictEqual(b.text, aloneB.text);
    assert.strictEqual(client.deltasOf('a').join(''), a.text);
    assert.strictEqual(client.deltasOf('b').join(''), b.text);
  });

  it('queues questions that do not fit the memory limit together, and answers each in turn', async () => {
    const tight = new TestLspClient();
    try {
      await tight.initialize({ modelPath, cacheDir: path.join(tempDir(), 'cache-tight'), maxAnswerTokens: 24, compactMemoryLimit: 1 }, repo);
      await tight.connection.sendRequest(Methods.index, {});
      const first = tight.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'one', question: 'What is MAX_ITEMS?' });
      const second = tight.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'two', question: 'What is CURRENCY?' });
      let sawQueued = false;
      let settled = false;
      void Promise.all([first, second]).finally(() => (settled = true));
      while (!settled) {
        const status = await tight.connection.sendRequest<StatusResult>(Methods.status);
        assert.ok(status.questionsRunning <= 1, 'never two compact caches over the limit');
        if (status.questionsQueued >= 1) sawQueued = true;
        await new Promise((r) => setTimeout(r, 1));
      }
      const [a, b] = await Promise.all([first, second]);
      assert.ok(sawQueued, 'the second question waited');
      assert.strictEqual(tight.deltasOf('one').join(''), a.text);
      assert.strictEqual(tight.deltasOf('two').join(''), b.text);
      assert.ok(b.timings.queuedMs > 0);
    } finally {
      await tight.close();
    }
  });

  it('stops an answer on snapkv/cancel, keeping what was generated', async () => {
    await client.connection.sendRequest(Methods.index, { folder: repo });
    const asking = client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'stop-me', question: 'Explain the repository.', maxTokens: 4000 });
    // Cancel once the answer has begun to stream.
    while (client.deltasOf('stop-me').length === 0) await new Promise((r) => setTimeout(r, 5));
    const cancelled = await client.connection.sendRequest<{ cancelled: boolean }>(Methods.cancel, { requestId: 'stop-me' });
    assert.strictEqual(cancelled.cancelled, true);
    const answer = await asking;
    assert.strictEqual(answer.stopReason, 'cancelled');
    assert.ok(answer.tokens < 4000);
    assert.strictEqual(client.deltasOf('stop-me').join(''), answer.text);
  });

  it('cancels in the middle of a prefill, frees the memory, and serves the next request', async () => {
    const big = path.join(tempDir(), 'big');
    writeLargeRepo(big, 40, 60);
    // A prefill long enough to cancel in its middle on any machine: the whole large repository
    // (about 54K tokens) fits this model's context, where the shared model's 8K would take ~0.1 s.
    await client.close();
    client = new TestLspClient();
    const longModel = writeServerModel(fs.mkdtempSync(path.join(tempDir(), 'long-')), { contextLength: 65536 });
    await client.initialize({ modelPath: longModel, cacheDir: path.join(tempDir(), 'cache'), backend: 'cpu', maxAnswerTokens: 12 }, [repo, big]);
    const indexing = client.connection.sendRequest<IndexResult>(Methods.index, { folder: big, force: true });
    // Cancel from the progress notification, as the editor's cancel button does, once the prefill has begun.
    const deadline = Date.now() + 60_000;
    while (!client.progress.some((p) => p.value.kind === 'report' && /tokens\/s|left/.test(p.value.message ?? ''))) {
      if (Date.now() > deadline) assert.fail('no prefill progress');
      await new Promise((r) => setTimeout(r, 2));
    }
    await client.cancelProgress(client.createdProgressTokens[client.createdProgressTokens.length - 1]);
    await failsWith(indexing, /cancelled/);
    const status = await client.connection.sendRequest<StatusResult>(Methods.status);
    assert.strictEqual(status.prefixBytes, 0, 'the cancelled prefill left no cache behind');
    assert.strictEqual(status.indexing, false);
    const index = await client.connection.sendRequest<IndexResult>(Methods.index, { folder: repo });
    assert.strictEqual(index.files, 4);
    const answer = await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'after', question: 'What is CURRENCY?', folder: repo });
    assert.ok(answer.tokens > 0);
  });

  it('gives clear errors for bad input and keeps serving', async () => {
    const empty = path.join(tempDir(), 'empty');
    fs.mkdirSync(empty, { recursive: true });
    const emptyIndex = await client.connection.sendRequest<IndexResult>(Methods.index, { folder: empty });
    assert.strictEqual(emptyIndex.files, 0, 'an empty folder indexes to nothing');
    await failsWith(client.connection.sendRequest(Methods.ask, { requestId: 'e', question: 'anything?', folder: empty }), /no files|empty/i);

    await failsWith(client.connection.sendRequest(Methods.index, { folder: path.join(tempDir(), 'missing') }), /missing.*(does not exist|not found)|no such/i);
    const aFile = path.join(repo, 'README.md');
    await failsWith(client.connection.sendRequest(Methods.index, { folder: aFile }), /not a folder|not a directory/i);

    await checkUnreadableFolder();

    // Under the size limits of a request, over the model's context: refused with the token counts.
    const longSelection = { path: 'src/stock.ts', startLine: 1, endLine: 1, text: 'why '.repeat(9000) };
    await failsWith(client.connection.sendRequest(Methods.ask, { requestId: 'long', question: 'why?', selection: longSelection, folder: repo }), /does not fit.*context/);
    await failsWith(client.connection.sendRequest(Methods.ask, { requestId: 'blank', question: '   ' }), /empty/);
    await failsWith(client.connection.sendRequest(Methods.configure, { snapkv: { kernel: 4 } }), /kernel must be odd/);

    const status = await client.connection.sendRequest<StatusResult>(Methods.status);
    assert.ok(status.model, 'still serving with the model loaded');
    assert.ok(client.alive);
  });

  /** A folder the server may not read. As root every folder is readable, so then the server runs as nobody. */
  async function checkUnreadableFolder(): Promise<void> {
    const locked = path.join(tempDir(), 'locked');
    fs.mkdirSync(locked, { recursive: true });
    fs.writeFileSync(path.join(locked, 'a.ts'), 'export {};\n');
    fs.chmodSync(locked, 0o000);
    const asRoot = process.getuid?.() === 0;
    let probe: TestLspClient = client;
    try {
      if (asRoot) {
        if (spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(SERVER)}, 4)`], { uid: NOBODY, gid: NOBODY }).status !== 0) {
          console.log('      (skipped the unreadable-folder case: running as root, and user nobody cannot read the built server here)');
          return;
        }
        fs.chmodSync(tempDir(), 0o755);
        const cacheDir = path.join(tempDir(), 'cache-nobody');
        fs.mkdirSync(cacheDir, { mode: 0o777 });
        fs.chmodSync(cacheDir, 0o777);
        probe = new TestLspClient({ uid: NOBODY, gid: NOBODY, env: { HOME: cacheDir } });
        await probe.initialize({ modelPath, cacheDir }, [repo, locked]);
      }
      await failsWith(probe.connection.sendRequest(Methods.index, { folder: locked }), /locked.*(permission|cannot be read|not readable)/i);
      const status = await probe.connection.sendRequest<StatusResult>(Methods.status);
      assert.ok(status, 'still serving');
    } finally {
      fs.chmodSync(locked, 0o755);
      if (probe !== client) await probe.close();
    }
  }

  it('reports a missing or corrupt model clearly and keeps serving (over IPC, as the extension connects)', async () => {
    const other = new TestLspClient({ transport: 'ipc' });
    try {
      await other.initialize({ modelPath: path.join(tempDir(), 'nope.gguf'), cacheDir: path.join(tempDir(), 'cache2') }, repo);
      await failsWith(other.connection.sendRequest(Methods.index, { folder: repo }), /nope\.gguf does not exist/);
      const corrupt = path.join(tempDir(), 'corrupt.gguf');
      const bytes = fs.readFileSync(modelPath).subarray(0, 5000);
      fs.writeFileSync(corrupt, bytes);
      await other.connection.sendRequest(Methods.configure, { modelPath: corrupt });
      await failsWith(other.connection.sendRequest(Methods.index, { folder: repo }), /corrupt\.gguf/);
      const status = await other.connection.sendRequest<StatusResult>(Methods.status);
      assert.strictEqual(status.model, null);
      assert.match(status.modelProblem ?? '', /corrupt\.gguf/);
      await other.connection.sendRequest(Methods.configure, { modelPath });
      const index = await other.connection.sendRequest<IndexResult>(Methods.index, { folder: repo });
      assert.strictEqual(index.files, 4, 'a good model afterwards works');
    } finally {
      await other.close();
    }
  });

  it('updates the index after file changes the client reports, prefilling only the changed tail', async () => {
    const live = path.join(tempDir(), 'live');
    writeFixtureRepo(live);
    const first = await client.connection.sendRequest<IndexResult>(Methods.index, { folder: live });
    const edited = path.join(live, 'src', 'report.py');
    fs.appendFileSync(edited, '# changed\n');
    await client.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: `file://${edited}`, type: 2 }] });
    const deadline = Date.now() + 30_000;
    let status: StatusResult;
    do {
      await new Promise((r) => setTimeout(r, 100));
      status = await client.connection.sendRequest<StatusResult>(Methods.status);
    } while ((status.tokensIndexed === first.tokens || status.indexing) && Date.now() < deadline);
    assert.ok(status.tokensIndexed > first.tokens, 'the edit was indexed without a request');
    const update = client.logs.find((line) => /indexed .*live.*incremental/.test(line));
    assert.ok(update, `no incremental update in the log: ${client.logs.join(' | ')}`);
    const prefilled = Number(/(\d+) prefilled/.exec(update)?.[1]);
    assert.ok(prefilled > 0 && prefilled < status.tokensIndexed / 2, `prefilled ${prefilled} of ${status.tokensIndexed}`);
  });

  it('reuses the prefix cache saved by an earlier server start', async () => {
    const cacheDir = path.join(tempDir(), 'cache-reuse');
    const first = new TestLspClient();
    let firstIndex: IndexResult;
    let firstAnswer: AskResult;
    try {
      await first.initialize({ modelPath, cacheDir, maxAnswerTokens: 8 }, repo);
      firstIndex = await first.connection.sendRequest<IndexResult>(Methods.index, {});
      firstAnswer = await first.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'x', question: 'What is MAX_ITEMS?' });
    } finally {
      await first.close();
    }
    const second = new TestLspClient();
    try {
      await second.initialize({ modelPath, cacheDir, maxAnswerTokens: 8 }, repo);
      const index = await second.connection.sendRequest<IndexResult>(Methods.index, {});
      assert.strictEqual(index.source, 'saved-cache');
      assert.strictEqual(index.prefilledTokens, 0);
      assert.strictEqual(index.tokens, firstIndex.tokens);
      const answer = await second.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'x', question: 'What is MAX_ITEMS?' });
      assert.strictEqual(answer.text, firstAnswer.text);
    } finally {
      await second.close();
    }
  });
});
