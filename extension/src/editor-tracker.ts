// The text editor the user last worked in: where "insert at cursor" goes when the chat panel has focus.
import * as vscode from 'vscode';

export class EditorTracker implements vscode.Disposable {
  private last: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly subscription = vscode.window.onDidChangeActiveTextEditor((editor) => {
    if (editor !== undefined) this.last = editor;
  });

  get editor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active !== undefined) return active;
    const lastUri = this.last?.document.uri.toString();
    const visible = vscode.window.visibleTextEditors;
    return visible.find((editor) => editor.document.uri.toString() === lastUri) ?? visible[0];
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
