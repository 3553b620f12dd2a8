// One-shot in the product, over a real LSP connection: a repository whose
// prefix cache does not fit the host memory the engine may use is answered
// one-shot, the server says so (index result, status, progress, answer), and
// the answer is the one a prefix cache gives for the same prompt; when neither
// fits, the error names the sizes and what to do. The decision itself is
// checked on its own below.
import * as assert from 'assert';
import * as path from 'path';
import { ResponseError } from 'vscode-jsonrpc/node';
import type { AskResult, ContextMap, ErrorData, IndexResult, ServerSettings, StatusResult } from '../server/src/protocol';
import { Methods } from '../server/src/protocol';
import { EngineError } from '../server/src/engine';
import type { NativeOneShotPlan } from '../server/src/engine/native-addon';
import { answerText } from '../server/src/agent-tools';
import { AnswerModeFacts, chooseAnswerMode, oneShotNote } from '../server/src/session/answer-mode';
import { describeIndexProgress } from '../server/src/session/progress-text';
import { TestLspClient } from './helpers/lsp-client';
import { writeLargeRepo, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

function plan(bytesNeeded: number, bytesAvailable: number): NativeOneShotPlan {
  const part = bytesNeeded / 5;
  return {
    bytesNeeded,
    bytesAvailable,
    longestPrompt: 12_345,
    memory: 'host memory',
    deviceName: 'this computer',
    parts: { hiddenStates: part, layerKeysValues: part, selection: part, compactCache: part, working: part },
  };
}

function facts(prefixBytes: number, limit: number, oneShot: NativeOneShotPlan | null): AnswerModeFacts {
  return {
    repositoryTokens: 4000,
    prefixBytes,
    prefixLimit: { bytes: limit, where: 'host memory' },
    oneShot,
    oneShotLimit: { bytes: Math.min(limit, oneShot?.bytesAvailable ?? limit), where: 'host memory' },
  };
}

describe('answer mode: prefix cache or one-shot', () => {
  it('keeps the prefix cache whenever it fits, one-shot or not', () => {
    assert.strictEqual(chooseAnswerMode(facts(8 * MIB, 8 * MIB, plan(4 * MIB, GIB))).kind, 'prefix-cache');
    assert.strictEqual(chooseAnswerMode(facts(8 * MIB, GIB, null)).kind, 'prefix-cache');
  });

  it('answers one-shot when only one-shot fits, and says why and what it costs', () => {
    const mode = chooseAnswerMode(facts(8 * MIB, 6 * MIB, plan(4 * MIB, GIB)));
    assert.strictEqual(mode.kind, 'one-shot');
    assert.strictEqual(mode.info.mode, 'one-shot');
    assert.strictEqual(mode.info.note, 'repository too large for a prefix cache in 6 MiB; answering one-shot (each question reads the whole repository)');
  });

  it('refuses with OUT_OF_MEMORY, the sizes and what to do when neither fits', () => {
    const refused = (f: AnswerModeFacts): EngineError => {
      try {
        chooseAnswerMode(f);
      } catch (error) {
        assert.ok(error instanceof EngineError);
        return error;
      }
      return assert.fail('expected a refusal');
    };
    const error = refused(facts(8 * MIB, 3 * MIB, plan(4 * MIB, GIB)));
    assert.strictEqual(error.code, 'OUT_OF_MEMORY');
    assert.match(error.message, /4,000 tokens/);
    assert.match(error.message, /prefix cache needs 8 MiB, over the 3 MiB of host memory/);
    assert.match(error.message, /one-shot needs 4 MiB of host memory, over the 3 MiB free for it/);
    assert.match(error.message, /longest prompt that fits one-shot is 12,345 tokens/);
    assert.match(error.message, /maxContextTokens/);
    assert.match(error.message, /hostMemoryGiB/);
    // One-shot's own limit counts too: the backend's free memory, not only the setting.
    assert.strictEqual(refused(facts(8 * MIB, 6 * MIB, plan(4 * MIB, 2 * MIB))).code, 'OUT_OF_MEMORY');
    assert.match(refused(facts(8 * MIB, 6 * MIB, null)).message, /cannot answer one-shot/);
  });

  it('the note reaches agents (MCP and language-model tools) and progress messages', () => {
    const note = oneShotNote({ bytes: 16 * GIB, where: 'host memory' });
    assert.strictEqual(note, 'repository too large for a prefix cache in 16 GiB; answering one-shot (each question reads the whole repository)');
    const result: AskResult = {
      requestId: 'q',
      text: 'In gen/module_003.ts.',
      tokens: 7,
      stopReason: 'eos',
      references: [],
      timings: { queuedMs: 0, compressMs: 1, firstTokenMs: 1, decodeMsPerToken: 1 },
      compactBytes: 0,
      answerMode: { mode: 'one-shot', note },
    };
    assert.ok(answerText(result).includes(`(${note})`));
    assert.ok(!answerText({ ...result, answerMode: { mode: 'prefix-cache' } }).includes('one-shot'));
    const progress = describeIndexProgress({ phase: 'one-shot', note, filesDone: 3, filesTotal: 3, tokensDone: 50, tokensTotal: 100, tokensPerSecond: 0, etaMs: undefined });
    assert.strictEqual(progress.message, `${note} · 3 files · 50/100 tokens`);
    assert.strictEqual(progress.percentage, 50);
  });
});

describe('one-shot answers over LSP', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('server-one-shot');
  let modelPath: string;
  let repo: string;

  before(() => {
    // Eight layers of four KV heads: a prefix cache of 2 KiB per token (f16) against one-shot's one layer
    // and hidden state, so a few thousand tokens make one-shot the smaller by far.
    modelPath = writeServerModel(tempDir(), { layers: 8, heads: 4, kvHeads: 4, seed: 11 });
    repo = path.join(tempDir(), 'repo');
    writeLargeRepo(repo, 10, 20);
  });

  const question = 'Which module defines value_3_7?';

  async function withServer<T>(settings: ServerSettings, work: (client: TestLspClient) => Promise<T>): Promise<T> {
    const client = new TestLspClient();
    try {
      await client.initialize(
        { modelPath, cacheDir: path.join(tempDir(), 'cache'), backend: 'cpu', maxAnswerTokens: 12, snapkv: { window: 16, budget: 256 }, ...settings },
        repo,
      );
      return await work(client);
    } finally {
      await client.close();
    }
  }

  interface Answered {
    index: IndexResult;
    answer: AskResult;
    map: ContextMap | null;
    status: StatusResult;
    messages: string[];
  }

  async function answer(settings: ServerSettings): Promise<Answered> {
    return withServer(settings, async (client) => {
      const index = await client.connection.sendRequest<IndexResult>(Methods.index, { folder: repo, force: true });
      const answer = await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'q', question });
      const map = await client.connection.sendRequest<ContextMap | null>(Methods.contextMap, { requestId: 'q' });
      const status = await client.connection.sendRequest<StatusResult>(Methods.status);
      return { index, answer, map, status, messages: client.progress.map((p) => p.value.message ?? p.value.title ?? '') };
    });
  }

  it('answers one-shot when the prefix cache does not fit, says so, and gives the prefix cache answer', async () => {
    const cached = await answer({});
    assert.strictEqual(cached.index.answerMode?.mode, 'prefix-cache');
    assert.strictEqual(cached.status.answerMode?.mode, 'prefix-cache');
    const prefixBytes = cached.status.prefixBytes;
    assert.ok(cached.index.tokens > 3000, `only ${cached.index.tokens} tokens`);
    assert.ok(prefixBytes > 4 * MIB, `the prefix cache takes ${prefixBytes} bytes`);

    // Three quarters of what the prefix cache takes: it does not fit, one-shot (about a third of it) does.
    const limit = Math.floor(prefixBytes * 0.75);
    const oneShot = await answer({ hostMemoryGiB: limit / GIB });
    console.log(
      `      ${cached.index.tokens} tokens: prefix cache ${(prefixBytes / MIB).toFixed(1)} MiB, limit ${(limit / MIB).toFixed(1)} MiB; ` +
        `compression ${Math.round(cached.answer.timings.compressMs)} ms from the cache, ${Math.round(oneShot.answer.timings.compressMs)} ms one-shot; ` +
        `kept ${cached.map?.keptTotal} entries; answer ${JSON.stringify(cached.answer.text)}`,
    );
    assert.strictEqual(oneShot.index.source, 'one-shot');
    assert.strictEqual(oneShot.index.prefilledTokens, 0);
    assert.strictEqual(oneShot.index.tokens, cached.index.tokens);
    const note = oneShot.index.answerMode?.note ?? '';
    assert.match(note, /^repository too large for a prefix cache in [\d.]+ MiB; answering one-shot \(each question reads the whole repository\)$/);
    assert.strictEqual(oneShot.status.answerMode?.note, note);
    assert.strictEqual(oneShot.status.prefixBytes, 0, 'no prefix cache is held');
    assert.strictEqual(oneShot.answer.answerMode?.note, note);
    assert.ok(oneShot.messages.some((m) => m.startsWith(note)), `the question's progress says one-shot: ${oneShot.messages.join(' | ')}`);
    assert.strictEqual(oneShot.answer.prompt?.cachedTokens, 0, 'one-shot reads the whole repository for the question');

    // The same prompt and the same kept positions: the same greedy answer and the same context map.
    assert.ok(oneShot.answer.tokens > 0);
    assert.strictEqual(oneShot.answer.text, cached.answer.text);
    assert.strictEqual(oneShot.answer.tokens, cached.answer.tokens);
    assert.deepStrictEqual(oneShot.answer.references, cached.answer.references);
    assert.deepStrictEqual({ ...oneShot.answer.prompt, cachedTokens: 0 }, { ...cached.answer.prompt, cachedTokens: 0 });
    assert.ok(oneShot.map && cached.map);
    assert.deepStrictEqual(oneShot.map.files, cached.map.files);
    assert.strictEqual(oneShot.map.keptTotal, cached.map.keptTotal);
    assert.ok(cached.map.keptTotal < cached.index.tokens * 8 * 4, 'SnapKV dropped positions (the budget is below the prompt)');
  });

  it('refuses with the sizes and what to do when neither a prefix cache nor one-shot fits', async () => {
    await withServer({ hostMemoryGiB: (256 * 1024) / GIB }, async (client) => {
      let error: unknown;
      try {
        await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'q', question });
      } catch (caught) {
        error = caught;
      }
      assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(error)}`);
      assert.strictEqual((error.data as ErrorData).code, 'OUT_OF_MEMORY');
      assert.match(error.message, /fits neither way: its prefix cache needs [\d.]+ MiB, over the 256 KiB of host memory the engine may use/);
      assert.match(error.message, /answering one-shot needs [\d.]+ MiB of host memory, over the 256 KiB free for it/);
      assert.match(error.message, /maxContextTokens or exclude globs/);
      // The server keeps serving.
      const status = await client.connection.sendRequest<StatusResult>(Methods.status);
      assert.strictEqual(status.answerMode, undefined);
    });
  });
});
