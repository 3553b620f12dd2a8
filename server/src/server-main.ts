// The language server process: `node server-main.js --stdio` or started by
// vscode-languageclient over IPC (--node-ipc). Its requests are in protocol.ts.
import { fileURLToPath } from 'url';
import { createConnection, InitializeError, InitializeParams, InitializeResult, ProposedFeatures, ResponseError } from 'vscode-languageserver/node';
import { Methods } from './protocol';
import type { ServerSettings, StatusChangedParams } from './protocol';
import { registerHandlers } from './lsp/handlers';
import { registerContextHandler } from './lsp/context-handler';
import { Session } from './session/session';
import { demoModelPath } from './session/demo-model';
import { checkRequest } from './requests/request-schemas';
import { openIndexProgress } from './lsp/index-progress';
import { prepareWithProgress } from './lsp/model-load-progress';

/** Time for the error reply to reach the client before a server that could not initialize exits. */
const EXIT_AFTER_FAILED_INIT_MS = 300;

const connection = createConnection(ProposedFeatures.all);
const log = (line: string): void => connection.console.log(line);
let session: Session | undefined;
let handlers: { dispose(): void } | undefined;
let clientSupportsProgress = false;
let watchFiles = false;
/** The folders the client declared: the only ones a request may name. */
let workspaceFolders: string[] = [];

function folderPath(uri: string): string | undefined {
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

function declaredFolders(params: InitializeParams): string[] {
  if (params.workspaceFolders && params.workspaceFolders.length > 0) {
    return params.workspaceFolders.map((f) => folderPath(f.uri)).filter((f): f is string => f !== undefined);
  }
  const root = params.rootUri ? folderPath(params.rootUri) : params.rootPath ?? undefined;
  return root ? [root] : [];
}

/** A server that cannot start says why (the reply, and stderr) and exits, rather than answering "Unhandled method" for ever. */
function failInitialize(error: unknown): ResponseError<InitializeError> {
  const reason = error instanceof Error ? error.message : String(error);
  process.stderr.write(`snapkv-code server cannot start: ${reason}\n`);
  setTimeout(() => process.exit(1), EXIT_AFTER_FAILED_INIT_MS);
  return new ResponseError<InitializeError>(1, `The SnapKV server cannot start: ${reason}`, { retry: false });
}

connection.onInitialize((params): InitializeResult | ResponseError<InitializeError> => {
  clientSupportsProgress = params.capabilities.window?.workDoneProgress === true;
  watchFiles = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
  const followsFolders = params.capabilities.workspace?.workspaceFolders === true;
  workspaceFolders = declaredFolders(params);
  let settings: ServerSettings;
  try {
    settings = checkRequest.initialization(params.initializationOptions);
    session = new Session({
      settings,
      defaultFolder: workspaceFolders[0],
      workspaceFolders: () => workspaceFolders,
      log,
      fallbackModel: demoModelPath,
      onStatusChanged: () => {
        if (session) void connection.sendNotification(Methods.statusChanged, session.status() satisfies StatusChangedParams);
      },
    });
  } catch (error) {
    return failInitialize(error);
  }
  handlers = registerHandlers(connection, session, { clientSupportsProgress: () => clientSupportsProgress, log });
  registerContextHandler(connection, session, log);
  return {
    capabilities: followsFolders ? { workspace: { workspaceFolders: { supported: true, changeNotifications: true } } } : {},
    serverInfo: { name: 'snapkv-code', version: '0.1.0' },
  };
});

connection.onInitialized(() => {
  if (session && connection.workspace) {
    // Folders added to or removed from the editor's workspace: the set a request may name follows them.
    try {
      connection.workspace.onDidChangeWorkspaceFolders((event) => {
        const removed = new Set(event.removed.map((f) => folderPath(f.uri)));
        const added = event.added.map((f) => folderPath(f.uri)).filter((f): f is string => f !== undefined);
        workspaceFolders = [...workspaceFolders.filter((f) => !removed.has(f)), ...added];
      });
    } catch {
      // The client does not send folder changes: the folders of initialize stand.
    }
  }
  if (watchFiles) {
    void connection.client.register(
      // Typed loosely on purpose: the registration options are the protocol's, not ours.
      'workspace/didChangeWatchedFiles' as never,
      { watchers: [{ globPattern: '**/*' }] } as never,
    );
  }
  // Load the model (or ask the remote endpoint what it serves) early so the first question does not wait; problems show in status.
  const ready = session;
  if (ready) {
    void prepareWithProgress({
      prepare: (signal, onProgress) => ready.prepare(signal, onProgress),
      openProgress: () => openIndexProgress(connection, clientSupportsProgress, undefined, 'SnapKV'),
      log,
    });
  }
});

connection.onShutdown(async () => {
  handlers?.dispose();
  await session?.dispose();
});

connection.listen();
