// The language server process: `node server-main.js --stdio` or started by
// vscode-languageclient over IPC (--node-ipc). Its requests are in protocol.ts.
import { fileURLToPath } from 'url';
import { createConnection, InitializeParams, InitializeResult, ProposedFeatures } from 'vscode-languageserver/node';
import { Methods } from './protocol';
import type { ServerSettings, StatusChangedParams } from './protocol';
import { registerHandlers } from './lsp/handlers';
import { registerContextHandler } from './lsp/context-handler';
import { Session } from './session/session';
import { demoModelPath } from './session/demo-model';

const connection = createConnection(ProposedFeatures.all);
const log = (line: string): void => connection.console.log(line);
let session: Session | undefined;
let clientSupportsProgress = false;
let watchFiles = false;

function firstFolder(params: InitializeParams): string | undefined {
  const uri = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
  if (!uri) return params.rootPath ?? undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

connection.onInitialize((params): InitializeResult => {
  clientSupportsProgress = params.capabilities.window?.workDoneProgress === true;
  watchFiles = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
  const settings = (params.initializationOptions ?? {}) as ServerSettings;
  session = new Session({
    settings,
    defaultFolder: firstFolder(params),
    log,
    fallbackModel: demoModelPath,
    onStatusChanged: () => {
      if (session) void connection.sendNotification(Methods.statusChanged, session.status() satisfies StatusChangedParams);
    },
  });
  registerHandlers(connection, session, { clientSupportsProgress: () => clientSupportsProgress, log });
  registerContextHandler(connection, session, log);
  return { capabilities: {}, serverInfo: { name: 'snapkv-code', version: '0.1.0' } };
});

connection.onInitialized(() => {
  if (watchFiles) {
    void connection.client.register(
      // Typed loosely on purpose: the registration options are the protocol's, not ours.
      'workspace/didChangeWatchedFiles' as never,
      { watchers: [{ globPattern: '**/*' }] } as never,
    );
  }
  // Load the model (or ask the remote endpoint what it serves) early so the first question does not wait; problems show in status.
  session?.prepare().catch((error: unknown) => log(`not ready to answer: ${error instanceof Error ? error.message : String(error)}`));
});

connection.onShutdown(async () => {
  await session?.dispose();
});

connection.listen();
