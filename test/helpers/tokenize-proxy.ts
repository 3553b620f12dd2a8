// A plain HTTP server in front of `snapkv-code serve` that passes every
// request through except POST /tokenize, which it answers as another kind of
// endpoint would: 'absent' as Ollama does (404: no tokenizer offered), or
// 'llama.cpp' in llama-server's shape ({content} -> {tokens}, and, as
// llama-server does, no tokens for a body without content), counted by serve's
// real tokenizer behind it. Real sockets both ways; nothing of ours is replaced.
import * as http from 'http';

export type TokenizeMode = 'absent' | 'llama.cpp';

export interface TokenizeProxy {
  /** http://127.0.0.1:PORT/v1 */
  url: string;
  /** POST /tokenize requests seen, in order, with their bodies. */
  tokenizeBodies: unknown[];
  close(): Promise<void>;
}

function readAll(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startTokenizeProxy(target: string, mode: TokenizeMode): Promise<TokenizeProxy> {
  const origin = new URL(target);
  const tokenizeBodies: unknown[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      if (req.url === '/tokenize' && req.method === 'POST') {
        const request = JSON.parse(body.toString('utf8')) as { content?: unknown; add_special?: unknown };
        tokenizeBodies.push(request);
        if (mode === 'absent') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
          return;
        }
        if (typeof request.content !== 'string') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tokens: [] }));
          return;
        }
        const counted = await fetch(`${origin.origin}/tokenize`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) },
          body: JSON.stringify({ prompt: request.content, add_special_tokens: request.add_special === true }),
        });
        const answer = (await counted.json()) as { tokens: number[] };
        res.writeHead(counted.status, { 'content-type': 'application/json' }).end(JSON.stringify({ tokens: answer.tokens }));
        return;
      }
      const forwarded = http.request({ host: origin.hostname, port: origin.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      // The client went away: let serve see it too.
      res.on('close', () => forwarded.destroy());
      forwarded.on('error', () => res.destroy());
      forwarded.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    tokenizeBodies,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
