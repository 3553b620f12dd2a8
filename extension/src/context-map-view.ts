// The context map: the files the compact cache of one answer kept, ranked by their share, drawn as bars.
import * as vscode from 'vscode';
import type { ContextMap } from '../../server/src/protocol';
import { openReference } from './references';
import { messageOf, RepoServer } from './repo-server';
import { RepositoryIndex } from './repository-index';
import { webviewHtml, webviewOptions } from './webview-html';

export const CONTEXT_MAP_VIEW_ID = 'snapkvCode.contextMap';

type ToContextMapWebview =
  | { type: 'map'; map: ContextMap }
  | { type: 'empty'; text: string };

type FromContextMapWebview =
  | { type: 'ready' }
  | { type: 'openReference'; path: string; startLine: number; endLine: number };

export class ContextMapView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private latestRequestId: string | undefined;
  private shown: ToContextMapWebview = { type: 'empty', text: 'Ask a question: the files its answer was drawn from appear here.' };
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly mediaRoot: vscode.Uri,
    private readonly server: RepoServer,
    private readonly index: RepositoryIndex,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = webviewOptions(this.mediaRoot);
    view.webview.html = webviewHtml(view.webview, this.mediaRoot, {
      title: 'SnapKV Context Map',
      styles: ['context-map.css'],
      scripts: ['context-map.js'],
      body: '<main id="map" class="map" aria-live="polite"></main>',
    });
    this.disposables.push(
      view.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseMessage(raw);
        if (message?.type === 'ready') this.post(this.shown);
        if (message?.type === 'openReference') {
          openReference(this.index.folder, message.path, message.startLine, message.endLine)
            .catch((error) => void vscode.window.showErrorMessage(messageOf(error)));
        }
      }),
      view.onDidChangeVisibility(() => {
        if (view.visible && this.latestRequestId !== undefined) this.refresh(this.latestRequestId).catch(() => undefined);
      }),
      view.onDidDispose(() => (this.view = undefined)),
    );
  }

  /** The latest answer; the map follows it while the view is visible. */
  setLatest(requestId: string): void {
    this.latestRequestId = requestId;
    if (this.view?.visible) this.refresh(requestId).catch(() => undefined);
  }

  /** Shows the map of one answer (default: the latest). */
  async show(requestId?: string): Promise<void> {
    await vscode.commands.executeCommand(`${CONTEXT_MAP_VIEW_ID}.focus`);
    await this.refresh(requestId ?? this.latestRequestId);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }

  private async refresh(requestId: string | undefined): Promise<void> {
    if (this.server.state !== 'running') {
      this.post({ type: 'empty', text: 'The SnapKV server is not running: ask a question first.' });
      return;
    }
    try {
      const map = await this.server.contextMap(requestId !== undefined ? { requestId } : {});
      this.post({ type: 'map', map });
    } catch (error) {
      this.log.warn(`Context map: ${messageOf(error)}`);
      this.post({ type: 'empty', text: messageOf(error) });
    }
  }

  private post(message: ToContextMapWebview): void {
    this.shown = message;
    if (this.view !== undefined) void this.view.webview.postMessage(message);
  }
}

function parseMessage(value: unknown): FromContextMapWebview | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  if (message.type === 'ready') return { type: 'ready' };
  if (message.type === 'openReference' && typeof message.path === 'string' && Number.isInteger(message.startLine) && Number.isInteger(message.endLine)) {
    return { type: 'openReference', path: message.path, startLine: message.startLine as number, endLine: message.endLine as number };
  }
  return undefined;
}
