// A real LSP client for tests: the built server in a child process over
// stdio, spoken to with vscode-jsonrpc, recording what the server sends.
import { ChildProcess, fork, spawn } from 'child_process';
import * as path from 'path';
import { pathToFileURL } from 'url';
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  MessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import type { AnswerDelta, ServerSettings } from '../../server/src/protocol';
import { Methods } from '../../server/src/protocol';

export const SERVER = path.join(__dirname, '..', '..', 'server', 'src', 'server-main.js');

export interface ClientOptions {
  env?: NodeJS.ProcessEnv;
  /** stdio (default), or node IPC as vscode-languageclient's TransportKind.ipc starts the server. */
  transport?: 'stdio' | 'ipc';
  /** Run the server as another user (tests that need permissions to bite while running as root). */
  uid?: number;
  gid?: number;
  /** How long the client takes to answer window/workDoneProgress/create (an editor busy elsewhere). */
  progressCreateDelayMs?: number;
  /** Caps the server's address space (ulimit -v, stdio only): a real OUT_OF_MEMORY without filling the machine. */
  addressSpaceKiB?: number;
}

export interface ProgressEvent {
  token: string | number;
  value: { kind: 'begin' | 'report' | 'end'; title?: string; message?: string; percentage?: number; cancellable?: boolean };
}

export class TestLspClient {
  readonly connection: MessageConnection;
  readonly logs: string[] = [];
  readonly progress: ProgressEvent[] = [];
  readonly createdProgressTokens: Array<string | number> = [];
  private readonly deltas = new Map<string, string[]>();
  private readonly child: ChildProcess;
  private stderr = '';
  private exited: Promise<number | null>;
  /** A server run as another user cannot signal this process, so its watchdog would take us for dead. */
  private readonly otherUser: boolean;

  constructor(options: ClientOptions = {}) {
    this.otherUser = options.uid !== undefined;
    const env = { ...process.env, ...options.env };
    const ids = { uid: options.uid, gid: options.gid };
    if (options.transport === 'ipc') {
      this.child = fork(SERVER, ['--node-ipc'], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'], env, ...ids });
      this.connection = createMessageConnection(new IPCMessageReader(this.child), new IPCMessageWriter(this.child));
    } else {
      this.child = options.addressSpaceKiB === undefined
        ? spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'], env, ...ids })
        : spawn('/bin/sh', ['-c', `ulimit -v ${Math.floor(options.addressSpaceKiB)} && exec "$0" "$1" --stdio`, process.execPath, SERVER], { stdio: ['pipe', 'pipe', 'pipe'], env, ...ids });
      const { stdout, stdin } = this.child;
      if (!stdout || !stdin) throw new Error('the server has no stdio');
      this.connection = createMessageConnection(new StreamMessageReader(stdout), new StreamMessageWriter(stdin));
    }
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.connection.onNotification('window/logMessage', (params: { message: string }) => {
      this.logs.push(params.message);
    });
    this.connection.onNotification('$/progress', (params: ProgressEvent) => {
      this.progress.push(params);
    });
    this.connection.onNotification(Methods.answerDelta, (params: AnswerDelta) => {
      const list = this.deltas.get(params.requestId) ?? [];
      list.push(params.text);
      this.deltas.set(params.requestId, list);
    });
    this.connection.onRequest('window/workDoneProgress/create', async (params: { token: string | number }) => {
      this.createdProgressTokens.push(params.token);
      if (options.progressCreateDelayMs) await new Promise((resolve) => setTimeout(resolve, options.progressCreateDelayMs));
      return null;
    });
    this.connection.onRequest('client/registerCapability', () => null);
    this.connection.listen();
  }

  /** `folder`: the workspace folder(s) the client declares; requests may name only these. */
  async initialize(settings: ServerSettings, folder?: string | readonly string[]): Promise<void> {
    const folders = folder === undefined ? [] : typeof folder === 'string' ? [folder] : folder;
    await this.connection.sendRequest('initialize', {
      // vscode-languageserver checks the parent every 3 s with kill(pid, 0); as another user that fails (EPERM) and it exits.
      processId: this.otherUser ? null : process.pid,
      rootUri: null,
      workspaceFolders: folders.length > 0 ? folders.map((f) => ({ uri: pathToFileURL(f).href, name: path.basename(f) })) : null,
      capabilities: { window: { workDoneProgress: true }, workspace: { didChangeWatchedFiles: { dynamicRegistration: true } } },
      initializationOptions: settings,
    });
    await this.connection.sendNotification('initialized', {});
  }

  deltasOf(requestId: string): string[] {
    return this.deltas.get(requestId) ?? [];
  }

  /** Cancels the user's way: the notification the editor sends from a progress's cancel button. */
  cancelProgress(token: string | number): Promise<void> {
    return this.connection.sendNotification('window/workDoneProgress/cancel', { token });
  }

  get serverStderr(): string {
    return this.stderr;
  }

  /** The server process's exit code once it has exited (null after a signal). */
  get exitCode(): Promise<number | null> {
    return this.exited;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async close(): Promise<void> {
    if (this.alive) {
      const graceful = (async () => {
        await this.connection.sendRequest('shutdown');
        await this.connection.sendNotification('exit');
      })().catch(() => undefined);
      // A server that does not answer shutdown in time is killed below rather than hanging the suite.
      await Promise.race([graceful, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
    this.connection.dispose();
  }
}
