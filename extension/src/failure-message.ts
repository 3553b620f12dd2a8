// A failure outside the chat panel (a command, a server that refused its settings) as an error message
// with the same way out the panel offers: the advice of failure-advice.ts, its button, and the button's
// command run when it is chosen.
import * as vscode from 'vscode';
import type { PanelAction } from './chat-messages';
import { ACTION_COMMANDS, failureNotice, failureOf } from './failure-advice';

/** Runs a button of the panel or of an error message. */
export async function runFailureAction(action: PanelAction): Promise<void> {
  await vscode.commands.executeCommand(...ACTION_COMMANDS[action]);
}

/** Shows `error` with its advice; resolves once the message is dismissed or its button has run. */
export async function showFailureMessage(error: unknown, log: vscode.LogOutputChannel): Promise<void> {
  const { text, action } = failureNotice(messageText(error), failureOf(error));
  const choice = action === undefined
    ? await vscode.window.showErrorMessage(`SnapKV: ${text}`)
    : await vscode.window.showErrorMessage(`SnapKV: ${text}`, action.label);
  if (action === undefined || choice !== action.label) return;
  await runFailureAction(action.command).catch((reason: unknown) => log.error(`${action.label}: ${messageText(reason)}`));
}

function messageText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
