// Explain Selection: the selected code, its file and the lines around it, sent with the question.
import * as vscode from 'vscode';
import type { SelectionContext } from '../../server/src/protocol';
import { workspacePath } from './references';

/** Lines above and below the selection sent along for context. */
const SURROUNDING_LINES = 15;
export const EXPLAIN_COMMAND = 'snapkvCode.explainSelection';

export function selectionContext(document: vscode.TextDocument, selection: vscode.Range, folder: vscode.WorkspaceFolder | undefined): SelectionContext | undefined {
  if (selection.isEmpty) return undefined;
  const startLine = selection.start.line;
  // A selection that ends at the start of a line does not include that line.
  const endLine = selection.end.character === 0 && selection.end.line > startLine ? selection.end.line - 1 : selection.end.line;
  const aroundStart = Math.max(0, startLine - SURROUNDING_LINES);
  const aroundEnd = Math.min(document.lineCount - 1, endLine + SURROUNDING_LINES);
  const surrounding = document.getText(new vscode.Range(aroundStart, 0, aroundEnd, document.lineAt(aroundEnd).text.length));
  return {
    path: workspacePath(folder, document.uri),
    startLine: startLine + 1,
    endLine: endLine + 1,
    text: document.getText(selection),
    surrounding,
    languageId: document.languageId,
  };
}

export function explainQuestion(selection: SelectionContext): string {
  const lines = selection.startLine === selection.endLine ? `line ${selection.startLine}` : `lines ${selection.startLine}-${selection.endLine}`;
  return `Explain the selected code (${selection.path}, ${lines}): what it does and how it fits into the rest of the repository.`;
}

/** Offers "Explain Selection" in the light bulb whenever some code is selected. */
export class ExplainSelectionActions implements vscode.CodeActionProvider {
  static readonly kind = vscode.CodeActionKind.QuickFix.append('snapkvExplain');
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [ExplainSelectionActions.kind] };

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range | vscode.Selection): vscode.CodeAction[] {
    if (range.isEmpty) return [];
    const action = new vscode.CodeAction('Explain selection with SnapKV', ExplainSelectionActions.kind);
    action.command = { command: EXPLAIN_COMMAND, title: 'Explain Selection', arguments: [document.uri, range] };
    return [action];
  }
}
