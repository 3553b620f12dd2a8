// The logic of the VS Code language-model tools (extension/src/repository-tools.ts)
// against a real language server over LSP, as RepoServer drives it in the editor;
// and package.json's tool declarations held to the shared definitions.
// (The vscode.lm adapter itself is exercised only in a real editor.)
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { ASK_REPOSITORY_TOOL, REPOSITORY_CONTEXT_TOOL, TOOL_INPUT_DESCRIPTIONS } from '../server/src/agent-tools';
import type { AskParams, AskResult, ContextParams, RepositoryContext } from '../server/src/protocol';
import { Methods } from '../server/src/protocol';
import {
  prepareAsk,
  prepareContext,
  readAskInput,
  readContextInput,
  RepositoryToolServer,
  runAskTool,
  runContextTool,
  ToolInputError,
} from '../extension/src/repository-tools';
import { TestLspClient } from './helpers/lsp-client';
import { FIXTURE_FILES, writeServerFixture } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

interface DeclaredTool {
  name: string;
  modelDescription: string;
  inputSchema: { properties: Record<string, { description: string }>; required: string[] };
}

/** RepoServer's part the tools use, over the test's LSP connection: cancelling an answer sends snapkv/cancel, a context request is cancelled with $/cancelRequest. */
class LspToolServer implements RepositoryToolServer<AbortSignal> {
  lastRequestId = '';
  private next = 0;
  constructor(private readonly client: TestLspClient) {}

  async ask(params: Omit<AskParams, 'requestId'>, _onDelta: (text: string) => void, signal?: AbortSignal): Promise<AskResult> {
    const requestId = `tool-${++this.next}`;
    this.lastRequestId = requestId;
    signal?.addEventListener('abort', () => void this.client.connection.sendRequest(Methods.cancel, { requestId }), { once: true });
    return this.client.connection.sendRequest<AskResult>(Methods.ask, { ...params, requestId } satisfies AskParams);
  }

  async context(params: Omit<ContextParams, 'requestId'>, signal?: AbortSignal): Promise<RepositoryContext> {
    const source = new CancellationTokenSource();
    signal?.addEventListener('abort', () => source.cancel(), { once: true });
    return this.client.connection.sendRequest<RepositoryContext>(Methods.context, { ...params, requestId: `context-${++this.next}` }, source.token);
  }
}

describe('VS Code language-model tools', function () {
  this.timeout(180_000);
  const tempDir = useTempDir('lm-tools');

  it('package.json declares both tools with the shared names, descriptions and inputs', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      contributes: { languageModelTools: DeclaredTool[] };
      engines: { vscode: string };
    };
    const declared = new Map(manifest.contributes.languageModelTools.map((t) => [t.name, t]));
    const ask = declared.get(ASK_REPOSITORY_TOOL.vscodeName);
    const context = declared.get(REPOSITORY_CONTEXT_TOOL.vscodeName);
    assert.ok(ask && context);
    assert.strictEqual(ask.modelDescription, ASK_REPOSITORY_TOOL.description);
    assert.strictEqual(context.modelDescription, REPOSITORY_CONTEXT_TOOL.description);
    assert.deepStrictEqual(ask.inputSchema.required, ['question']);
    assert.deepStrictEqual(context.inputSchema.required, ['question']);
    const descriptions = TOOL_INPUT_DESCRIPTIONS as Record<string, string>;
    for (const tool of [ask, context]) {
      for (const [key, property] of Object.entries(tool.inputSchema.properties)) assert.strictEqual(property.description, descriptions[key], `${tool.name}.${key}`);
    }
    assert.match(manifest.engines.vscode, /\^1\.(9[5-9]|\d{3})/, 'vscode.lm.registerTool is final from VS Code 1.95');
  });

  it('checks the input an agent sends and words the confirmation with the question', () => {
    assert.deepStrictEqual(readAskInput({ question: '  Where is addItem?  ', maxTokens: 20 }), { question: 'Where is addItem?', maxTokens: 20 });
    assert.throws(() => readAskInput({ question: '   ' }), ToolInputError);
    assert.throws(() => readAskInput({ question: 7 }), /needs a question/);
    assert.throws(() => readAskInput('Where?'), ToolInputError);
    assert.throws(() => readContextInput({ question: 'q', maxFiles: 0 }), /maxFiles must be a positive whole number/);
    assert.throws(() => readContextInput({ question: 'q', maxChars: 2.5 }), /maxChars/);
    const ask = prepareAsk({ question: 'Where is addItem?' });
    assert.match(ask.confirmation.message, /"Where is addItem\?"/);
    assert.match(ask.invocationMessage, /Where is addItem\?/);
    assert.match(prepareContext({ question: 'Where?' }).confirmation.title, /context/);
  });

  describe('against the language server', () => {
    let client: TestLspClient;
    let tools: LspToolServer;

    before(async () => {
      const { model: modelPath, repo } = writeServerFixture(tempDir());
      client = new TestLspClient();
      await client.initialize({ modelPath, cacheDir: path.join(tempDir(), 'cache'), backend: 'cpu', snapkv: { budget: 64, window: 8 } }, repo);
      tools = new LspToolServer(client);
    });
    after(async () => client?.close());

    it('ask: the answer with the kept files and timings', async () => {
      const text = await runAskTool(tools, readAskInput({ question: 'What is MAX_ITEMS set to?', maxTokens: 4 }));
      const answer = client.deltasOf(tools.lastRequestId).join('');
      assert.ok(answer.length > 0);
      assert.ok(text.startsWith(answer), 'the answer text comes first');
      assert.match(text, /Kept context \(share of the compressed cache\):\n- (README\.md|src\/\w+\.(ts|py)) \(\d+(\.\d)?%\): lines \d+/);
      assert.match(text, /4 tokens; compression \d+ ms/);
    });

    it('context: ranked files with the text of their kept lines, no answer', async () => {
      const text = await runContextTool(tools, readContextInput({ question: 'Where is addItem defined?', maxFiles: 2 }));
      const headings = [...text.matchAll(/^## (\S+) \(/gm)].map((m) => m[1]);
      assert.ok(headings.length >= 1 && headings.length <= 2, text);
      for (const heading of headings) {
        const file = FIXTURE_FILES.find((f) => f.path === heading);
        assert.ok(file, heading);
        // Every excerpt is a run of the file's own lines.
        const section = text.slice(text.indexOf(`## ${heading}`)).split('\n## ')[0];
        for (const match of section.matchAll(/lines (\d+)(?:-(\d+))?:\n```\n([\s\S]*?)\n```/g)) {
          const start = Number(match[1]);
          const end = Number(match[2] ?? match[1]);
          assert.strictEqual(match[3], file.text.split('\n').slice(start - 1, end).join('\n'));
        }
      }
      assert.match(text, /64 kept per layer and head/);
    });

    it('cancellation: a cancelled answer comes back marked incomplete', async () => {
      const controller = new AbortController();
      const running = runAskTool(tools, readAskInput({ question: 'List every file.', maxTokens: 4000 }), controller.signal);
      while (client.deltasOf(tools.lastRequestId).length === 0) await new Promise((r) => setTimeout(r, 20));
      controller.abort();
      const text = await running;
      assert.match(text, /\(cancelled: the answer is incomplete\)/);
      const tokens = Number(/(\d+) tokens; compression/.exec(text)?.[1]);
      assert.ok(tokens < 4000, `${tokens} tokens`);
    });
  });
});
