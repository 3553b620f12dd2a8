// The status bar item: indexing progress, then tokens indexed and memory used; clicking it shows the status.
import * as vscode from 'vscode';
import type { StatusResult } from '../../server/src/protocol';
import { formatBytes, formatTokens } from './format';
import { messageOf, RepoServer } from './repo-server';
import { IndexState, RepositoryIndex } from './repository-index';

const POLL_MS = 10_000;
export const SHOW_STATUS_COMMAND = 'snapkvCode.showStatus';

export class RepoStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('snapkvCode.status', vscode.StatusBarAlignment.Left, 0);
  private readonly timer: NodeJS.Timeout;
  private latest: StatusResult | undefined;
  private readonly disposables: vscode.Disposable[] = [this.item];

  constructor(
    private readonly server: RepoServer,
    private readonly index: RepositoryIndex,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.item.name = 'SnapKV Code';
    this.item.command = SHOW_STATUS_COMMAND;
    this.disposables.push(
      index.onDidChange(() => {
        this.render();
        if (index.state.kind === 'indexed') void this.poll();
      }),
      server.onDidChangeStatus((status) => {
        if (status === undefined) return void this.poll();
        this.latest = status;
        this.render();
      }),
      server.onDidChangeState(() => this.render()),
    );
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.render();
    this.item.show();
  }

  /** The last status the server reported (undefined before it runs). */
  get status(): StatusResult | undefined {
    return this.latest;
  }

  async poll(): Promise<StatusResult | undefined> {
    if (this.server.state !== 'running') return undefined;
    try {
      this.latest = await this.server.status();
      this.render();
    } catch (error) {
      this.log.debug(`Status poll: ${messageOf(error)}`);
    }
    return this.latest;
  }

  dispose(): void {
    clearInterval(this.timer);
    for (const disposable of this.disposables) disposable.dispose();
  }

  private render(): void {
    const view = statusBarView(this.index.state, this.server.state === 'running' ? this.latest : undefined);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }
}

interface StatusBarView {
  text: string;
  tooltip: string;
  error?: boolean;
}

export function statusBarView(state: IndexState, status: StatusResult | undefined): StatusBarView {
  switch (state.kind) {
    case 'no-folder':
      return { text: '$(comment-discussion) SnapKV', tooltip: 'SnapKV Code: open a folder to ask about it' };
    case 'untrusted':
      return { text: '$(shield) SnapKV: untrusted', tooltip: 'The workspace is not trusted: nothing has been indexed. Click for status.' };
    case 'idle':
      return { text: '$(comment-discussion) SnapKV', tooltip: 'SnapKV Code: not indexed yet. Click for status.' };
    case 'starting':
      return { text: '$(sync~spin) SnapKV: starting', tooltip: 'Starting the SnapKV server' };
    case 'indexing': {
      const percent = state.percentage !== undefined ? ` ${Math.round(state.percentage)}%` : '';
      return { text: `$(sync~spin) SnapKV: indexing${percent}`, tooltip: state.message ?? 'Reading the repository into the model' };
    }
    case 'failed':
      return { text: '$(error) SnapKV', tooltip: `SnapKV Code: ${state.message}`, error: true };
    case 'indexed': {
      if (status?.indexing) return { text: '$(sync~spin) SnapKV: updating the index', tooltip: 'Files or settings changed: the server is updating the index' };
      const tokens = status?.tokensIndexed ?? state.result.tokens;
      const memory = status !== undefined ? ` · ${formatBytes(status.prefixBytes + status.compactBytes)}` : '';
      const busy = status !== undefined && status.questionsRunning > 0;
      const model = status?.remote
        ? `answered by ${status.remote.model ?? 'a remote model'} at ${status.remote.url}${status.remote.snapkv ? '' : ', without SnapKV'}`
        : status?.model ? `${status.model.architecture} on ${status.model.backend}` : 'model';
      return {
        text: `${busy ? '$(loading~spin)' : status?.remote ? '$(remote)' : '$(database)'} SnapKV ${formatTokens(tokens)} tokens${memory}`,
        tooltip: `${state.result.files} files, ${tokens} tokens indexed (${model}). Click for status.`,
      };
    }
  }
}
