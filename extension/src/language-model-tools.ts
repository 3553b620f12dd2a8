// The repository tools in VS Code's agent mode (`vscode.lm.registerTool`):
// the same two tools the MCP server offers, answered by the language server.
// Their declarations (names, descriptions, input schemas) are in package.json
// under `languageModelTools`.
import * as vscode from 'vscode';
import { ASK_REPOSITORY_TOOL, REPOSITORY_CONTEXT_TOOL } from '../../server/src/agent-tools';
import type { RepoServer } from './repo-server';
import {
  AskToolInput,
  ContextToolInput,
  prepareAsk,
  prepareContext,
  readAskInput,
  readContextInput,
  runAskTool,
  runContextTool,
  ToolPreparation,
} from './repository-tools';

function prepared(preparation: ToolPreparation): vscode.PreparedToolInvocation {
  return {
    invocationMessage: preparation.invocationMessage,
    confirmationMessages: { title: preparation.confirmation.title, message: new vscode.MarkdownString(preparation.confirmation.message) },
  };
}

function textResult(text: string): vscode.LanguageModelToolResult {
  return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(text)]);
}

/** Nothing is read in a workspace the user has not trusted: the same rule as the panel and @repo. */
function requireTrust(): void {
  if (!vscode.workspace.isTrusted) throw new Error('The workspace is not trusted, so SnapKV does not read it. Trust the workspace to use this tool.');
}

export function registerRepositoryTools(server: RepoServer, log: vscode.LogOutputChannel): vscode.Disposable | undefined {
  const lm = (vscode as { lm?: typeof vscode.lm }).lm;
  if (lm === undefined || typeof lm.registerTool !== 'function') {
    log.info('This editor has no language-model tool API: the repository tools are not offered to agent mode.');
    return undefined;
  }
  const ask: vscode.LanguageModelTool<AskToolInput> = {
    prepareInvocation: (options) => prepared(prepareAsk(readAskInput(options.input))),
    invoke: async (options, token) => {
      requireTrust();
      return textResult(await runAskTool(server, readAskInput(options.input), token));
    },
  };
  const context: vscode.LanguageModelTool<ContextToolInput> = {
    prepareInvocation: (options) => prepared(prepareContext(readContextInput(options.input))),
    invoke: async (options, token) => {
      requireTrust();
      return textResult(await runContextTool(server, readContextInput(options.input), token));
    },
  };
  const registered = vscode.Disposable.from(lm.registerTool(ASK_REPOSITORY_TOOL.vscodeName, ask), lm.registerTool(REPOSITORY_CONTEXT_TOOL.vscodeName, context));
  log.info(`Registered the language-model tools ${ASK_REPOSITORY_TOOL.vscodeName} and ${REPOSITORY_CONTEXT_TOOL.vscodeName} for agent mode.`);
  return registered;
}
