// `snapkv-code mcp <folder>`: the repository tools over MCP on stdio. Stdout
// carries the protocol, so everything else goes to stderr.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createRepositoryMcpServer } from '../mcp/repository-mcp-server';
import type { Session } from '../session/session';

export const MCP_SERVER_VERSION = '0.1.0';

/** Serves until the client closes stdin or the signal aborts. */
export async function runMcp(session: Session, signal: AbortSignal): Promise<number> {
  const server = createRepositoryMcpServer(session, MCP_SERVER_VERSION, (line) => process.stderr.write(`snapkv-code mcp: ${line}\n`));
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.connect(transport);
  // The model loads now, so the first call waits only for the folder's index.
  session.prepare().catch((error: unknown) => process.stderr.write(`snapkv-code mcp: not ready to answer: ${error instanceof Error ? error.message : String(error)}\n`));
  await closed;
  session.cancelAll();
  await server.close();
  return 0;
}
