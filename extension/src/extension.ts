// Entry point: wires the server, the chat panel, @repo, commands, code actions and the status bar together.
import { existsSync } from 'fs';
import * as vscode from 'vscode';
import { ChatHistory } from './chat-history';
import { CHAT_VIEW_ID, ChatPanel } from './chat-panel';
import { registerCommands } from './commands';
import { CONTEXT_MAP_VIEW_ID, ContextMapView } from './context-map-view';
import { EditorTracker } from './editor-tracker';
import { ExplainSelectionActions } from './explain-selection';
import { showFailureMessage } from './failure-message';
import { messageOf, RepoServer } from './repo-server';
import { registerRepoParticipant } from './repo-participant';
import { registerRepositoryTools } from './language-model-tools';
import { RepositoryIndex } from './repository-index';
import { affectsPrefix, affectsServerSettings, readServerSettings } from './settings';
import { RepoStatusBar } from './status-bar';

/** The compiled language server, relative to the extension's folder (the repository root, or the installed .vsix). */
const SERVER_MODULE = ['out', 'server', 'src', 'server-main.js'];

let runningServer: RepoServer | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('SnapKV Code', { log: true });
  const serverModule = vscode.Uri.joinPath(context.extensionUri, ...SERVER_MODULE).fsPath;
  if (!existsSync(serverModule)) log.error(`The language server is missing: ${serverModule} (build it with npm run build:ts).`);

  const server = new RepoServer(serverModule, log);
  runningServer = server;
  const index = new RepositoryIndex(server, log);
  const editors = new EditorTracker();
  const mediaRoot = vscode.Uri.joinPath(context.extensionUri, 'media');
  const contextMap = new ContextMapView(mediaRoot, server, index, log);
  const panel = new ChatPanel(mediaRoot, new ChatHistory(context.workspaceState), server, index, contextMap, editors, log);
  const statusBar = new RepoStatusBar(server, index, log);

  context.subscriptions.push(
    log, server, index, editors, contextMap, panel, statusBar,
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, panel, { webviewOptions: { retainContextWhenHidden: true } }),
    vscode.window.registerWebviewViewProvider(CONTEXT_MAP_VIEW_ID, contextMap),
    vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, new ExplainSelectionActions(), ExplainSelectionActions.metadata),
    ...registerCommands({ panel, contextMap, server, index, statusBar, log }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!affectsServerSettings(event)) return;
      if (server.downFailure !== undefined) {
        // A server that refused its settings (or stopped after crashes) gets another start with the new ones,
        // and the index it could not build. Settings it refuses again are shown again (RepoServer.start).
        log.info('Settings changed while the server was down: starting it again.');
        server.restartForNewSettings()
          .then(() => index.reindex(false))
          .catch((error) => log.error(`Starting the server again: ${messageOf(error)}`));
        return;
      }
      if (server.state !== 'running') return;
      log.info('Settings changed: sending them to the server.');
      applySettings(server, index, affectsPrefix(event)).catch((error) => {
        log.error(`Applying settings: ${messageOf(error)}`);
        void showFailureMessage(error, log);
      });
    }),
  );
  const participant = registerRepoParticipant(context.extensionUri, server, index, log);
  if (participant !== undefined) context.subscriptions.push(participant);
  const tools = registerRepositoryTools(server, log);
  if (tools !== undefined) context.subscriptions.push(tools);

  const version = (context.extension.packageJSON as { version?: string }).version ?? '?';
  log.info(`SnapKV Code ${version} activated in ${vscode.env.appName} ${vscode.version}; server ${serverModule}.`);
  index.activate();
}

export async function deactivate(): Promise<void> {
  await runningServer?.stop();
  runningServer = undefined;
}

/**
 * Settings take effect without a reload: the server gets them at once and rebuilds the prefix itself when the
 * change needs it (a new model, other packing rules). Before the first index there is nothing to rebuild.
 */
async function applySettings(server: RepoServer, index: RepositoryIndex, rebuildPrefix: boolean): Promise<void> {
  await server.configure(readServerSettings());
  if (rebuildPrefix && index.state.kind === 'failed' && vscode.workspace.isTrusted) await index.reindex(false);
}
