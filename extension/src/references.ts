// Paths the server reports (workspace-relative, forward slashes) as editor locations, and opening them.
import * as path from 'path';
import * as vscode from 'vscode';
import { resolveWorkspaceLink } from './workspace-link';

/** A link from an answer or the context map as a file inside the folder; anything else is refused (workspace-link.ts). */
export function referenceUri(folder: vscode.WorkspaceFolder | undefined, filePath: string): vscode.Uri {
  if (folder === undefined) throw new Error(`No workspace folder to resolve ${filePath} against.`);
  return vscode.Uri.file(resolveWorkspaceLink(folder.uri.fsPath, filePath));
}

/** Lines are 1-based and inclusive, as in the protocol. */
export function referenceRange(startLine: number, endLine: number): vscode.Range {
  const start = Math.max(0, startLine - 1);
  const end = Math.max(start, endLine - 1);
  return new vscode.Range(start, 0, end, Number.MAX_SAFE_INTEGER);
}

export function referenceLocation(folder: vscode.WorkspaceFolder | undefined, filePath: string, startLine: number, endLine: number): vscode.Location {
  return new vscode.Location(referenceUri(folder, filePath), referenceRange(startLine, endLine));
}

/** Opens the file with the cursor on `startLine` and the lines up to `endLine` in view. */
export async function openReference(folder: vscode.WorkspaceFolder | undefined, filePath: string, startLine: number, endLine: number): Promise<vscode.TextEditor> {
  const uri = referenceUri(folder, filePath);
  const range = referenceRange(startLine, endLine);
  const cursor = new vscode.Selection(range.start, range.start);
  const editor = await vscode.window.showTextDocument(uri, { selection: cursor, preview: true, viewColumn: vscode.ViewColumn.One });
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}

/** The workspace-relative path of a document (forward slashes), or its absolute path when outside the folder. */
export function workspacePath(folder: vscode.WorkspaceFolder | undefined, uri: vscode.Uri): string {
  if (folder !== undefined && uri.scheme === folder.uri.scheme) {
    const relative = path.relative(folder.uri.fsPath, uri.fsPath);
    if (relative && !relative.startsWith('..') && !path.isAbsolute(relative)) return relative.split(path.sep).join('/');
  }
  return uri.fsPath;
}
