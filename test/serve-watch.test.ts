// `snapkv-code serve` follows its folder: a changed, added or deleted file is
// re-indexed after the changes settle; /health says "reindexing" meanwhile; an
// answer already streaming finishes; the next question reads the new files.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { ChatCompletion, ModelList } from '../server/src/http/openai-wire';
import { FIXTURE_FILES, isolatedEnv, writeServerFixture } from './helpers/server-fixtures';
import { ServeProcess, sseData, startServe } from './helpers/serve-process';
import { useTempDir } from './helpers/temp-dir';

interface Health {
  status: string;
  files: number;
  repositoryTokens: number;
}

describe('snapkv-code serve: watching the folder', function () {
  this.timeout(180_000);
  const tempDir = useTempDir('serve-watch');
  let serve: ServeProcess;
  let repo: string;

  before(async () => {
    let model: string;
    ({ model, repo } = writeServerFixture(tempDir()));
    serve = await startServe([repo, '--model', model, '--budget', '64', '--window', '8'], isolatedEnv(tempDir()));
  });
  after(async () => serve?.stop());

  const health = async (): Promise<Health> => (await (await fetch(`${serve.origin}/health`)).json()) as Health;
  const ask = async (question: string): Promise<ChatCompletion> => {
    const response = await fetch(`${serve.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: question }], max_tokens: 2 }),
    });
    assert.strictEqual(response.status, 200);
    return (await response.json()) as ChatCompletion;
  };
  /** Polls /health until the index is back to "ok" with other numbers than `before`; returns every state seen. */
  const waitForReindex = async (before: Health): Promise<{ after: Health; seen: Set<string> }> => {
    const seen = new Set<string>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = await health();
      seen.add(now.status);
      if (now.status === 'ok' && (now.repositoryTokens !== before.repositoryTokens || now.files !== before.files)) return { after: now, seen };
      assert.ok(Date.now() < deadline, `no re-index within 60 s; last health ${JSON.stringify(now)}; stderr:\n${serve.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  it('re-indexes a changed and an added file; the stream in flight finishes; the next answer reads the new files', async () => {
    const first = await health();
    assert.strictEqual(first.status, 'ok');
    assert.strictEqual(first.files, FIXTURE_FILES.length);
    assert.match(serve.stderr(), /watching \d+ folders of .* for changes/);
    const question = 'Where is TAX_RATE defined?';
    const before = await ask(question);
    assert.strictEqual(before.snapkv?.repositoryTokens, first.repositoryTokens);

    // A long answer is streaming while the files change, and goes on streaming through the re-index.
    const streaming = await fetch(`${serve.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'List every file.' }], max_tokens: 800, stream: true }),
    });
    const reader = streaming.body!.getReader();
    let streamed = '';
    let streamEnded: number | undefined;
    const draining = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        streamed += Buffer.from(value).toString();
      }
      streamEnded = performance.now();
    })();
    while (!/"content":"[^"]/.test(streamed)) await new Promise((resolve) => setTimeout(resolve, 10));

    fs.appendFileSync(path.join(repo, 'src/config.ts'), 'export const TAX_RATE = 0.21;\n');
    fs.writeFileSync(path.join(repo, 'src/tax.ts'), "import { TAX_RATE } from './config';\n\nexport const withTax = (price: number): number => price * (1 + TAX_RATE);\n");
    const { after, seen } = await waitForReindex(first);
    const reindexed = performance.now();
    assert.strictEqual(after.files, FIXTURE_FILES.length + 1);
    assert.ok(after.repositoryTokens > first.repositoryTokens);
    assert.match(serve.stderr(), /files changed in .*: re-indexing/);
    assert.match(serve.stderr(), /re-indexed: 5 files, [\d,]+ tokens \(incremental, \d+ prefilled/);
    console.log(`      health while re-indexing: ${[...seen].join(' -> ')}; ${first.repositoryTokens} -> ${after.repositoryTokens} tokens`);

    await draining;
    assert.ok(streamEnded !== undefined && streamEnded > reindexed, 'the answer was still streaming when the new index was in');
    const events = sseData(streamed);
    assert.strictEqual(events[events.length - 1], '[DONE]', 'the answer in flight ended normally');
    assert.ok(!events.some((e) => e.includes('"error"')), 'with no error');
    assert.ok(events.some((e) => e.includes('"finish_reason":"length"')), 'all 800 tokens');

    const changed = await ask(question);
    assert.strictEqual(changed.snapkv?.repositoryTokens, after.repositoryTokens, 'the new question reads the new index');
    // The same question, so the same suffix: the prompt grew by exactly what the repository grew.
    assert.strictEqual(changed.usage.prompt_tokens - after.repositoryTokens, before.usage.prompt_tokens - first.repositoryTokens);
    const listed = (await (await fetch(`${serve.url}/models`)).json()) as ModelList;
    assert.strictEqual(listed.data[0].snapkv?.files, FIXTURE_FILES.length + 1);
  });

  it('re-indexes a deleted file and a file in a new folder', async () => {
    const first = await health();
    fs.rmSync(path.join(repo, 'src/tax.ts'));
    const { after } = await waitForReindex(first);
    assert.strictEqual(after.files, FIXTURE_FILES.length);

    fs.mkdirSync(path.join(repo, 'lib/util'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'lib/util/round.ts'), 'export const round2 = (n: number): number => Math.round(n * 100) / 100;\n');
    const { after: added } = await waitForReindex(after);
    assert.strictEqual(added.files, FIXTURE_FILES.length + 1);
    // The new folder is watched from then on.
    fs.appendFileSync(path.join(repo, 'lib/util/round.ts'), 'export const round0 = Math.round;\n');
    const { after: edited } = await waitForReindex(added);
    assert.ok(edited.repositoryTokens > added.repositoryTokens);
  });
});
