// `snapkv-code mcp` driven by the MCP SDK's own client over stdio, on a
// fixture model and folder: the tools listed, both called, progress while the
// first call indexes, a cancelled call, bad arguments as tool errors.
import * as assert from 'assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { RepositoryContext } from '../server/src/protocol';
import { FIXTURE_FILES, isolatedEnv, writeServerFixture } from './helpers/server-fixtures';
import { SNAPKV_BIN } from './helpers/serve-process';
import { useTempDir } from './helpers/temp-dir';

interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

function textOf(result: ToolResult): string {
  return result.content.map((c) => c.text ?? '').join('\n');
}

describe('snapkv-code mcp (MCP over stdio)', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('mcp');
  let client: Client;
  let transport: StdioClientTransport;
  let stderr = '';

  before(async () => {
    const { model, repo } = writeServerFixture(tempDir());
    transport = new StdioClientTransport({
      command: SNAPKV_BIN,
      args: ['mcp', repo, '--model', model, '--budget', '64', '--window', '8'],
      env: { PATH: process.env.PATH ?? '', ...isolatedEnv(tempDir()) },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    client = new Client({ name: 'snapkv-test', version: '1.0.0' });
    await client.connect(transport);
  });
  after(async () => client?.close());

  it('lists ask_repository and repository_context with their input schemas', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    assert.deepStrictEqual([...byName.keys()].sort(), ['ask_repository', 'repository_context']);
    assert.deepStrictEqual(byName.get('ask_repository')?.inputSchema.required, ['question']);
    assert.ok('max_files' in (byName.get('repository_context')?.inputSchema.properties ?? {}));
    assert.strictEqual(byName.get('ask_repository')?.annotations?.readOnlyHint, true);
  });

  it('ask_repository indexes with progress notifications, then answers with the kept files and timings', async () => {
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const result = (await client.callTool({ name: 'ask_repository', arguments: { question: 'What is MAX_ITEMS set to?', max_tokens: 5 } }, undefined, {
      onprogress: (p) => progress.push(p),
    })) as ToolResult;
    assert.ok(!result.isError, textOf(result));
    assert.ok(progress.length > 0, 'the first call indexes the folder and says so');
    assert.ok(progress.some((p) => /tokens/.test(p.message ?? '')), JSON.stringify(progress));
    const answer = result.structuredContent as { answer: string; tokens: number; kept: { path: string }[]; timings: { compressMs: number } };
    assert.strictEqual(answer.tokens, 5);
    assert.ok(answer.kept.length > 0);
    assert.ok(answer.timings.compressMs > 0);
    assert.match(textOf(result), /Kept context/);
    assert.ok(textOf(result).startsWith(answer.answer));
  });

  it('repository_context returns the kept lines with their text and no answer', async () => {
    const result = (await client.callTool({ name: 'repository_context', arguments: { question: 'Where is addItem defined?', max_files: 3 } })) as ToolResult;
    assert.ok(!result.isError, textOf(result));
    const context = result.structuredContent as unknown as RepositoryContext;
    assert.ok(context.files.length > 0 && context.files.length <= 3);
    assert.strictEqual(context.prompt.keptTokens, 64);
    for (let i = 1; i < context.files.length; i++) assert.ok(context.files[i - 1].share >= context.files[i].share, 'ranked by share');
    for (const file of context.files) {
      const source = FIXTURE_FILES.find((f) => f.path === file.path);
      assert.ok(source, file.path);
      const lines = source.text.split('\n');
      for (const excerpt of file.excerpts) {
        assert.strictEqual(excerpt.text, lines.slice(excerpt.startLine - 1, excerpt.endLine).join('\n'), `${file.path}:${excerpt.startLine}`);
        assert.ok(textOf(result).includes(excerpt.text));
      }
    }
  });

  it('a cancelled call stops its question, and the server keeps serving', async () => {
    const controller = new AbortController();
    const call = client.callTool({ name: 'ask_repository', arguments: { question: 'List every file.', max_tokens: 4000 } }, undefined, { signal: controller.signal });
    setTimeout(() => controller.abort(), 500);
    await assert.rejects(call);
    const deadline = Date.now() + 30_000;
    while (!/ask_repository cancelled by the client after (\d+) tokens/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const tokens = Number(/ask_repository cancelled by the client after (\d+) tokens/.exec(stderr)?.[1]);
    assert.ok(tokens < 4000, `stopped after ${tokens} of 4000 tokens; stderr: ${stderr}`);
    const after = (await client.callTool({ name: 'ask_repository', arguments: { question: 'What is CURRENCY?', max_tokens: 2 } })) as ToolResult;
    assert.ok(!after.isError, textOf(after));
  });

  it('a bad argument is a tool error, and a question that does not fit names its code', async () => {
    const wrongType = (await client.callTool({ name: 'ask_repository', arguments: { question: 42 } })) as ToolResult;
    assert.strictEqual(wrongType.isError, true);
    assert.match(textOf(wrongType), /question/);
    const blank = (await client.callTool({ name: 'repository_context', arguments: { question: '   ' } })) as ToolResult;
    assert.strictEqual(blank.isError, true);
    const overLimit = (await client.callTool({ name: 'ask_repository', arguments: { question: 'why '.repeat(9000) } })) as ToolResult;
    assert.match(textOf(overLimit), /^INVALID_PARAMS: ask\.question is too long/);
    // Under the question's character limit, over the tiny model's context.
    const huge = (await client.callTool({ name: 'ask_repository', arguments: { question: 'why '.repeat(7900) } })) as ToolResult;
    assert.strictEqual(huge.isError, true);
    assert.match(textOf(huge), /^QUESTION_TOO_LONG: the question does not fit/);
    assert.deepStrictEqual(Object.keys((huge.structuredContent as { error: object }).error).sort(), ['code', 'message']);
  });
});
