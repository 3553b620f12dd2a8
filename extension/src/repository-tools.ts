// The logic of the two language-model tools (`snapkv_ask_repository`,
// `snapkv_repository_context`), apart from the vscode API so a unit test can
// run it against a real language server: check the input an agent sent, word
// the confirmation, ask the server, and turn its result into the text the
// agent reads. The names, descriptions and result text come from
// server/src/agent-tools.ts, shared with the MCP server.
import { answerText, ASK_REPOSITORY_TOOL, contextText, REPOSITORY_CONTEXT_TOOL } from '../../server/src/agent-tools';
import type { AskParams, AskResult, ContextParams, RepositoryContext } from '../../server/src/protocol';

export interface AskToolInput {
  question: string;
  maxTokens?: number;
}

export interface ContextToolInput {
  question: string;
  maxFiles?: number;
  maxChars?: number;
}

/** The agent sent input the tool cannot use; the message says what is wrong. */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

function record(input: unknown, tool: string): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ToolInputError(`${tool} takes an object with a question`);
  return input as Record<string, unknown>;
}

function questionOf(fields: Record<string, unknown>, tool: string): string {
  const question = fields.question;
  if (typeof question !== 'string' || question.trim() === '') throw new ToolInputError(`${tool} needs a question: a non-empty string`);
  return question.trim();
}

function optionalCount(fields: Record<string, unknown>, key: string, tool: string): number | undefined {
  const value = fields[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new ToolInputError(`${tool}: ${key} must be a positive whole number`);
  return value;
}

export function readAskInput(input: unknown): AskToolInput {
  const tool = ASK_REPOSITORY_TOOL.vscodeName;
  const fields = record(input, tool);
  return { question: questionOf(fields, tool), maxTokens: optionalCount(fields, 'maxTokens', tool) };
}

export function readContextInput(input: unknown): ContextToolInput {
  const tool = REPOSITORY_CONTEXT_TOOL.vscodeName;
  const fields = record(input, tool);
  return { question: questionOf(fields, tool), maxFiles: optionalCount(fields, 'maxFiles', tool), maxChars: optionalCount(fields, 'maxChars', tool) };
}

export interface ToolPreparation {
  /** Shown while the tool runs. */
  invocationMessage: string;
  /** Shown before it runs: the user allows it once, for the session, or always. */
  confirmation: { title: string; message: string };
}

const RUNS_LOCALLY =
  'The local model reads the whole workspace (the first call indexes it, which can take a while on a large repository); nothing leaves this machine unless a remote server is set (snapkvCode.serverUrl).';

export function prepareAsk(input: AskToolInput): ToolPreparation {
  return {
    invocationMessage: `Asking the repository: ${input.question}`,
    confirmation: { title: 'Ask the repository?', message: `Answer from the whole repository: "${input.question}"\n\n${RUNS_LOCALLY}` },
  };
}

export function prepareContext(input: ContextToolInput): ToolPreparation {
  return {
    invocationMessage: `Finding the repository lines for: ${input.question}`,
    confirmation: { title: 'Read repository context?', message: `Find the files and lines that matter for: "${input.question}"\n\n${RUNS_LOCALLY}` },
  };
}

/** What the tools need from the language server (RepoServer in the extension). Cancellation travels as the caller's token. */
export interface RepositoryToolServer<Token> {
  ask(params: Omit<AskParams, 'requestId'>, onDelta: (text: string) => void, token?: Token): Promise<AskResult>;
  context(params: Omit<ContextParams, 'requestId'>, token?: Token): Promise<RepositoryContext>;
}

/** Runs ask_repository; a cancelled answer comes back marked incomplete. */
export async function runAskTool<Token>(server: RepositoryToolServer<Token>, input: AskToolInput, token?: Token): Promise<string> {
  const result = await server.ask({ question: input.question, maxTokens: input.maxTokens }, () => undefined, token);
  return answerText(result);
}

export async function runContextTool<Token>(server: RepositoryToolServer<Token>, input: ContextToolInput, token?: Token): Promise<string> {
  const context = await server.context({ question: input.question, maxFiles: input.maxFiles, maxChars: input.maxChars }, token);
  return contextText(context);
}
