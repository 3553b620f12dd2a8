// The two repository tools that agents call, defined once: the MCP server
// (server/src/mcp) and the VS Code language-model tools (extension/) both
// take their names, descriptions and result text from here, and a test holds
// package.json's `languageModelTools` to the same words. Pure: it imports
// protocol types only, so the extension may compile it.
import type { AskResult, ContextFile, RepositoryContext } from './protocol';

export interface RepositoryToolDefinition {
  /** The tool's name over MCP. */
  mcpName: string;
  /** The tool's name in VS Code (names there are global across extensions). */
  vscodeName: string;
  title: string;
  description: string;
}

export const ASK_REPOSITORY_TOOL: RepositoryToolDefinition = {
  mcpName: 'ask_repository',
  vscodeName: 'snapkv_ask_repository',
  title: 'Ask the repository',
  description:
    'Answers a question about the whole repository with a local model that has read every file. The answer comes from a SnapKV-compressed ' +
    'cache of the repository, chosen for this question; the result also lists the files and line ranges the model kept, and timings.',
};

export const REPOSITORY_CONTEXT_TOOL: RepositoryToolDefinition = {
  mcpName: 'repository_context',
  vscodeName: 'snapkv_repository_context',
  title: 'Repository context for a question',
  description:
    'Returns the files and line ranges of the repository that matter for a question, ranked, with their text, and no answer. A local model ' +
    'reads the whole repository and SnapKV keeps what its attention picks for the question: context chosen by attention rather than by ' +
    'keyword or embedding search, for a larger model to read.',
};

export const TOOL_INPUT_DESCRIPTIONS = {
  question: 'The question about the repository, in plain words.',
  maxTokens: 'Longest answer in tokens (default: the server setting, 512).',
  maxFiles: 'Most files returned (default 8).',
  maxChars: 'Most characters of file text returned, all files together (default 24000).',
} as const;

function percent(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

function lines(range: { startLine: number; endLine: number }): string {
  return range.startLine === range.endLine ? `${range.startLine}` : `${range.startLine}-${range.endLine}`;
}

function keptList(files: readonly ContextFile[]): string {
  return files.map((file) => `- ${file.path} (${percent(file.share)}): lines ${file.ranges.map(lines).join(', ')}`).join('\n');
}

export function answerText(result: AskResult): string {
  const parts = [result.text.trim() === '' ? '(no answer text)' : result.text];
  if (result.answerMode?.note) parts.push(`(${result.answerMode.note})`);
  if (result.stopReason === 'cancelled') parts.push('(cancelled: the answer is incomplete)');
  if (result.stopReason === 'max-tokens') parts.push('(cut at the answer length limit)');
  if (result.references.length > 0) parts.push(`Kept context (share of the compressed cache):\n${keptList(result.references)}`);
  const t = result.timings;
  parts.push(`${result.tokens} tokens; compression ${Math.round(t.compressMs)} ms, first token ${Math.round(t.firstTokenMs)} ms, ${t.decodeMsPerToken.toFixed(1)} ms/token`);
  return parts.join('\n\n');
}

function fence(text: string): string {
  let ticks = '```';
  while (text.includes(ticks)) ticks += '`';
  return ticks;
}

export function contextText(context: RepositoryContext): string {
  if (context.files.length === 0) return 'SnapKV kept nothing in the repository files for this question (only the instructions and the question itself).';
  const parts = [
    `The repository lines a local model's attention kept for: ${context.question}\n` +
      `(${context.prompt.repositoryTokens} repository tokens, ${context.prompt.keptTokens} kept per layer and head; files ranked by their share of what was kept)`,
  ];
  for (const file of context.files) {
    const excerpts = file.excerpts.map((excerpt) => {
      const marks = fence(excerpt.text);
      return `lines ${lines(excerpt)}:\n${marks}\n${excerpt.text}\n${marks}`;
    });
    parts.push([`## ${file.path} (${percent(file.share)})`, ...excerpts].join('\n'));
  }
  if (context.truncated) parts.push('(more was kept than fits the limits: raise maxFiles or maxChars to see it)');
  return parts.join('\n\n');
}
