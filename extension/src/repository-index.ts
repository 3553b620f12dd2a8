// When the repository gets indexed: only in a trusted workspace with a folder, once the server runs; again after
// a crash restart, a settings change that alters the prefix or starts a refused server again, or the Reindex command.
import * as vscode from 'vscode';
import type { IndexResult } from '../../server/src/protocol';
import { failureOf, ServerFailure } from './failure-advice';
import { messageOf, RepoServer } from './repo-server';
import { indexOnStartup } from './settings';
import type { IndexState } from './index-state';

export class RepositoryIndex implements vscode.Disposable {
  private current: IndexState;
  private running: Promise<IndexResult> | undefined;
  private cancelRunning: vscode.CancellationTokenSource | undefined;
  private readonly changeEmitter = new vscode.EventEmitter<IndexState>();
  private readonly disposables: vscode.Disposable[] = [this.changeEmitter];
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    private readonly server: RepoServer,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.current = this.initialState();
    this.disposables.push(
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.log.info('Workspace trusted: starting the server and indexing.');
        this.setState({ kind: 'idle' });
        this.ensureIndexed().catch(() => undefined);
      }),
      server.onDidRestartAfterCrash(() => {
        this.running = undefined;
        this.reindex(false).catch(() => undefined);
      }),
      server.onDidChangeState(() => {
        // Down for good (settings refused, or too many crashes): say why, and what way out there is.
        const down = server.downFailure;
        if (down === undefined || this.current.kind === 'untrusted' || this.current.kind === 'no-folder') return;
        this.cancelRunning?.cancel();
        this.setState({ kind: 'failed', message: down.message, failure: down.failure });
      }),
    );
  }

  get state(): IndexState {
    return this.current;
  }

  /** The folder questions are about: the first workspace folder. */
  get folder(): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.workspaceFolders?.[0];
  }

  /** Called once on activation: indexes right away when trusted and the user wants that. */
  activate(): void {
    if (this.current.kind === 'untrusted') {
      this.log.info('Workspace not trusted: nothing is indexed until it is trusted.');
      return;
    }
    if (this.current.kind === 'idle' && indexOnStartup()) this.ensureIndexed().catch(() => undefined);
  }

  /** Resolves once the repository is indexed; throws an Error that says what to do when it cannot be. */
  async ensureIndexed(): Promise<IndexResult> {
    this.assertAllowed();
    if (this.current.kind === 'indexed' && this.running === undefined && this.server.state === 'running') return this.current.result;
    return this.running ?? this.runIndex(false, vscode.ProgressLocation.Window);
  }

  /** The Reindex command and settings changes: a fresh index (from scratch when `force`), with a visible progress. */
  async reindex(force: boolean, location = vscode.ProgressLocation.Window): Promise<IndexResult> {
    this.assertAllowed();
    if (this.running !== undefined) {
      this.cancelRunning?.cancel();
      await this.running.catch(() => undefined);
    }
    return this.runIndex(force, location);
  }

  dispose(): void {
    this.cancelRunning?.cancel();
    for (const disposable of this.disposables) disposable.dispose();
  }

  private runIndex(force: boolean, location: vscode.ProgressLocation): Promise<IndexResult> {
    const cancellation = new vscode.CancellationTokenSource();
    this.cancelRunning = cancellation;
    const run = this.indexWithProgress(force, location, cancellation.token).finally(() => {
      if (this.running === run) this.running = undefined;
      cancellation.dispose();
    });
    this.running = run;
    return run;
  }

  private async indexWithProgress(force: boolean, location: vscode.ProgressLocation, token: vscode.CancellationToken): Promise<IndexResult> {
    const folder = this.folder;
    if (folder === undefined) throw new Error('Open a folder to ask about it.');
    try {
      if (this.server.state !== 'running') {
        this.setState({ kind: 'starting' });
        await this.server.start();
      }
      this.setState({ kind: 'indexing' });
      const result = await vscode.window.withProgress(
        { location, title: 'SnapKV: indexing', cancellable: location === vscode.ProgressLocation.Notification },
        async (progress, progressToken) => {
          const cancelled = progressToken.onCancellationRequested(() => this.cancelRunning?.cancel());
          let reported = 0;
          try {
            return await this.server.index({ folder: folder.uri.fsPath, force }, (update) => {
              if (update.kind === 'end') return;
              const percentage = update.percentage;
              const increment = percentage !== undefined ? Math.max(0, percentage - reported) : undefined;
              if (percentage !== undefined) reported = percentage;
              progress.report({ message: update.message, increment });
              this.setState({ kind: 'indexing', percentage, message: update.message });
            }, token);
          } finally {
            cancelled.dispose();
          }
        },
      );
      this.log.info(`Indexed ${result.folder}: ${result.files} files, ${result.tokens} tokens (${result.source}, ` +
        `${result.prefilledTokens} prefilled, ${result.leftOut.length} left out) in ${result.seconds.toFixed(1)} s.`);
      this.setState({ kind: 'indexed', result });
      return result;
    } catch (error) {
      const down = this.server.downFailure;
      if (down !== undefined) throw down;
      const cancelled = token.isCancellationRequested;
      const message = cancelled ? 'Indexing was cancelled.' : messageOf(error);
      const failure = cancelled ? 'CANCELLED' : failureOf(error);
      this.log.error(`Indexing failed: ${message}`);
      this.setState({ kind: 'failed', message, failure });
      throw new ServerFailure(message, failure);
    }
  }

  private assertAllowed(): void {
    if (this.folder === undefined) throw new Error('Open a folder to ask about it.');
    const down = this.server.downFailure;
    if (down !== undefined) throw down;
    if (!vscode.workspace.isTrusted) {
      throw new Error('This workspace is not trusted, so SnapKV has not read it. Trust the workspace to index it.');
    }
  }

  private initialState(): IndexState {
    if (this.folder === undefined) return { kind: 'no-folder' };
    if (!vscode.workspace.isTrusted) return { kind: 'untrusted' };
    return { kind: 'idle' };
  }

  private setState(state: IndexState): void {
    this.current = state;
    this.changeEmitter.fire(state);
  }
}
