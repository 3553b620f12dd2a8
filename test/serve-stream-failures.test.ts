// Streamed chat requests to `snapkv-code serve` over real sockets, where they
// fail: a failure before the answer begins gets the HTTP status and JSON error
// a plain request gets (OpenAI clients take a 200 for success), the stream
// opens once the question has passed its checks, a failure after that is an
// event in the stream, and a client that leaves before the stream opened
// stops its question. The server runs in this process, so that its session
// can be given a memory limit that makes questions wait their turn.
import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { OpenAiServer } from '../server/src/http/openai-server';
import type { ChatCompletionChunk, WireError } from '../server/src/http/openai-wire';
import type { ServerSettings } from '../server/src/protocol';
import { Session } from '../server/src/session/session';
import { until } from './helpers/async-helpers';
import { writeLargeRepo, writeServerFixture, writeServerModel } from './helpers/server-fixtures';
import { sseData } from './helpers/serve-process';
import { useTempDir } from './helpers/temp-dir';

interface Served {
  url: string;
  session: Session;
  logged: string[];
  close(): Promise<void>;
}

async function serveSession(session: Session): Promise<Served> {
  const logged: string[] = [];
  const server = new OpenAiServer(session, { maxConcurrent: 4, maxRequestBytes: 1024 * 1024, log: (line) => logged.push(line) });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}/v1`,
    session,
    logged,
    close: async () => {
      session.cancelAll();
      await server.close();
      await session.dispose();
    },
  };
}

const post = (served: Served, body: unknown, signal?: AbortSignal): Promise<Response> =>
  fetch(`${served.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });

const question = (text: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ messages: [{ role: 'user', content: text }], max_tokens: 6, ...extra });

/** Reads a stream until its first piece of answer text. */
async function firstText(response: Response): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const reader = response.body!.getReader();
  let seen = '';
  while (!/"content":"[^"]/.test(seen)) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream ended before any text');
    seen += Buffer.from(value).toString();
  }
  return reader;
}

