// The chat panel: a webview view that asks the server, streams the answer in, and keeps the workspace's chat.
import { randomUUID } from 'crypto';
import * as vscode from 'vscode';
import type { AskResult, SelectionContext } from '../../server/src/protocol';
import { ChatHistory } from './chat-history';
import { ChatTurnRecord, FromWebview, PanelNotice, parseWebviewMessage, ToWebview } from './chat-messages';
import { ContextMapView } from './context-map-view';
import { EditorTracker } from './editor-tracker';
import { failureNotice, failureOf } from './failure-advice';
import { runFailureAction } from './failure-message';
import { formatBytes } from './format';
import { openReference, workspacePath } from './references';
import { messageOf, RepoServer } from './repo-server';
import type { IndexState } from './index-state';
import { RepositoryIndex } from './repository-index';
import { webviewHtml, webviewOptions } from './webview-html';

export const CHAT_VIEW_ID = 'snapkvCode.chat';
const ANSWERING_CONTEXT_KEY = 'snapkvCode.answering';

interface RunningAnswer {
  turn: ChatTurnRecord;
  cancellation: vscode.CancellationTokenSource;
}

export class ChatPanel implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private webviewReady = false;
  private running: RunningAnswer | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly mediaRoot: vscode.Uri,
    private readonly history: ChatHistory,
    private readonly server: RepoServer,
    private readonly index: RepositoryIndex,
    private readonly contextMap: ContextMapView,
    private readonly editors: EditorTracker,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(index.onDidChange((state) => this.post({ type: 'notice', notice: noticeFor(state) })));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.webviewReady = false;
    this.log.info('Chat panel webview created.');
    view.webview.options = webviewOptions(this.mediaRoot);
    view.webview.html = webviewHtml(view.webview, this.mediaRoot, {
      title: 'SnapKV Chat',
      styles: ['chat.css'],
      scripts: ['markdown.js', 'chat.js'],
      body: CHAT_BODY,
    });
    this.disposables.push(
      view.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseWebviewMessage(raw);
        if (message === undefined) {
          this.log.warn('Ignored a malformed message from the chat panel.');
          return;
        }
        this.handle(message).catch((error) => this.log.error(`Chat panel: ${messageOf(error)}`));
      }),
      view.onDidDispose(() => {
        this.log.info('Chat panel webview disposed.');
        this.view = undefined;
        this.webviewReady = false;
      }),
    );
  }

  /** Shows the panel (opening its container in the activity bar the first time), leaving the focus where it is. */
  async reveal(): Promise<void> {
    if (this.view !== undefined) this.view.show(true);
    else await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
  }

  /** Asks a question in the panel, as a follow-up of the chat so far; stops an answer still running. */
  async ask(question: string, selection?: SelectionContext, fromPanel = false): Promise<void> {
    const trimmed = question.trim();
    if (!trimmed) return;
    this.log.info(`Question${selection ? ` about ${selection.path}:${selection.startLine}-${selection.endLine}` : ''}: ${trimmed.slice(0, 200)}`);
    if (!fromPanel) await this.reveal();
    if (this.running !== undefined) await this.stop();
    const followUps = this.history.followUpHistory();
    const turn: ChatTurnRecord = {
      id: randomUUID(),
      question: trimmed,
      selection: selection && { path: selection.path, startLine: selection.startLine, endLine: selection.endLine },
      answer: '',
      status: 'waiting',
      references: [],
    };
    const cancellation = new vscode.CancellationTokenSource();
    const running: RunningAnswer = { turn, cancellation };
    this.running = running;
    await this.history.add(turn);
    this.post({ type: 'turn', turn });
    this.post({ type: 'notice', notice: noticeFor(this.index.state) });
    await this.setBusy(true);
    try {
      await this.index.ensureIndexed();
      if (cancellation.token.isCancellationRequested) throw new vscode.CancellationError();
      const result = await this.server.ask(
        {
          question: trimmed,
          selection,
          history: followUps,
          activeFile: this.activeFile(),
          folder: this.index.folder?.uri.fsPath,
        },
        (text) => {
          if (!text) return;
          turn.answer += text;
          turn.status = 'streaming';
          this.post({ type: 'delta', id: turn.id, text });
        },
        cancellation.token,
      );
      this.finishTurn(turn, result);
      this.contextMap.setLatest(result.requestId);
    } catch (error) {
      if (cancellation.token.isCancellationRequested) {
        turn.status = 'stopped';
      } else {
        const failure = failureOf(error);
        const { text, action } = failureNotice(messageOf(error), failure);
        turn.status = 'error';
        turn.error = text;
        this.log.warn(`Question failed: ${turn.error}`);
        // A failure with a code gets its way out (Select Model, Open Settings...) as a notice until the next question
        // or index change; one without (no folder, an untrusted workspace) leaves the notice that already says so.
        if (failure !== undefined && action) this.post({ type: 'notice', notice: { kind: 'error', text, action } });
      }
    } finally {
      cancellation.dispose();
      if (this.running === running) this.running = undefined;
      this.post({ type: 'turn', turn });
      await this.history.update(turn);
      await this.setBusy(this.running !== undefined);
    }
  }

  /** Stops the answer being generated; the text so far stays. */
  async stop(): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    running.cancellation.cancel();
    this.log.info('Answer stopped by the user.');
  }

  async newChat(): Promise<void> {
    await this.stop();
    await this.history.clear();
    this.post({ type: 'restore', turns: [] });
  }

  async focusInput(): Promise<void> {
    await this.reveal();
    this.post({ type: 'focusInput' });
  }

  dispose(): void {
    this.running?.cancellation.cancel();
    for (const disposable of this.disposables) disposable.dispose();
  }

  private finishTurn(turn: ChatTurnRecord, result: AskResult): void {
    turn.answer = result.text;
    turn.requestId = result.requestId;
    turn.references = result.references;
    turn.status = result.stopReason === 'cancelled' ? 'stopped' : 'done';
    const { timings } = result;
    turn.stats = [
      `${result.tokens} tokens`,
      `first token ${Math.round(timings.firstTokenMs)} ms`,
      `${timings.decodeMsPerToken.toFixed(1)} ms/token`,
      `compact cache ${formatBytes(result.compactBytes)}`,
    ].join(' · ');
  }

  private async handle(message: FromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.log.info('Chat panel webview ready.');
        this.webviewReady = true;
        this.post({ type: 'restore', turns: [...this.history.all()] });
        this.post({ type: 'notice', notice: noticeFor(this.index.state) });
        this.post({ type: 'busy', busy: this.running !== undefined });
        return;
      case 'ask':
        return this.ask(message.question, undefined, true);
      case 'stop':
        return this.stop();
      case 'newChat':
        return this.newChat();
      case 'openReference':
        await openReference(this.index.folder, message.path, message.startLine, message.endLine);
        return;
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        vscode.window.setStatusBarMessage('Copied to the clipboard', 2000);
        return;
      case 'insert':
        return this.insertAtCursor(message.text);
      case 'showContextMap':
        return this.contextMap.show(message.requestId);
      case 'action':
        return runFailureAction(message.command);
    }
  }

  private async insertAtCursor(text: string): Promise<void> {
    const editor = this.editors.editor;
    if (editor === undefined) {
      void vscode.window.showInformationMessage('Open a file to insert the code into.');
      return;
    }
    const shown = await vscode.window.showTextDocument(editor.document, editor.viewColumn);
    await shown.edit((edit) => {
      for (const selection of shown.selections) edit.replace(selection, text);
    });
  }

  private activeFile(): string | undefined {
    const editor = this.editors.editor;
    if (editor === undefined || editor.document.uri.scheme !== 'file') return undefined;
    return workspacePath(this.index.folder, editor.document.uri);
  }

  private async setBusy(busy: boolean): Promise<void> {
    this.post({ type: 'busy', busy });
    await vscode.commands.executeCommand('setContext', ANSWERING_CONTEXT_KEY, busy);
  }

  private post(message: ToWebview): void {
    if (this.view === undefined || !this.webviewReady) return;
    void this.view.webview.postMessage(message);
  }
}

