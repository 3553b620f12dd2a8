// The language server as the extension sees it: a started LanguageClient, the typed custom requests of
// server/src/protocol.ts, answer deltas routed by request id, and restarts after a crash.
import { randomUUID } from 'crypto';
import * as vscode from 'vscode';
import {
  CloseAction,
  LanguageClient,
  LanguageClientOptions,
  ResponseError,
  ServerOptions,
  State,
  TransportKind,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import { Methods } from '../../server/src/protocol';
import type {
  AnswerDelta,
  AskParams,
  AskResult,
  ContextMap,
  ContextMapParams,
  ContextParams,
  IndexParams,
  IndexResult,
  ModelsParams,
  ModelsResult,
  RepositoryContext,
  ServerSettings,
  StatusResult,
} from '../../server/src/protocol';
import { CrashPolicy, ServerCrash } from './crash-policy';
import { failureOf, ServerFailure } from './failure-advice';
import { showFailureMessage } from './failure-message';
import { readServerSettings } from './settings';

export type ServerState = 'stopped' | 'starting' | 'running' | 'failed';

export type IndexProgress =
  | { kind: 'begin'; title: string; message?: string; percentage?: number }
  | { kind: 'report'; message?: string; percentage?: number }
  | { kind: 'end'; message?: string };

/** Said once the server crashed too often to be restarted automatically. */
const SERVER_GAVE_UP = 'The SnapKV server stopped after repeated crashes and was not restarted.';

/** Restarts allowed after crashes within RESTART_WINDOW_MS; one more crash stops the server. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 3 * 60_000;

export class RepoServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private currentState: ServerState = 'stopped';
  private restartAfterCrash = false;
  /** Why the server refused to initialize (bad settings, say): shown until the settings change. */
  private initFailure: string | undefined;
  private readonly answerListeners = new Map<string, (text: string) => void>();
  private readonly crashPolicy: CrashPolicy;
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  private readonly statusChangedEmitter = new vscode.EventEmitter<StatusResult | undefined>();
  private readonly restartedEmitter = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [this.stateEmitter, this.statusChangedEmitter, this.restartedEmitter];

  /** The server process started, stopped, crashed or failed to start. */
  readonly onDidChangeState = this.stateEmitter.event;
  /** The server said its status changed (indexing done, model loaded), with the new status when it sent one. */
  readonly onDidChangeStatus = this.statusChangedEmitter.event;
  /** The server came back after a crash; whatever it held in memory is gone. */
  readonly onDidRestartAfterCrash = this.restartedEmitter.event;

  constructor(
    private readonly serverModule: string,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.crashPolicy = new CrashPolicy({
      maxRestarts: MAX_RESTARTS,
      windowMs: RESTART_WINDOW_MS,
      onCrash: (crash) => this.reportCrash(crash),
    });
  }

  get state(): ServerState {
    return this.currentState;
  }

  async start(): Promise<void> {
    if (this.client?.isRunning()) return;
    this.client ??= this.createClient();
    this.initFailure = undefined;
    this.setState('starting');
    try {
      await this.client.start();
    } catch (error) {
      this.setState('failed');
      // A refusal (initializationFailedHandler has run by now) says why, with its way out.
      const refusal = this.initFailure !== undefined ? this.downFailure : undefined;
      if (refusal !== undefined) {
        void showFailureMessage(refusal, this.log);
        throw refusal;
      }
      this.log.error(`The SnapKV server did not start: ${messageOf(error)}`);
      throw new Error(`The SnapKV server did not start: ${messageOf(error)}`);
    }
  }

  /**
   * Why the server takes no requests, where the user has to act: it refused its settings at initialize
   * (it has exited; a settings change starts it again), or it stopped after repeated crashes. Undefined
   * while it runs or starts.
   */
  get downFailure(): ServerFailure | undefined {
    if (this.currentState !== 'failed') return undefined;
    if (this.initFailure !== undefined) {
      return new ServerFailure(`${/[.!?]$/.test(this.initFailure) ? this.initFailure : `${this.initFailure}.`} Correct the setting: the server starts again when the settings change.`, 'INVALID_SETTINGS');
    }
    return new ServerFailure(`${SERVER_GAVE_UP} Run "SnapKV: Restart Server" to start it again.`, 'SERVER_STOPPED');
  }

  /**
   * The settings changed while the server was down (it refused to initialize, or stopped after
   * crashes): start a fresh one with the new settings.
   */
  async restartForNewSettings(): Promise<void> {
    this.crashPolicy.reset();
    const old = this.client;
    this.client = undefined;
    if (old !== undefined) await old.dispose(2000).catch(() => undefined);
    await this.start();
  }

  /** A restart asked for by the user: past crashes are forgotten. */
  async restart(): Promise<void> {
    this.crashPolicy.reset();
    if (this.client?.isRunning()) {
      this.setState('starting');
      await this.client.restart();
    } else {
      await this.start();
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    if (client.needsStop()) await client.stop(5000);
    this.setState('stopped');
  }

  /** Builds (or reuses) the repository prefix; progress comes through LSP work-done progress. */
  async index(params: IndexParams, onProgress: (progress: IndexProgress) => void, token?: vscode.CancellationToken): Promise<IndexResult> {
    const client = this.runningClient();
    const workDoneToken = randomUUID();
    const subscription = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => onProgress(toIndexProgress(value)));
    try {
      return await this.send<IndexResult>(Methods.index, { ...params, workDoneToken }, token);
    } finally {
      subscription.dispose();
    }
  }

  /**
   * Asks a question. Answer text arrives through `onDelta` as it is generated; the promise resolves with the
   * whole answer and its references. Cancelling `token` asks the server to stop; the result then has
   * stopReason 'cancelled' and the text generated so far.
   */
  async ask(params: Omit<AskParams, 'requestId'>, onDelta: (text: string) => void, token?: vscode.CancellationToken): Promise<AskResult> {
    this.runningClient();
    const requestId = randomUUID();
    this.answerListeners.set(requestId, onDelta);
    const cancelSubscription = token?.onCancellationRequested(() => {
      this.cancel(requestId).catch((error) => this.log.warn(`Cancelling ${requestId}: ${messageOf(error)}`));
    });
    try {
      if (token?.isCancellationRequested) throw new vscode.CancellationError();
      return await this.send<AskResult>(Methods.ask, { ...params, requestId } satisfies AskParams);
    } finally {
      cancelSubscription?.dispose();
      this.answerListeners.delete(requestId);
    }
  }

  async cancel(requestId: string): Promise<void> {
    if (!this.client?.isRunning()) return;
    await this.send<unknown>(Methods.cancel, { requestId });
  }

  async status(): Promise<StatusResult> {
    return this.send<StatusResult>(Methods.status, {});
  }

  /** The GGUF models the server finds where Ollama and LM Studio keep them, and whether each runs here. */
  async models(): Promise<ModelsResult> {
    return this.send<ModelsResult>(Methods.models, {} satisfies ModelsParams);
  }

  async contextMap(params: ContextMapParams = {}): Promise<ContextMap> {
    return this.send<ContextMap>(Methods.contextMap, params);
  }

  /** What SnapKV keeps for a question, with the text of the kept lines; no answer. Cancelling `token` stops it. */
  async context(params: Omit<ContextParams, 'requestId'>, token?: vscode.CancellationToken): Promise<RepositoryContext> {
    return this.send<RepositoryContext>(Methods.context, { ...params, requestId: randomUUID() } satisfies ContextParams, token);
  }

  async configure(settings: ServerSettings): Promise<void> {
    if (!this.client?.isRunning()) return;
    await this.send<unknown>(Methods.configure, settings);
  }

  dispose(): void {
    this.answerListeners.clear();
    for (const disposable of this.disposables) disposable.dispose();
  }

  private async send<R>(method: string, params: object, token?: vscode.CancellationToken): Promise<R> {
    const client = this.runningClient();
    try {
      return await client.sendRequest<R>(method, params, token);
    } catch (error) {
      if (error instanceof vscode.CancellationError) throw error;
      throw new ServerFailure(messageOf(error), failureOf(error));
    }
  }

  private runningClient(): LanguageClient {
    if (this.client === undefined || !this.client.isRunning()) {
      const down = this.downFailure;
      if (down !== undefined) throw down;
      throw new Error('The SnapKV server is not running yet.');
    }
    return this.client;
  }

  private createClient(): LanguageClient {
    const serverOptions: ServerOptions = {
      run: { module: this.serverModule, transport: TransportKind.ipc },
      debug: { module: this.serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const clientOptions: LanguageClientOptions = {
      initializationOptions: () => readServerSettings(),
      outputChannel: this.log,
      errorHandler: {
        error: (error, message, count) => this.crashPolicy.error(error, message, count),
        // A server that refused its settings exits on purpose (server-main.ts): no crash, no restart with the
        // same settings; a settings change starts it again (restartForNewSettings).
        closed: () => (this.initFailure !== undefined ? { action: CloseAction.DoNotRestart, handled: true } : this.crashPolicy.closed()),
      },
      initializationFailedHandler: (error) => {
        this.log.error(`The SnapKV server failed to initialize: ${messageOf(error)}`);
        // A refusal exits the server after this reply (server-main.ts); it is started again when the settings
        // change. A connection lost during initialize is a crash instead, for the crash policy to restart.
        if (isInitializeRefusal(error)) this.initFailure = messageOf(error);
        return false;
      },
    };
    const client = new LanguageClient('snapkvCode', 'SnapKV Code', serverOptions, clientOptions);
    client.onNotification(Methods.answerDelta, (delta: AnswerDelta) => this.answerListeners.get(delta.requestId)?.(delta.text));
    client.onNotification(Methods.statusChanged, (status: unknown) => this.statusChangedEmitter.fire(isStatusResult(status) ? status : undefined));
    this.disposables.push(client.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        this.setState('running');
        if (this.restartAfterCrash) {
          this.restartAfterCrash = false;
          this.restartedEmitter.fire();
        }
      } else if (event.newState === State.Stopped && this.currentState !== 'failed') {
        this.setState('stopped');
      } else if (event.newState === State.StartFailed) {
        this.setState('failed');
      }
    }));
    return client;
  }

  private reportCrash(crash: ServerCrash): void {
    if (crash.restarting) {
      this.restartAfterCrash = true;
      this.log.warn(`The SnapKV server stopped unexpectedly; restarting it (${crash.recentCrashes} of ${crash.maxRestarts} restarts).`);
      void vscode.window.showWarningMessage(
        `The SnapKV server stopped unexpectedly and was restarted (${crash.recentCrashes} of ${crash.maxRestarts}).`,
        'Show Log',
      ).then((choice) => choice && this.log.show());
      return;
    }
    this.setState('failed');
    this.log.error(`The SnapKV server stopped ${crash.recentCrashes} times within ${RESTART_WINDOW_MS / 60_000} minutes; it was not restarted.`);
    void vscode.window.showErrorMessage(
      `The SnapKV server stopped ${crash.recentCrashes} times in a few minutes and was not restarted again. The log may say why.`,
      'Show Log',
      'Restart Server',
    ).then(async (choice) => {
      if (choice === 'Show Log') this.log.show();
      if (choice === 'Restart Server') await this.restart().catch((error) => this.log.error(messageOf(error)));
    });
  }

  private setState(state: ServerState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.stateEmitter.fire(state);
  }
}

function toIndexProgress(value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): IndexProgress {
  switch (value.kind) {
    case 'begin':
      return { kind: 'begin', title: value.title, message: value.message, percentage: value.percentage };
    case 'report':
      return { kind: 'report', message: value.message, percentage: value.percentage };
    case 'end':
      return { kind: 'end', message: value.message };
  }
}

function isStatusResult(value: unknown): value is StatusResult {
  return typeof value === 'object' && value !== null && typeof (value as StatusResult).tokensIndexed === 'number' && 'model' in value;
}

/** The server's own reply refusing initialize (server-main.ts's failInitialize: an InitializeError, retry false). */
function isInitializeRefusal(error: unknown): boolean {
  if (!(error instanceof ResponseError)) return false;
  const data: unknown = error.data;
  return typeof data === 'object' && data !== null && (data as { retry?: unknown }).retry === false;
}

export function messageOf(error: unknown): string {
  if (error instanceof ResponseError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
