// Each failure code from where it arises to the action the editor offers: real
// failures of the engine and the server (a broken GGUF, an unknown
// architecture, a capped address space, a missing model, a cancelled
// question...) travel as ResponseError.data.code over a real LSP connection,
// and the extension's own chooser (extension/src/failure-advice.ts) picks the
// button from what arrives.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';
import { createMessageConnection, MessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { adviceFor, Failure, FailureAdvice, failureOf, ServerFailure } from '../extension/src/failure-advice';
import { Engine, EngineError, Model } from '../server/src/engine';
import { nativeAddon } from '../server/src/engine/native-addon';
import { answering } from '../server/src/lsp/request-errors';
import { ENGINE_ERROR_CODES, ErrorCode, isErrorCode, Methods, SERVER_ERROR_CODES } from '../server/src/protocol';
import { RemoteError } from '../server/src/remote/openai-client';
import { UserError } from '../server/src/session/session';
import { gguf } from './fixtures/gguf-values';
import { writeGguf } from './fixtures/gguf-writer';
import { buildTinyModel } from './fixtures/tiny-models';
import { TestLspClient } from './helpers/lsp-client';
import { serverModelSpec, writeFixtureRepo, writeLargeRepo, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

const ALL_CODES: readonly ErrorCode[] = [...ENGINE_ERROR_CODES, ...SERVER_ERROR_CODES];

/** The code a rejected request carried, checked to be a ResponseError as vscode-languageclient rejects with. */
async function codeOf(request: Promise<unknown>): Promise<{ code: ErrorCode | undefined; error: ResponseError<unknown> }> {
  try {
    await request;
  } catch (error) {
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(error)}`);
    const failure = failureOf(error);
    assert.ok(failure === undefined || isErrorCode(failure));
    return { code: failure as ErrorCode | undefined, error };
  }
  assert.fail('the request succeeded');
}

/** What the editor offers for this error: the chooser applied as the extension applies it (after RepoServer wraps it). */
function editorChoice(error: unknown): FailureAdvice {
  return adviceFor(failureOf(new ServerFailure(error instanceof Error ? error.message : String(error), failureOf(error))));
}

/** The choices the issue asks for by name; every other code has its own case in adviceFor. */
function assertChoice(code: Failure, advice: FailureAdvice): void {
  if (code === 'UNSUPPORTED_MODEL' || code === 'INVALID_FILE' || code === 'NO_MODEL' || code === 'MODEL_NOT_LOADED') {
    assert.strictEqual(advice.action?.command, 'selectModel', code);
  }
  if (code === 'OUT_OF_MEMORY') {
    assert.strictEqual(advice.action?.command, 'openSettings');
    assert.match(advice.hint ?? '', /memory/);
  }
  if (code === 'CANCELLED') assert.deepStrictEqual(advice, {});
}

function writeBrokenGguf(dir: string): string {
  const file = path.join(dir, 'broken.gguf');
  // The magic and a version, then a tensor count far past the end of the file.
  const bytes = Buffer.alloc(64, 0xff);
  bytes.write('GGUF', 0, 'ascii');
  bytes.writeUInt32LE(3, 4);
  fs.writeFileSync(file, bytes);
  return file;
}

/** The server's fixture model under another architecture name, which no engine code runs. */
function writeUnknownArchitecture(dir: string): string {
  const model = buildTinyModel(serverModelSpec());
  const metadata = model.metadata.map(([key, value]) => (key === 'general.architecture' ? ([key, gguf.string('gpt2')] as const) : ([key, value] as const)));
  const file = path.join(dir, 'gpt2.gguf');
  writeGguf(file, { metadata, tensors: model.tensors });
  return file;
}

describe('failure codes from the engine to the editor', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('error-codes');
  let modelPath: string;
  let longModelPath: string;
  let repo: string;
  let empty: string;
  let big: string;
  const reached = new Map<ErrorCode, string>();

  before(() => {
    modelPath = writeServerModel(tempDir());
    // The large repository whole (about 54K tokens): a prefill long enough to cancel in its middle.
    longModelPath = writeServerModel(fs.mkdtempSync(path.join(tempDir(), 'long-')), { contextLength: 65536 });
    repo = path.join(tempDir(), 'repo');
    writeFixtureRepo(repo);
    empty = path.join(tempDir(), 'empty');
    fs.mkdirSync(empty);
    big = path.join(tempDir(), 'big');
    writeLargeRepo(big, 40, 60);
  });

  describe('from real failures, through the language server', () => {
    let client: TestLspClient | undefined;
    afterEach(async () => {
      await client?.close();
      client = undefined;
    });

    async function indexWith(settings: Parameters<TestLspClient['initialize']>[0], options: ConstructorParameters<typeof TestLspClient>[0] = {}): Promise<ErrorCode | undefined> {
      client = new TestLspClient(options);
      await client.initialize({ cacheDir: path.join(tempDir(), 'cache'), maxAnswerTokens: 8, ...settings }, [repo, empty]);
      const { code } = await codeOf(client.connection.sendRequest(Methods.index, { folder: repo, force: true }));
      return code;
    }

    function expect(code: ErrorCode | undefined, wanted: ErrorCode, how: string): void {
      assert.strictEqual(code, wanted);
      assertChoice(wanted, adviceFor(code));
      reached.set(wanted, how);
    }

    it('INVALID_FILE: a broken GGUF', async () => {
      expect(await indexWith({ modelPath: writeBrokenGguf(tempDir()), backend: 'cpu' }), 'INVALID_FILE', 'server');
    });

    it('UNSUPPORTED_MODEL: an architecture the engine does not run', async () => {
      expect(await indexWith({ modelPath: writeUnknownArchitecture(tempDir()), backend: 'cpu' }), 'UNSUPPORTED_MODEL', 'server');
    });

    it('OUT_OF_MEMORY: a prompt cache larger than the address space the server may use', async () => {
      // 2^26 tokens of context: 32 GiB of KV cache for the prefix, under an 8 GB cap.
      const huge = writeServerModel(fs.mkdtempSync(path.join(tempDir(), 'huge-')), { contextLength: 1 << 26 });
      expect(await indexWith({ modelPath: huge, backend: 'cpu' }, { addressSpaceKiB: 8_000_000 }), 'OUT_OF_MEMORY', 'server');
    });

    it('BACKEND_UNAVAILABLE: the CUDA backend asked for where there is none', async function () {
      if (nativeAddon().buildInfo().cuda.usable) this.skip();
      expect(await indexWith({ modelPath, backend: 'cuda' }), 'BACKEND_UNAVAILABLE', 'server');
    });

    it('NO_MODEL: none set and none where Ollama and LM Studio keep them', async () => {
      const home = path.join(tempDir(), 'home');
      fs.mkdirSync(home, { recursive: true });
      expect(await indexWith({ backend: 'cpu' }, { env: { HOME: home, OLLAMA_MODELS: path.join(home, 'none') } }), 'NO_MODEL', 'server');
    });

    it('MODEL_NOT_LOADED: a model path that names no file', async () => {
      expect(await indexWith({ modelPath: path.join(tempDir(), 'no-such.gguf'), backend: 'cpu' }), 'MODEL_NOT_LOADED', 'server');
    });

    it('REMOTE_FAILED: an endpoint that does not answer', async () => {
      // Port 9 (discard) on loopback: refused at once.
      expect(await indexWith({ serverUrl: 'http://127.0.0.1:9/v1' }), 'REMOTE_FAILED', 'server');
    });

    it('QUESTION_TOO_LONG: a question past the model context', async () => {
      client = new TestLspClient();
      const small = writeServerModel(fs.mkdtempSync(path.join(tempDir(), 'small-')), { contextLength: 2048 });
      await client.initialize({ modelPath: small, backend: 'cpu', cacheDir: path.join(tempDir(), 'cache'), maxAnswerTokens: 8 }, [repo]);
      await client.connection.sendRequest(Methods.index, { folder: repo, force: true });
      const question = 'Which function adds items, and where is it called from? '.repeat(300);
      const { code } = await codeOf(client.connection.sendRequest(Methods.ask, { requestId: 'long', question }));
      expect(code, 'QUESTION_TOO_LONG', 'server');
    });

    describe('one server, several requests', () => {
      beforeEach(async () => {
        client = new TestLspClient();
        await client.initialize({ modelPath: longModelPath, backend: 'cpu', cacheDir: path.join(tempDir(), 'cache'), maxAnswerTokens: 8 }, [repo, empty, big, path.join(tempDir(), 'gone')]);
      });

      it('CANCELLED, INVALID_PARAMS, INVALID_REQUEST, INVALID_SETTINGS, WORKSPACE_UNREADABLE and NOTHING_TO_READ', async () => {
        const connection = client!.connection;
        // Indexing cancelled from its progress, as the editor's cancel button does, once the prefill has begun.
        const indexing = codeOf(connection.sendRequest(Methods.index, { folder: big, force: true }));
        const deadline = Date.now() + 60_000;
        while (!client!.progress.some((p) => p.value.kind === 'report' && /tokens\/s|left/.test(p.value.message ?? ''))) {
          if (Date.now() > deadline) assert.fail('no prefill progress');
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        await client!.cancelProgress(client!.createdProgressTokens[client!.createdProgressTokens.length - 1]);
        expect((await indexing).code, 'CANCELLED', 'server');

        await connection.sendRequest(Methods.index, { folder: repo });
        expect((await codeOf(connection.sendRequest(Methods.ask, { requestId: 'x' }))).code, 'INVALID_PARAMS', 'server');
        expect((await codeOf(connection.sendRequest(Methods.index, { folder: path.join(tempDir(), 'undeclared') }))).code, 'INVALID_REQUEST', 'server');
        expect((await codeOf(connection.sendRequest(Methods.configure, { snapkv: { kernel: 4 } }))).code, 'INVALID_SETTINGS', 'server');
        expect((await codeOf(connection.sendRequest(Methods.index, { folder: path.join(tempDir(), 'gone') }))).code, 'WORKSPACE_UNREADABLE', 'server');
        await connection.sendRequest(Methods.index, { folder: empty });
        expect((await codeOf(connection.sendRequest(Methods.ask, { requestId: 'z', question: 'What is here?', folder: empty }))).code, 'NOTHING_TO_READ', 'server');
      });
    });
  });

  describe('from real engine failures, through a JSON-RPC connection', () => {
    let model: Model;
    let server: MessageConnection;
    let client: MessageConnection;
    let failure: () => Promise<unknown>;

    before(async () => {
      model = await Engine.load(modelPath, { backend: 'cpu' });
      // The server's own error path (answering -> toResponseError) on one end, a client on the other.
      const up = new PassThrough();
      const down = new PassThrough();
      server = createMessageConnection(new StreamMessageReader(up), new StreamMessageWriter(down));
      client = createMessageConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
      server.onRequest('fail', () => answering(() => failure(), () => undefined, 'test'));
      server.listen();
      client.listen();
    });

    after(() => {
      model.dispose();
      server.dispose();
      client.dispose();
    });

    async function engineFailure(wanted: ErrorCode, fail: () => Promise<unknown>): Promise<void> {
      failure = fail;
      const { code, error } = await codeOf(client.sendRequest('fail'));
      assert.strictEqual(code, wanted, error.message);
      assertChoice(wanted, editorChoice(error));
      if (!reached.has(wanted)) reached.set(wanted, 'engine');
    }

    it('INVALID_ARGUMENT, CAPACITY_EXCEEDED, IO_ERROR, BUSY and DISPOSED', async () => {
      await engineFailure('INVALID_ARGUMENT', async () => {
        const prefix = await model.prefill([1, 2, 3]);
        try {
          for await (const _ of prefix.generate({ temperature: -1 })) break;
        } finally {
          prefix.dispose();
        }
      });
      await engineFailure('CAPACITY_EXCEEDED', async () => {
        const prefix = await model.prefill([1, 2, 3], { capacity: 5 });
        try {
          for await (const _ of prefix.generate({ maxTokens: 10 })) continue;
        } finally {
          prefix.dispose();
        }
      });
      await engineFailure('IO_ERROR', () => model.loadPrefix(path.join(tempDir(), 'no-such-cache.snapkvpc')));
      await engineFailure('BUSY', async () => {
        const prefix = await model.prefill([1, 2, 3]);
        const first = prefix.extend(Array.from({ length: 300 }, (_, i) => (i * 31) % 1000));
        try {
          await prefix.extend([4]);
        } finally {
          await first;
          prefix.dispose();
        }
      });
      await engineFailure('DISPOSED', async () => {
        const prefix = await model.prefill([1, 2, 3]);
        prefix.dispose();
        return prefix.stats();
      });
    });

    it('the codes no request reaches on this machine: the error the code belongs to, through the same path', async () => {
      // FINISHED and INTERNAL are addon states that the TypeScript API keeps out of reach; INDEX_INCOMPLETE needs an
      // update cancelled halfway; UNEXPECTED is any error no class claims. Each is thrown as its owner throws it.
      const thrown: Partial<Record<ErrorCode, () => Error>> = {
        FINISHED: () => new EngineError('FINISHED', 'this generation has finished'),
        INTERNAL: () => new EngineError('INTERNAL', 'internal engine error: vector::_M_range_check'),
        INDEX_INCOMPLETE: () => new UserError('the index is not complete: reindex the workspace', 'INDEX_INCOMPLETE'),
        UNEXPECTED: () => new TypeError('x is undefined'),
        // Where the machine has a GPU, the server test above loads on it instead.
        BACKEND_UNAVAILABLE: () => new EngineError('BACKEND_UNAVAILABLE', 'the CUDA backend is not in this build'),
        REMOTE_FAILED: () => new RemoteError('cannot reach http://127.0.0.1:9/v1'),
      };
      for (const [code, make] of Object.entries(thrown) as Array<[ErrorCode, () => Error]>) {
        await engineFailure(code, async () => {
          throw make();
        });
      }
    });
  });

  describe('the chooser', () => {
    it('every code reached a choice above, from a real failure wherever one can be made here', () => {
      const unreached = ALL_CODES.filter((code) => !reached.has(code));
      assert.deepStrictEqual(unreached, []);
      const realFailures = ALL_CODES.filter((code) => reached.get(code) !== undefined && !['FINISHED', 'INTERNAL', 'INDEX_INCOMPLETE', 'UNEXPECTED'].includes(code));
      assert.ok(realFailures.length >= ALL_CODES.length - 4, `${realFailures.length} of ${ALL_CODES.length}`);
    });

    it('has a choice for every failure, and the server stopping offers a restart', () => {
      for (const code of [...ALL_CODES, 'SERVER_STOPPED' as const, undefined]) assert.doesNotThrow(() => adviceFor(code));
      assert.strictEqual(adviceFor('SERVER_STOPPED').action?.command, 'restartServer');
      assert.strictEqual(adviceFor(undefined).action?.command, 'showLog');
    });

    it('reads only codes the protocol knows from ResponseError.data', () => {
      assert.strictEqual(failureOf(new ResponseError(-32803, 'x', { code: 'OUT_OF_MEMORY' })), 'OUT_OF_MEMORY');
      assert.strictEqual(failureOf(new ResponseError(-32803, 'x', { code: 'MADE_UP' })), undefined);
      assert.strictEqual(failureOf(new ResponseError(-32803, 'unsupported model, see gguf')), undefined, 'the message is never read');
      assert.strictEqual(failureOf(new Error('model')), undefined);
    });

    it('the engine codes are the ones the native code throws', () => {
      const root = path.join(__dirname, '..', '..');
      const sources = ['native/src/common/engine_error.cpp', ...fs.readdirSync(path.join(root, 'native/binding')).map((f) => `native/binding/${f}`)];
      const named = new Set<string>();
      for (const source of sources) {
        const text = fs.readFileSync(path.join(root, source), 'utf8');
        for (const match of text.matchAll(/(?:return|"code",|caught = \{)\s*"([A-Z_]+)"/g)) named.add(match[1]);
      }
      named.delete('CANCELLED'); // an AbortError in TypeScript, not an EngineError
      named.delete('UNKNOWN'); // error_code_name's default, for a value outside the enum
      assert.deepStrictEqual([...named].sort(), [...ENGINE_ERROR_CODES].sort());
    });
  });
});
