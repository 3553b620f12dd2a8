// One streamed chat completion as server-sent events. Its headers go out when
// the question has passed the session's checks (`open`), not when the request
// arrives: a failure before then is answered with an HTTP error status and a
// JSON body, as OpenAI's API and llama.cpp's server answer it, because clients
// (the openai SDKs, LangChain, editors) take a 200 for success. Once the stream
// is open, a failure can only be an event in it.
import type * as http from 'http';
import type { ChatCompletionChunk, WireFinishReason } from './openai-wire';

/** Least time between keep-alive comments: enough to keep proxies that drop a connection idle for a minute from doing so. */
const KEEP_ALIVE_MS = 10_000;

export class ChatStream {
  private readonly created = Math.floor(Date.now() / 1000);
  private lastComment = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly res: http.ServerResponse,
    readonly id: string,
    private readonly model: string,
  ) {}

  get isOpen(): boolean {
    return this.res.headersSent;
  }

  /** Sends the headers and the assistant's role: the answer has begun. Later calls do nothing. */
  open(): void {
    if (this.res.headersSent) return;
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    this.send(this.chunk({ role: 'assistant', content: '' }, null));
  }

  chunk(delta: ChatCompletionChunk['choices'][0]['delta'], finish: WireFinishReason, extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra };
  }

  /** One event; the stream opens first where the answer came without a start report. */
  send(data: unknown): void {
    this.open();
    this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /**
   * A comment, which clients skip: through a long prefill the connection carries something, and curl
   * shows how far it got. Only on an open stream (a comment would send a 200), and at most every KEEP_ALIVE_MS.
   */
  keepAlive(text: string): void {
    const now = performance.now();
    if (!this.isOpen || now - this.lastComment < KEEP_ALIVE_MS) return;
    this.lastComment = now;
    this.write(`: ${text}\n\n`);
  }

  end(): void {
    if (!this.res.writableEnded && !this.res.destroyed) this.res.end('data: [DONE]\n\n');
  }

  private write(text: string): void {
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(text);
  }
}
