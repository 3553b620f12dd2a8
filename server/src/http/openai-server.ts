// `snapkv-code serve`: an OpenAI-compatible HTTP server over one Session. The
// repository is the prompt's prefix, prefilled once; each chat request is a
// question compressed with SnapKV against it. POST /tokenize counts tokens with
// the model's tokenizer in vLLM's shape, so a remote backend pointed here packs
// by real counts. Node's http module: five routes do not need a framework.
import { createHash, randomUUID, timingSafeEqual } from 'crypto';
import * as http from 'http';
import * as path from 'path';
import { AbortError } from '../engine';
import type { AskResult } from '../protocol';
import type { AskCall, Session } from '../session/session';
import { ChatQuestion, HttpError, parseChatRequest } from './chat-request';
import { ChatStream } from './chat-stream';
import { httpErrorOf } from './failure-status';
import type { ChatCompletion, ChatCompletionUsage, ModelList, SnapKvAnswerExtension, TokenizeResponse, WireError, WireFinishReason } from './openai-wire';
import { parseTokenizeRequest } from './tokenize-request';

export interface ServeOptions {
  /** Requests must send `Authorization: Bearer <apiKey>` (not /health). */
  apiKey?: string;
  /** Larger request bodies are refused with 413. */
  maxRequestBytes: number;
  /** Chat requests running at once; more are refused with 429. */
  maxConcurrent: number;
  log: (line: string) => void;
  /** True while files changed and the index has not caught up (serve's folder watcher); /health says "reindexing". */
  indexStale?: () => boolean;
}

export const DEFAULT_SERVE_OPTIONS = { maxRequestBytes: 1024 * 1024, maxConcurrent: 4 } as const;

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function wireError(error: HttpError): WireError {
  return { error: { message: error.message, type: error.type, code: String(error.status) } };
}

function sameSecret(given: string, expected: string): boolean {
  // Hashes first: equal lengths for timingSafeEqual, and nothing learnt from the time taken.
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = (): HttpError => new HttpError(413, `the request body is over the limit of ${limit} bytes`);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

function finishReasonOf(result: AskResult): WireFinishReason {
  return result.stopReason === 'max-tokens' ? 'length' : 'stop';
}

function usageOf(result: AskResult): ChatCompletionUsage {
  const prompt = result.prompt;
  const promptTokens = prompt?.promptTokens ?? 0;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: result.tokens,
    total_tokens: promptTokens + result.tokens,
    prompt_tokens_details: { cached_tokens: prompt?.cachedTokens ?? 0 },
    kept_tokens: prompt?.keptTokens ?? 0,
  };
}

function snapkvOf(result: AskResult): SnapKvAnswerExtension {
  return {
    kept: result.references,
    keptTokens: result.prompt?.keptTokens ?? 0,
    repositoryTokens: result.prompt?.repositoryTokens ?? 0,
    compressMs: result.timings.compressMs,
  };
}

export class OpenAiServer {
  readonly server: http.Server;
  private running = 0;

