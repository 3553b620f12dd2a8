// A property test of the LSP surface (issue 16): seeded random, mistyped
// parameters against every request. Each mistyped request must be refused as
// InvalidParams with a message that names the parameter (never a TypeError);
// status must stay correct throughout; and afterwards a normal question must
// still be answered. 200 requests, seeded, so a failure replays exactly.
import * as assert from 'assert';
import * as path from 'path';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc/node';
import type { AskResult, IndexResult, StatusResult } from '../server/src/protocol';
import { Methods } from '../server/src/protocol';
import { SeededRandom } from './fixtures/seeded-random';
import { TestLspClient } from './helpers/lsp-client';
import { writeServerFixture, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type PathStep = string | number;

const REQUESTS = 200;

/** Values of the wrong type for a leaf like `value` (never null: null is "absent" for optional fields). */
function wrongValues(value: Json): Json[] {
  if (typeof value === 'string') return [7, true, [], {}, ['a']];
  if (typeof value === 'number') return ['x', '', true, [], {}, '4', -5];
  if (typeof value === 'boolean') return ['true', 1, [], {}];
  if (Array.isArray(value)) return ['a', 1, true, {}, [1]];
  return ['a', 1, true, []];
}

/** Every path into `value` (objects, arrays and leaves), not the root itself. */
function pathsOf(value: Json, prefix: PathStep[] = []): PathStep[][] {
  const out: PathStep[][] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => out.push([...prefix, i], ...pathsOf(item, [...prefix, i])));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) out.push([...prefix, key], ...pathsOf(item, [...prefix, key]));
  }
  return out;
}

function valueAt(value: Json, at: PathStep[]): Json {
  return at.reduce<Json>((current, step) => (current as Record<string | number, Json>)[step], value);
}

function withValueAt(value: Json, at: PathStep[], replacement: Json): Json {
  const copy = JSON.parse(JSON.stringify(value)) as Json;
  const parent = valueAt(copy, at.slice(0, -1)) as Record<string | number, Json>;
  parent[at[at.length - 1]] = replacement;
  return copy;
}

/** How the server names a parameter: "ask.selection.startLine", "settings.include[0]". */
function nameOf(root: string, at: PathStep[]): string {
  return root + at.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
}

describe('LSP requests under random mistyped parameters', function () {
  this.timeout(240_000);
  const tempDir = useTempDir('server-fuzz');
  let client: TestLspClient;
  let repo: string;
  let indexed: IndexResult;

  before(async () => {
    let modelPath: string;
    ({ model: modelPath, repo } = writeServerFixture(tempDir()));
    client = new TestLspClient();
    await client.initialize({ modelPath, cacheDir: path.join(tempDir(), 'cache'), backend: 'cpu', maxAnswerTokens: 4 }, repo);
    indexed = await client.connection.sendRequest<IndexResult>(Methods.index, {});
  });

  after(async () => {
    await client.close();
  });

  it(`refuses ${REQUESTS} mistyped requests by name, keeps its status, and still answers`, async () => {
    const modelPath = writeServerModel(tempDir());
    // Valid params of every request; each round breaks one part of one of them.
    const templates: Array<{ method: string; root: string; params: Json }> = [
      { method: Methods.index, root: 'index', params: { folder: repo, force: false } },
      {
        method: Methods.ask,
        root: 'ask',
        params: {
          requestId: 'fuzz',
          question: 'What is MAX_ITEMS?',
          selection: { path: 'src/stock.ts', startLine: 1, endLine: 3, text: 'const a = 1;', surrounding: '// x', languageId: 'typescript' },
          activeFile: 'src/stock.ts',
          history: [{ question: 'Where?', answer: 'There.' }],
          folder: repo,
          maxTokens: 4,
          temperature: 0,
          snapkv: { window: 8, budget: 64, kernel: 3, pooling: 'max' },
        },
      },
      { method: Methods.cancel, root: 'cancel', params: { requestId: 'fuzz' } },
      { method: Methods.contextMap, root: 'contextMap', params: { requestId: 'fuzz' } },
      {
        method: Methods.configure,
        root: 'settings',
        params: {
          modelPath,
          backend: 'cpu',
          gpuMemoryGiB: 0,
          prefixInHostMemory: false,
          snapkv: { window: 32, budget: 2048, kernel: 7, pooling: 'max' },
          maxContextTokens: 4000,
          include: ['src/**'],
          exclude: ['*.log'],
          includeSecrets: ['.env'],
          cacheDir: path.join(tempDir(), 'cache'),
          compactMemoryLimit: 1_000_000_000,
          maxAnswerTokens: 4,
        },
      },
    ];
    const random = new SeededRandom(1616);
    const pick = <T>(items: readonly T[]): T => items[random.integer(0, items.length)];
    let refused = 0;
    for (let round = 0; round < REQUESTS; round++) {
      if (round % 20 === 0) await expectSteadyStatus();
      const template = pick(templates);
      let params: Json;
      let expectedName: string;
      if (random.uniform() < 0.15) {
        // Params that are not an object at all.
        params = pick<Json>(['text', 42, [1, 2], true]);
        expectedName = template.root;
      } else {
        const at = pick(pathsOf(template.params));
        params = withValueAt(template.params, at, pick(wrongValues(valueAt(template.params, at))));
        expectedName = nameOf(template.root, at);
      }
      try {
        await client.connection.sendRequest(template.method, params);
        assert.fail(`round ${round}: ${template.method} accepted ${JSON.stringify(params)}`);
      } catch (error) {
        assert.ok(error instanceof ResponseError, `round ${round}: ${String(error)}`);
        assert.strictEqual(error.code, ErrorCodes.InvalidParams, `round ${round}: ${error.message}`);
        assert.ok(error.message.startsWith(expectedName), `round ${round}: "${error.message}" does not name ${expectedName}`);
        refused++;
      }
    }
    assert.strictEqual(refused, REQUESTS);
    await expectSteadyStatus();
    const answer = await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'after-fuzz', question: 'What is MAX_ITEMS set to?' });
    assert.ok(answer.tokens > 0);
    assert.strictEqual(answer.stopReason === 'eos' || answer.stopReason === 'max-tokens', true);
    await expectSteadyStatus();
  });

  async function expectSteadyStatus(): Promise<void> {
    const status = await client.connection.sendRequest<StatusResult>(Methods.status);
    assert.ok(status.model, 'the model is still loaded');
    assert.strictEqual(status.folder, repo);
    assert.strictEqual(status.indexing, false);
    assert.strictEqual(status.tokensIndexed, indexed.tokens);
    assert.strictEqual(status.compactBytes, 0);
    assert.strictEqual(status.questionsRunning, 0);
    assert.strictEqual(status.questionsQueued, 0);
  }
});