function noticeFor(state: IndexState): PanelNotice | null {
  switch (state.kind) {
    case 'no-folder':
      return { kind: 'info', text: 'Open a folder to ask questions about it.' };
    case 'untrusted':
      return {
        kind: 'warning',
        text: 'This workspace is not trusted, so SnapKV has not read or indexed any of its files.',
        action: { label: 'Manage Workspace Trust', command: 'trust' },
      };
    case 'idle':
      return null;
    case 'starting':
      return { kind: 'info', text: 'Starting the SnapKV server…' };
    case 'indexing': {
      const percent = state.percentage !== undefined ? ` ${Math.round(state.percentage)}%` : '';
      return { kind: 'info', text: `Indexing the workspace…${percent}${state.message ? ` ${state.message}` : ''}` };
    }
    case 'indexed':
      return null;
    case 'failed':
      return { kind: 'error', ...failureNotice(state.message, state.failure) };
  }
}

const CHAT_BODY = `
    <div id="notice" class="notice" hidden></div>
    <div id="empty" class="empty">
      <p>Ask anything about this repository. The whole repository is read once; each question is answered from
      a SnapKV-compressed copy of the model's memory, and the files it kept are listed under the answer.</p>
    </div>
    <main id="turns" class="turns" aria-live="polite"></main>
    <form id="composer" class="composer">
      <textarea id="question" rows="3" placeholder="Ask about this repository (Enter to send, Shift+Enter for a new line)" aria-label="Question"></textarea>
      <div class="composer-buttons">
        <button id="new-chat" type="button" class="secondary" title="Start a new chat">New chat</button>
        <button id="stop" type="button" class="secondary" title="Stop the answer" hidden>Stop</button>
        <button id="send" type="submit" title="Ask">Ask</button>
      </div>
    </form>`;