  constructor(
    private readonly session: Session,
    private readonly options: ServeOptions,
  ) {
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        const failure = httpErrorOf(error);
        if (failure.status >= 500) options.log(`${req.method} ${req.url} failed: ${failure.message}`);
        if (!res.headersSent) sendJson(res, failure.status, wireError(failure), failure.status === 413 ? { connection: 'close' } : {});
        else res.end();
        // A refused body is not read: let the client finish sending into nothing.
        req.resume();
      });
    });
  }

  /** The model's id as /v1/models lists it: its file name. */
  private modelId(): string {
    const model = this.session.status().model;
    return model ? path.basename(model.path).replace(/\.gguf$/i, '') : 'snapkv-code';
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health' && req.method === 'GET') {
      const status = this.session.status();
      // The server listens once the first index is in: any update after that is a re-index, which new
      // questions wait for while those already compressed finish on the old prefix.
      const updating = status.indexing || (this.options.indexStale?.() ?? false);
      sendJson(res, 200, {
        status: updating ? 'reindexing' : status.model && status.tokensIndexed > 0 ? 'ok' : 'loading',
        model: this.modelId(),
        files: status.files,
        repositoryTokens: status.tokensIndexed,
        questionsRunning: this.running,
      });
      return;
    }
    if (this.options.apiKey !== undefined) {
      const header = req.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!sameSecret(given, this.options.apiKey)) {
        throw new HttpError(401, 'a valid API key is needed: send Authorization: Bearer <key>', 'authentication_error');
      }
    }
    if (url.pathname === '/v1/models' && req.method === 'GET') return this.models(res);
    if (url.pathname === '/v1/chat/completions' && req.method === 'POST') return this.chat(req, res);
    if (url.pathname === '/tokenize' && req.method === 'POST') return this.tokenize(req, res);
    throw new HttpError(404, `no route ${req.method} ${url.pathname} (GET /v1/models, POST /v1/chat/completions, POST /tokenize, GET /health)`, 'not_found_error');
  }

  private async tokenize(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const request = parseTokenizeRequest(await readBody(req, this.options.maxRequestBytes));
    if (request.model !== undefined && request.model !== this.modelId()) {
      throw new HttpError(404, `the model ${JSON.stringify(request.model)} is not served here (this server serves ${this.modelId()})`, 'not_found_error');
    }
    const { tokenizer, model } = await this.session.model();
    // As serve reads a message: control-token text stays text.
    const tokens = tokenizer.encode(request.prompt, { startsPrompt: true });
    if (request.add_special_tokens !== false && tokenizer.addBos && tokenizer.bosId !== undefined) tokens.unshift(tokenizer.bosId);
    sendJson(res, 200, { count: tokens.length, max_model_len: model.info.contextLength, tokens } satisfies TokenizeResponse);
  }

  private models(res: http.ServerResponse): void {
    const status = this.session.status();
    const list: ModelList = {
      object: 'list',
      data: [
        {
          id: this.modelId(),
          object: 'model',
          created: Math.floor(Date.now() / 1000),
          owned_by: 'snapkv-code',
          ...(status.model ? { max_model_len: status.model.contextLength } : {}),
          snapkv: { repository: path.basename(status.folder ?? ''), files: status.files, repositoryTokens: status.tokensIndexed },
        },
      ],
    };
    sendJson(res, 200, list);
  }

  private async chat(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.running >= this.options.maxConcurrent) {
      throw new HttpError(429, `${this.running} questions are running, the most this server takes at once: try again shortly`, 'rate_limit_error');
    }
    this.running++;
    try {
      const question = parseChatRequest(await readBody(req, this.options.maxRequestBytes));
      const controller = new AbortController();
      // The client went away before the answer was complete: stop generating for nobody.
      res.on('close', () => {
        if (!res.writableFinished) controller.abort(new AbortError());
      });
      if (question.stream) await this.streamAnswer(question, res, controller.signal);
      else await this.answer(question, res, controller.signal);
    } finally {
      this.running--;
    }
  }

  private async ask(question: ChatQuestion, id: string, signal: AbortSignal, call: Pick<AskCall, 'onStarted' | 'onDelta' | 'onIndexProgress'> = {}): Promise<AskResult> {
    const stopped = (tokens: number): void => this.options.log(`${id}: the client went away after ${tokens} tokens; generation stopped`);
    try {
      const result = await this.session.ask(
        { requestId: id, question: question.question, history: question.history, maxTokens: question.maxTokens, temperature: question.temperature, snapkv: question.snapkv },
        { ...call, signal },
      );
      if (result.stopReason === 'cancelled') stopped(result.tokens);
      return result;
    } catch (error) {
      if (error instanceof AbortError) stopped(0);
      throw error;
    }
  }

  private async answer(question: ChatQuestion, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
    const id = `chatcmpl-${randomUUID()}`;
    const result = await this.ask(question, id, signal);
    if (signal.aborted) return;
    const completion: ChatCompletion = {
      id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: this.modelId(),
      choices: [{ index: 0, message: { role: 'assistant', content: result.text }, finish_reason: finishReasonOf(result) }],
      usage: usageOf(result),
      snapkv: snapkvOf(result),
    };
    sendJson(res, 200, completion);
  }

  private async streamAnswer(question: ChatQuestion, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
    const stream = new ChatStream(res, `chatcmpl-${randomUUID()}`, this.modelId());
    let result: AskResult;
    try {
      result = await this.ask(question, stream.id, signal, {
        // The question fits and its prefill begins: from here a one-shot prefill of the whole repository
        // can take minutes, which the client should not wait through without headers.
        onStarted: () => stream.open(),
        onDelta: (text) => stream.send(stream.chunk({ content: text }, null)),
        onIndexProgress: (p) => {
          if (p.phase === 'one-shot') stream.keepAlive(`prefilled ${p.tokensDone} of ${p.tokensTotal} tokens`);
        },
      });
    } catch (error) {
      // Not begun: the same status and JSON error as the request without streaming (route's handler).
      if (!stream.isOpen) throw error;
      if (!(error instanceof AbortError && signal.aborted)) stream.send(wireError(httpErrorOf(error)));
      stream.end();
      return;
    }
    stream.send(stream.chunk({}, finishReasonOf(result), { snapkv: snapkvOf(result) }));
    if (question.includeUsage) stream.send({ ...stream.chunk({}, null), choices: [], usage: usageOf(result) });
    stream.end();
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve({ host, port: typeof address === 'object' && address ? address.port : port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
