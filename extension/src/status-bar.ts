// The status bar item (its text: status-bar-view.ts); clicking it shows the status.
import * as vscode from 'vscode';
import type { StatusResult } from '../../server/src/protocol';
import { messageOf, RepoServer } from './repo-server';
import { RepositoryIndex } from './repository-index';
import { statusBarView } from './status-bar-view';

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