describe('serve: streamed requests that fail, and when the stream opens', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('serve-stream-failures');
  let model: string;
  let repo: string;
  let served: Served;

  const settings = (cache: string, more: ServerSettings = {}): ServerSettings => ({
    modelPath: model,
    cacheDir: path.join(tempDir(), cache),
    backend: 'cpu',
    // Room for long answers (up to 8 times this): enough to ask for more than the context holds.
    maxAnswerTokens: 2048,
    snapkv: { budget: 64, window: 8 },
    ...more,
  });

  before(async () => {
    ({ model, repo } = writeServerFixture(tempDir()));
    // A memory limit below any question's: each question runs alone, the next waits for its turn.
    const session = new Session({ settings: settings('cache', { compactMemoryLimit: 1 }), defaultFolder: repo });
    await session.indexFolder();
    served = await serveSession(session);
  });
  after(async () => served?.close());

  it('answers a streamed question that does not fit the context with the status and error a plain one gets, not a 200', async () => {
    const tooLong = question('Where is addItem defined?', { max_tokens: 9000 });
    const plain = await post(served, tooLong);
    const streamed = await post(served, { ...tooLong, stream: true });
    assert.strictEqual(plain.status, 400);
    assert.strictEqual(streamed.status, 400);
    assert.match(streamed.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await streamed.json()) as WireError;
    assert.match(body.error.message, /^QUESTION_TOO_LONG: the question does not fit/);
    assert.strictEqual(body.error.type, 'invalid_request_error');
    assert.deepStrictEqual(body, (await plain.json()) as WireError);
  });

  it('streams an answer that begins: the role first, then text, the finish and [DONE]', async () => {
    const response = await post(served, question('Where is addItem defined?', { stream: true }));
    assert.strictEqual(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = sseData(await response.text());
    assert.strictEqual(events[events.length - 1], '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as ChatCompletionChunk);
    assert.deepStrictEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.ok(chunks.some((c) => (c.choices[0]?.delta.content ?? '') !== ''), 'some text');
    assert.strictEqual(chunks[chunks.length - 1].choices[0].finish_reason, 'length');
  });

  it('sends no headers while a streamed question waits for its turn, and stops it when the client leaves then', async () => {
    const running = new AbortController();
    const first = await post(served, question('List every file.', { stream: true, max_tokens: 4000 }), running.signal);
    const reader = await firstText(first);
    try {
      const waiting = new AbortController();
      let answered = false;
      const second = post(served, question('Where is addItem defined?', { stream: true }), waiting.signal).then(
        () => (answered = true),
        () => undefined,
      );
      await until('the second question waits', () => served.session.status().questionsQueued === 1, 30_000, 5);
      // Its turn has not come, so nothing about its answer is known yet: no status either.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.strictEqual(answered, false, 'headers came for a question still waiting for its turn');
      waiting.abort();
      await second;
      await until('the second question has left the queue', () => served.session.status().questionsQueued === 0, 30_000, 5);
      assert.strictEqual(served.session.status().questionsRunning, 1, 'the first question still runs');
      await until('the server says why it stopped', () => served.logged.some((line) => /the client went away after 0 tokens; generation stopped/.test(line)), 30_000, 5);
    } finally {
      running.abort();
      await reader.cancel().catch(() => undefined);
    }
    await until('no question runs', () => served.session.status().questionsRunning === 0, 30_000, 5);
  });

  it('fails a streamed question with the status a plain one gets when the model cannot be loaded', async () => {
    const broken = path.join(tempDir(), 'broken.gguf');
    fs.writeFileSync(broken, 'not a model');
    const noModel = await serveSession(new Session({ settings: settings('broken-cache', { modelPath: broken }), defaultFolder: repo }));
    try {
      const plain = await post(noModel, question('Where is addItem defined?'));
      const streamed = await post(noModel, question('Where is addItem defined?', { stream: true }));
      assert.strictEqual(plain.status, 500);
      assert.strictEqual(streamed.status, 500);
      assert.match(streamed.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await streamed.json()) as WireError;
      assert.match(body.error.message, /^INVALID_FILE: .*broken\.gguf' is not a GGUF file/);
      assert.strictEqual(body.error.type, 'server_error');
      assert.deepStrictEqual(body, (await plain.json()) as WireError);
    } finally {
      await noModel.close();
    }
  });

  it('sends a failure after the answer began as an event in the stream, then [DONE]', async () => {
    // An upstream endpoint that begins an answer and fails in the middle of it (as a GPU running out of
    // memory would): serve answers through it (setting serverUrl), so the failure comes after text was sent.
    const upstream = http.createServer((req, res) => {
      if (req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'upstream', object: 'model', created: 0, owned_by: 'test', snapkv: { repository: 'repo', files: 4, repositoryTokens: 100 } }] }));
        return;
      }
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ id: 'u', object: 'chat.completion.chunk', created: 0, model: 'upstream', choices: [{ index: 0, delta: { content: 'Half an ans' }, finish_reason: null }] })}\n\n`);
      res.end(`data: ${JSON.stringify({ error: { message: 'out of memory on the GPU', type: 'server_error', code: '500' } })}\n\n`);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const address = upstream.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const remote = await serveSession(new Session({ settings: { cacheDir: path.join(tempDir(), 'remote-cache'), serverUrl: `http://127.0.0.1:${port}/v1` }, defaultFolder: repo }));
    try {
      const response = await post(remote, question('Where is addItem defined?', { stream: true }));
      assert.strictEqual(response.status, 200);
      const events = sseData(await response.text());
      assert.strictEqual(events[events.length - 1], '[DONE]');
      const parsed = events.slice(0, -1).map((e) => JSON.parse(e) as Partial<ChatCompletionChunk> & Partial<WireError>);
      assert.strictEqual(parsed.map((e) => e.choices?.[0]?.delta.content ?? '').join(''), 'Half an ans');
      const failure = parsed[parsed.length - 1].error;
      assert.ok(failure, 'the last event before [DONE] is the error');
      assert.match(failure.message, /^REMOTE_FAILED: .*out of memory on the GPU/);
    } finally {
      await remote.close();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });

  it('keeps a one-shot stream busy while the repository is prefilled: a comment saying how far, before the text', async () => {
    // Eight layers of four KV heads and a few thousand tokens: a prefix cache of several MiB, one-shot a third of it
    // (server-one-shot.test.ts), so a host memory limit between the two makes every question read the whole repository.
    const deep = writeServerModel(tempDir(), { layers: 8, heads: 4, kvHeads: 4, seed: 11 });
    const large = path.join(tempDir(), 'large');
    writeLargeRepo(large, 10, 20);
    const oneShotSettings = (cache: string, more: ServerSettings = {}): ServerSettings =>
      settings(cache, { modelPath: deep, maxAnswerTokens: 12, snapkv: { window: 16, budget: 256 }, ...more });
    const cached = new Session({ settings: oneShotSettings('large-cache'), defaultFolder: large });
    await cached.indexFolder();
    const prefixBytes = cached.status().prefixBytes;
    await cached.dispose();
    const session = new Session({ settings: oneShotSettings('one-shot-cache', { hostMemoryGiB: (prefixBytes * 0.75) / 1024 ** 3 }), defaultFolder: large });
    await session.indexFolder();
    assert.strictEqual(session.status().answerMode?.mode, 'one-shot');
    const oneShot = await serveSession(session);
    try {
      const response = await post(oneShot, question('Which module defines value_3_7?', { stream: true }));
      assert.strictEqual(response.status, 200);
      const events = (await response.text()).split('\n\n').filter((e) => e !== '');
      const comment = events.findIndex((e) => e.startsWith(':'));
      assert.ok(comment > 0, `a comment after the role chunk: ${JSON.stringify(events.slice(0, 3))}`);
      assert.match(events[comment], /^: prefilled \d+ of \d+ tokens$/);
      const firstText = events.findIndex((e) => /"content":"[^"]/.test(e));
      assert.ok(firstText < 0 || comment < firstText, 'the comment came before the text');
      assert.strictEqual(events[events.length - 1], 'data: [DONE]');
    } finally {
      await oneShot.close();
    }
  });
});
