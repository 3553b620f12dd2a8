// The remote backend against a real OpenAI-compatible server: `snapkv-code
// serve` on 127.0.0.1. Greedy answers are deterministic, so an answer that
// went through the remote backend must equal the one serve gives directly.
import * as assert from 'assert';
import * as path from 'path';
import { Engine } from '../server/src/engine';
import type { ChatCompletion } from '../server/src/http/openai-wire';
import type { ServerSettings } from '../server/src/protocol';
import { estimateTokens } from '../server/src/remote/estimated-tokens';
import { RemoteBackend } from '../server/src/remote/remote-backend';
import { RemoteError } from '../server/src/remote/openai-client';
import { normalizeServerUrl, resolveRemoteSettings } from '../server/src/remote/remote-settings';
import { Session, UserError } from '../server/src/session/session';
import { QUESTION_RESERVE_TOKENS } from '../server/src/session/prompt';
import { SYSTEM_PROMPT } from '../server/src/session/question-text';
import { resolveSettings } from '../server/src/session/settings';
import { TextTokenizer } from '../server/src/text/tokenizer';
import { packWorkspace } from '../server/src/workspace';
import { FIXTURE_FILES, isolatedEnv, writeFixtureRepo, writeServerFixture } from './helpers/server-fixtures';
import { ServeProcess, startServe } from './helpers/serve-process';
import { rejectsWith } from './helpers/async-helpers';
import { startTokenizeProxy, TokenizeProxy } from './helpers/tokenize-proxy';
import { useTempDir } from './helpers/temp-dir';

const KEY = `key-${Math.random().toString(36).slice(2)}`;

