// The commands of the command palette, menus and code actions.
import * as vscode from 'vscode';
import { ChatPanel } from './chat-panel';
import { ContextMapView } from './context-map-view';
import { EXPLAIN_COMMAND, explainQuestion, selectionContext } from './explain-selection';
import { showFailureMessage } from './failure-message';
import { messageOf, RepoServer } from './repo-server';
import { RepositoryIndex } from './repository-index';
import { selectModel } from './select-model';
import { RepoStatusBar, SHOW_STATUS_COMMAND } from './status-bar';
import { showStatusDetails } from './status-details';

export interface CommandTargets {
  panel: ChatPanel;
  contextMap: ContextMapView;
  server: RepoServer;
  index: RepositoryIndex;
  statusBar: RepoStatusBar;
  log: vscode.LogOutputChannel;
}

export function registerCommands(targets: CommandTargets): vscode.Disposable[] {
  const { panel, contextMap, server, index, statusBar, log } = targets;
  const command = (id: string, run: (...args: unknown[]) => Promise<unknown>): vscode.Disposable =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await run(...args);
      } catch (error) {
        log.error(`${id}: ${messageOf(error)}`);
        // The same way out the chat panel offers for this failure (Open Settings, Select Model...).
        void showFailureMessage(error, log);
      }
    });

  return [
    command('snapkvCode.ask', async (question?: unknown) => {
      const asked = typeof question === 'string' ? question : await vscode.window.showInputBox({
        title: 'Ask About Workspace',
        prompt: 'A question about this repository; the answer appears in the SnapKV chat panel.',
        placeHolder: 'Where is the configuration loaded?',
        ignoreFocusOut: true,
      });
      if (asked?.trim()) await panel.ask(asked);
    }),
    command(EXPLAIN_COMMAND, async (uri?: unknown, range?: unknown) => {
      const editor = await editorFor(uri);
      if (editor === undefined) throw new Error('Open a file and select some code to explain.');
      const selected = range instanceof vscode.Range ? range : editor.selection;
      const selection = selectionContext(editor.document, selected, index.folder);
      if (selection === undefined) throw new Error('Select some code to explain.');
      await panel.ask(explainQuestion(selection), selection);
    }),
    command('snapkvCode.reindex', () => index.reindex(true, vscode.ProgressLocation.Notification)),
    command('snapkvCode.selectModel', () => selectModel(server)),
    command('snapkvCode.showContextMap', () => contextMap.show()),
    command('snapkvCode.stop', () => panel.stop()),
    command('snapkvCode.newChat', () => panel.newChat()),
    command('snapkvCode.focusChat', () => panel.focusInput()),
    command('snapkvCode.showLog', async () => log.show()),
    command(SHOW_STATUS_COMMAND, async () => showStatusDetails(index.state, await statusBar.poll())),
    command('snapkvCode.restartServer', async () => {
      if (!vscode.workspace.isTrusted) throw new Error('The workspace is not trusted: the server does not run.');
      await server.restart();
      await index.reindex(false);
    }),
  ];
}

/** The editor showing `uri` (from a code action), else the active one. */
async function editorFor(uri: unknown): Promise<vscode.TextEditor | undefined> {
  const active = vscode.window.activeTextEditor;
  if (!(uri instanceof vscode.Uri) || active?.document.uri.toString() === uri.toString()) return active;
  return vscode.window.showTextDocument(uri);
}
