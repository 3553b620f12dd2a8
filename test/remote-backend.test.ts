// The remote backend against a real OpenAI-compatible server: `snapkv-code
// serve` on 127.0.0.1. Greedy answers are deterministic, so an answer that
// went through the remote backend must equal the one serve gives directly.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { ChatCompletion } from '../server/src/http/openai-wire';
import type { ServerSettings } from '../server/src/protocol';
import { RemoteBackend } from '../server/src/remote/remote-backend';
import { RemoteError } from '../server/src/remote/openai-client';
import { normalizeServerUrl, resolveRemoteSettings } from '../server/src/remote/remote-settings';
import { Session, UserError } from '../server/src/session/session';
import { resolveSettings } from '../server/src/session/settings';
import { FIXTURE_FILES, writeFixtureRepo, writeServerModel } from './helpers/server-fixtures';
import { ServeProcess, startServe } from './helpers/serve-process';
import { rejectsWith } from './helpers/async-helpers';
import { useTempDir } from './helpers/temp-dir';

const KEY = `key-${Math.random().toString(36).slice(2)}`;

describe('remote backend through an OpenAI-compatible endpoint (snapkv-code serve)', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('remote');
  let serve: ServeProcess;
  let localRepo: string;
  const sessions: Session[] = [];
  const session = (settings: ServerSettings): Session => {
    const s = new Session({ settings: { cacheDir: path.join(tempDir(), 'local-cache'), ...settings }, defaultFolder: localRepo });
    sessions.push(s);
    return s;
  };

  before(async () => {
    const model = writeServerModel(tempDir());
    const repo = path.join(tempDir(), 'repo');
    writeFixtureRepo(repo);
    localRepo = path.join(tempDir(), 'checkout');
    writeFixtureRepo(localRepo);
    const home = path.join(tempDir(), 'home');
    fs.mkdirSync(home);
    serve = await startServe([repo, '--model', model, '--budget', '64', '--window', '8', '--api-key', KEY], {
      HOME: home,
      SNAPKV_CACHE_DIR: path.join(tempDir(), 'cache'),
      OLLAMA_MODELS: path.join(home, 'none'),
    });
  });
  after(async () => {
    for (const s of sessions) await s.dispose();
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
});
