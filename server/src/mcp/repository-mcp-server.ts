// `snapkv-code mcp`: the repository tools over the Model Context Protocol, for
// agents (Claude Code, Cline, Copilot's agent mode through VS Code's mcp.json).
// The first call indexes the folder and reports it as MCP progress; a cancelled
// call stops its question; a failure is a tool error naming the engine's code.
import { randomUUID } from 'crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ASK_REPOSITORY_TOOL, answerText, contextText, REPOSITORY_CONTEXT_TOOL, TOOL_INPUT_DESCRIPTIONS } from '../agent-tools';
import { failureCode } from '../failure-code';
import type { Session } from '../session/session';
import type { IndexProgress } from '../session/workspace-index';
import { describeIndexProgress } from '../session/progress-text';

/** The extra argument the SDK gives a tool handler: the parts used here. */
interface ToolCallExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (notification: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; total?: number; message?: string } }) => Promise<void>;
}

/** Progress notifications at most this often (the last one always goes). */
const PROGRESS_INTERVAL_MS = 250;

/** A tool error an agent can branch on: the protocol's code (failure-code.ts, as LSP and HTTP send it) and the message. */
export function toolError(error: unknown): CallToolResult {
  const code = failureCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return { isError: true, content: [{ type: 'text', text: `${code}: ${message}` }], structuredContent: { error: { code, message } } };
}

function indexReporter(extra: ToolCallExtra): (progress: IndexProgress) => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => undefined;
  let last = 0;
  return (progress) => {
    const now = performance.now();
    const final = progress.phase === 'saving';
    if (!final && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    // Files while listing, tokens after; loading the model counts neither (no total then).
    const byFiles = progress.phase === 'listing' || progress.phase === 'loading-model';
    const total = byFiles ? progress.filesTotal : progress.tokensTotal;
    void extra
      .sendNotification({
        method: 'notifications/progress',
        params: {
          progressToken: token,
          progress: byFiles ? progress.filesDone : progress.tokensDone,
          ...(total > 0 ? { total } : {}),
          message: describeIndexProgress(progress).message,
        },
      })
      .catch(() => undefined);
  };
}

async function answering(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work();
  } catch (error) {
    return toolError(error);
  }
}

export function createRepositoryMcpServer(session: Session, version: string, log: (line: string) => void): McpServer {
  const server = new McpServer(
    { name: 'snapkv-code', version },
    { instructions: 'Tools that read the whole repository with a local model: ask_repository answers a question, repository_context returns the files and lines that matter for a question.' },
  );
  const question = z.string().trim().min(1).describe(TOOL_INPUT_DESCRIPTIONS.question);

  server.registerTool(
    ASK_REPOSITORY_TOOL.mcpName,
    {
      title: ASK_REPOSITORY_TOOL.title,
      description: ASK_REPOSITORY_TOOL.description,
      inputSchema: { question, max_tokens: z.number().int().positive().optional().describe(TOOL_INPUT_DESCRIPTIONS.maxTokens) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args, extra) =>
      answering(async () => {
        const result = await session.ask(
          { requestId: randomUUID(), question: args.question, maxTokens: args.max_tokens },
          { signal: extra.signal, onIndexProgress: indexReporter(extra as ToolCallExtra) },
        );
        if (result.stopReason === 'cancelled') log(`${ASK_REPOSITORY_TOOL.mcpName} cancelled by the client after ${result.tokens} tokens`);
        return {
          content: [{ type: 'text', text: answerText(result) }],
          structuredContent: {
            answer: result.text,
            stopReason: result.stopReason,
            tokens: result.tokens,
            kept: result.references,
            timings: result.timings,
            ...(result.prompt ? { prompt: result.prompt } : {}),
            ...(result.answerMode ? { answerMode: result.answerMode } : {}),
          },
        };
      }),
  );

  server.registerTool(
    REPOSITORY_CONTEXT_TOOL.mcpName,
    {
      title: REPOSITORY_CONTEXT_TOOL.title,
      description: REPOSITORY_CONTEXT_TOOL.description,
      inputSchema: {
        question,
        max_files: z.number().int().positive().optional().describe(TOOL_INPUT_DESCRIPTIONS.maxFiles),
        max_chars: z.number().int().positive().optional().describe(TOOL_INPUT_DESCRIPTIONS.maxChars),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args, extra) =>
      answering(async () => {
        const context = await session.context(
          { requestId: randomUUID(), question: args.question, maxFiles: args.max_files, maxChars: args.max_chars },
          { signal: extra.signal, onIndexProgress: indexReporter(extra as ToolCallExtra) },
        );
        return { content: [{ type: 'text', text: contextText(context) }], structuredContent: { ...context } };
      }),
  );
  return server;
}