describe('remote backend through an OpenAI-compatible endpoint (snapkv-code serve)', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('remote');
  let serve: ServeProcess;
  let localRepo: string;
  /** The tokens the fixture model's tokenizer gives the packed repository: what the endpoint's count must be. */
  let realRepositoryTokens: number;
  const proxies: TokenizeProxy[] = [];
  const sessions: Session[] = [];
  const session = (settings: ServerSettings): Session => {
    const s = new Session({ settings: { cacheDir: path.join(tempDir(), 'local-cache'), ...settings }, defaultFolder: localRepo });
    sessions.push(s);
    return s;
  };

  before(async () => {
    const { model, repo } = writeServerFixture(tempDir());
    const engineModel = await Engine.load(model, { backend: 'cpu' });
    const tokenizer = TextTokenizer.fromMetadata(engineModel.metadata());
    engineModel.dispose();
    localRepo = path.join(tempDir(), 'checkout');
    writeFixtureRepo(localRepo);
    realRepositoryTokens = tokenizer.encode(`${SYSTEM_PROMPT}\n\n`).length + (await packWorkspace(localRepo, tokenizer)).totalTokens;
    serve = await startServe([repo, '--model', model, '--budget', '64', '--window', '8', '--api-key', KEY], isolatedEnv(tempDir()));
  });
  after(async () => {
    for (const s of sessions) await s.dispose();
    for (const proxy of proxies) await proxy.close();
    await serve?.stop();
  });

  const direct = async (question: string, maxTokens: number): Promise<ChatCompletion> => {
    const response = await fetch(`${serve.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: question }], max_tokens: maxTokens }),
    });
    return (await response.json()) as ChatCompletion;
  };

  it('normalizes the endpoint URL and refuses what is not one', () => {
    assert.strictEqual(normalizeServerUrl('http://gpu-box:8000'), 'http://gpu-box:8000/v1');
    assert.strictEqual(normalizeServerUrl('http://gpu-box:8000/v1/'), 'http://gpu-box:8000/v1');
    assert.strictEqual(normalizeServerUrl('https://h/api/v1?x=1'), 'https://h/api/v1');
    assert.throws(() => normalizeServerUrl('ftp://h'), /http:\/\/ or https:\/\//);
    assert.throws(() => normalizeServerUrl('http://u:p@h'), /serverApiKey/);
    const base = resolveRemoteSettings({ serverUrl: 'http://h:1', serverApiKey: 'k' }, undefined);
    assert.deepStrictEqual(resolveRemoteSettings({ serverModel: 'm' }, base), { url: 'http://h:1/v1', apiKey: 'k', model: 'm' });
    assert.strictEqual(resolveRemoteSettings({ serverUrl: '' }, base), undefined, 'an empty URL turns the remote backend off');
  });

  it('answers through serve as serve answers directly, with its kept files and token counts, and says which backend answers', async () => {
    const s = session({ serverUrl: serve.origin, serverApiKey: KEY });
    await s.prepare();
    const remote = s.status().remote;
    assert.ok(remote);
    assert.strictEqual(remote.url, serve.url);
    assert.match(remote.model ?? '', /^tiny-qwen2/);
    assert.strictEqual(remote.snapkv, true, 'serve holds its own repository and compresses with SnapKV');
    assert.strictEqual(s.status().model, null, 'no local model is loaded');

    const question = 'Where is addItem defined?';
    const deltas: string[] = [];
    const result = await s.ask({ requestId: 'r1', question, maxTokens: 6 }, { onDelta: (t) => deltas.push(t) });
    const expected = await direct(question, 6);
    assert.strictEqual(result.text, expected.choices[0].message.content);
    assert.strictEqual(deltas.join(''), result.text);
    assert.strictEqual(result.tokens, 6);
    assert.strictEqual(result.stopReason, 'max-tokens');
    assert.deepStrictEqual(result.references, expected.snapkv?.kept);
    assert.strictEqual(result.prompt?.keptTokens, 64);
    assert.strictEqual(result.prompt?.promptTokens, expected.usage.prompt_tokens);
    assert.strictEqual(result.prompt?.cachedTokens, expected.snapkv?.repositoryTokens);
    assert.strictEqual(s.status().files, FIXTURE_FILES.length, 'the status shows the repository serve holds');
    assert.strictEqual(s.status().tokensIndexed, expected.snapkv?.repositoryTokens);
  });

  it('a cancelled question stops the endpoint generating', async () => {
    const s = session({ serverUrl: serve.url, serverApiKey: KEY });
    const result = await s.ask({ requestId: 'long', question: 'List every file.', maxTokens: 4000 }, { onDelta: () => s.cancel('long') });
    assert.strictEqual(result.stopReason, 'cancelled');
    assert.ok(result.text.length > 0, 'the text until the cancel is kept');
    await serve.waitForLog(/went away after \d+ tokens; generation stopped/, 30_000);
    const tokens = Number(/went away after (\d+) tokens/.exec(serve.stderr())?.[1]);
    assert.ok(tokens < 4000, `serve stopped after ${tokens} of 4000 tokens`);
  });

  it('refuses repository context: SnapKV does not run behind a remote endpoint', async () => {
    const s = session({ serverUrl: serve.url, serverApiKey: KEY });
    await rejectsWith(s.context({ requestId: 'c', question: 'Where is addItem?' }), UserError, /SnapKV.*remote endpoint/);
  });

  it('sends a plain endpoint the packed repository as a stable prefix, the same bytes for every question', async () => {
    const settings = resolveSettings({ serverUrl: serve.url, serverApiKey: KEY });
    assert.ok(settings.remote);
    const backend = new RemoteBackend(settings.remote, () => undefined, { sendRepository: 'always' });
    const index = await backend.index(localRepo, settings, {});
    assert.strictEqual(index.files, FIXTURE_FILES.length);
    assert.deepStrictEqual(backend.indexed, { files: FIXTURE_FILES.length, tokens: index.tokens });
    assert.strictEqual(backend.status().snapkv, false);
    assert.match(backend.status().note, /SnapKV does not apply/);

    const signal = new AbortController().signal;
    const one = await backend.ask({ requestId: 'p1', question: 'Where is addItem?', folder: localRepo, maxTokens: 3 }, settings, { signal });
    assert.strictEqual(one.tokens, 3);
    // The endpoint read our repository: serve's own prompt plus the whole packed folder again.
    const own = (await direct('Where is addItem?', 1)).usage.prompt_tokens;
    assert.ok((one.prompt?.promptTokens ?? 0) > own + 150, `${one.prompt?.promptTokens} tokens sent against ${own} of serve's own`);

    const repository = backend.repository;
    assert.ok(repository);
    const a = backend.messagesFor({ requestId: 'a', question: 'Where is addItem?' }, repository);
    const b = backend.messagesFor({ requestId: 'b', question: 'What does report print?', history: [{ question: 'Hi?', answer: 'Hello.' }] }, repository);
    assert.deepStrictEqual(a[0], b[0], 'the repository message does not depend on the question or the history');
    assert.strictEqual(a[0].role, 'system');
    for (const file of FIXTURE_FILES) assert.ok(String(a[0].content).includes(file.text), file.path);
    assert.deepStrictEqual(a.slice(1), [{ role: 'user', content: 'Where is addItem?' }], 'the question comes last');
    assert.deepStrictEqual(b.map((m) => m.role), ['system', 'user', 'assistant', 'user']);
    assert.deepStrictEqual(backend.messagesFor({ requestId: 'c', question: 'q' }, undefined), [{ role: 'user', content: 'q' }], 'serve gets the conversation only');
  });

  it('says what to do when the key is wrong or the model is not served', async () => {
    const wrongKey = session({ serverUrl: serve.url, serverApiKey: 'nope' });
    await rejectsWith(wrongKey.ask({ requestId: 'k', question: 'Where is addItem?' }), RemoteError, /401.*serverApiKey/);
    assert.match(wrongKey.status().remote?.problem ?? '', /401/);
    const wrongModel = session({ serverUrl: serve.url, serverApiKey: KEY, serverModel: 'qwen-1000b' });
    await rejectsWith(wrongModel.prepare(), RemoteError, /does not serve model "qwen-1000b".*serverModel/);
  });
  /** A backend that sends the repository to `url`, as it would to vLLM or llama-server, with its log lines. */
  const plainBackend = (url: string): { backend: RemoteBackend; log: string[] } => {
    const log: string[] = [];
    const remote = resolveRemoteSettings({ serverUrl: url, serverApiKey: KEY }, undefined);
    assert.ok(remote);
    return { backend: new RemoteBackend(remote, (line) => log.push(line), { sendRepository: 'always' }), log };
  };
  const settingsFor = (url: string, maxContextTokens?: number) => resolveSettings({ serverUrl: url, serverApiKey: KEY, ...(maxContextTokens ? { maxContextTokens } : {}) });
  /** Over the fixture model's 8192-token context by the endpoint's count (Qwen reads one digit per token), a third of that by the estimate. */
  const TOO_LONG = '7'.repeat(9000);

  it("counts the packed repository and the question with the endpoint's tokenizer (serve's POST /tokenize, vLLM's shape)", async () => {
    const { backend, log } = plainBackend(serve.url);
    const index = await backend.index(localRepo, settingsFor(serve.url), {});
    const counting = backend.status().tokenCounting;
    assert.strictEqual(counting?.source, 'endpoint');
    assert.match(counting.detail, /POST http:\/\/127\.0\.0\.1:\d+\/tokenize, vllm request shape/);
    assert.ok(log.some((line) => /token counts for .*endpoint's tokenizer/.test(line)), log.join('\n'));
    assert.strictEqual(index.tokens, realRepositoryTokens, 'the model tokenizer\'s count, not an estimate');
    const system = backend.repository?.system ?? '';
    assert.ok(estimateTokens(system) > index.tokens + 20, `the estimate (${estimateTokens(system)}) would have said more than ${index.tokens}`);

    const signal = new AbortController().signal;
    const answered = await backend.ask({ requestId: 'count', question: 'Where is addItem?', folder: localRepo, maxTokens: 2 }, settingsFor(serve.url), { signal });
    assert.strictEqual(answered.tokens, 2);
    assert.strictEqual(answered.prompt?.repositoryTokens, realRepositoryTokens, 'the repository as the endpoint counts it');
    // Too long by the endpoint's count and its context (8192): refused here, before the repository travels.
    const refused = await rejectsWith(
      backend.ask({ requestId: 'long', question: TOO_LONG, folder: localRepo, maxTokens: 2 }, settingsFor(serve.url), { signal }),
      RemoteError,
      /does not fit: .* over the endpoint's context of 8192 tokens \(counted by the endpoint's tokenizer/,
    );
    assert.strictEqual(refused.code, 'QUESTION_TOO_LONG');

    // The budget decides by the endpoint's count: a limit that holds the repository exactly keeps every file.
    const exact = await backend.index(localRepo, settingsFor(serve.url, QUESTION_RESERVE_TOKENS + realRepositoryTokens), {});
    assert.strictEqual(exact.files, FIXTURE_FILES.length);
    assert.deepStrictEqual(exact.leftOut, []);
    const tight = await backend.index(localRepo, settingsFor(serve.url, QUESTION_RESERVE_TOKENS + realRepositoryTokens - 1), {});
    assert.strictEqual(tight.files, FIXTURE_FILES.length - 1, 'one token less leaves a file out');
  });

  it("counts in llama-server's shape ({content} -> {tokens}) when the vLLM shape gets no tokens", async () => {
    const proxy = await startTokenizeProxy(serve.url, 'llama.cpp');
    proxies.push(proxy);
    const { backend } = plainBackend(proxy.url);
    const index = await backend.index(localRepo, settingsFor(proxy.url), {});
    assert.match(backend.status().tokenCounting?.detail ?? '', /llama\.cpp request shape/);
    assert.strictEqual(index.tokens, realRepositoryTokens);
    const [first, second] = proxy.tokenizeBodies as Array<Record<string, unknown>>;
    assert.ok('prompt' in first && !('content' in first), 'the vLLM shape is tried first');
    assert.ok('content' in second, 'then llama-server\'s');
    assert.strictEqual(second.add_special, false, 'no BOS in the counts of pieces');
  });

  it('falls back to the estimate where the endpoint offers no tokenizer (404, as Ollama), says so, and probes once', async () => {
    const proxy = await startTokenizeProxy(serve.url, 'absent');
    proxies.push(proxy);
    const { backend, log } = plainBackend(proxy.url);
    const index = await backend.index(localRepo, settingsFor(proxy.url), {});
    const counting = backend.status().tokenCounting;
    assert.strictEqual(counting?.source, 'estimate');
    assert.match(counting.detail, /estimated at one token per 3 characters: POST http:\/\/127\.0\.0\.1:\d+\/tokenize does not tokenize \(vllm shape: answered 404; llama\.cpp shape: answered 404\)/);
    assert.ok(log.some((line) => /estimated/.test(line)), log.join('\n'));
    assert.strictEqual(index.tokens, estimateTokens(backend.repository?.system ?? ''));
    assert.strictEqual(proxy.tokenizeBodies.length, 2, 'both shapes tried');

    // The same limit that held the repository by the endpoint's count leaves files out by the estimate.
    const tight = await backend.index(localRepo, settingsFor(proxy.url, QUESTION_RESERVE_TOKENS + realRepositoryTokens), {});
    assert.ok(tight.files < FIXTURE_FILES.length, `${tight.files} files packed by the estimate`);
    assert.strictEqual(proxy.tokenizeBodies.length, 2, 'the endpoint is probed once');

    const signal = new AbortController().signal;
    const answered = await backend.ask({ requestId: 'est', question: 'Where is addItem?', folder: localRepo, maxTokens: 2 }, settingsFor(proxy.url), { signal });
    assert.strictEqual(answered.tokens, 2);
    assert.ok((answered.prompt?.promptTokens ?? 0) > 0, 'the prompt tokens as the endpoint reported them');
    // The estimate refuses nothing (it cannot know): the endpoint judges, and its refusal, an HTTP 400 before any stream, is the error.
    const refused = await rejectsWith(
      backend.ask({ requestId: 'long', question: TOO_LONG, folder: localRepo, maxTokens: 2 }, settingsFor(proxy.url), { signal }),
      RemoteError,
      /chat\/completions answered 400: QUESTION_TOO_LONG: the question does not fit/,
    );
    assert.strictEqual(refused.status, 400);
    assert.strictEqual(refused.code, 'REMOTE_FAILED');
  });
});
