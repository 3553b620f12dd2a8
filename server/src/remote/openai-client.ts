// A small client for OpenAI-compatible servers (vLLM, SGLang, llama-server,
// Ollama's /v1, snapkv-code serve): list the models, stream a chat completion.
// Node's fetch, cancelled through an AbortSignal.
import type { ChatCompletionChunk, ChatCompletionRequest, ChatCompletionUsage, ModelEntry, ModelList, SnapKvAnswerExtension, WireFinishReason } from '../http/openai-wire';
import type { ServerErrorCode } from '../protocol';
import { sseData } from './sse-events';

/** The endpoint failed or could not be reached, or a question cannot be sent to it; the message says what to do. */
export class RemoteError extends Error {
  override name = 'RemoteError';
  constructor(
    message: string,
    /** The HTTP status, when the endpoint answered. */
    readonly status?: number,
    readonly code: Extract<ServerErrorCode, 'REMOTE_FAILED' | 'QUESTION_TOO_LONG'> = 'REMOTE_FAILED',
  ) {
    super(message);
  }
}

/** An answer read whole, whatever its status: for probing what an endpoint offers. */
export interface RawAnswer {
  status: number;
  /** The body as JSON; undefined when it is not JSON. */
  body: unknown;
}

export interface StreamedCompletion {
  text: string;
  finishReason: WireFinishReason;
  usage: ChatCompletionUsage | undefined;
  snapkv: SnapKvAnswerExtension | undefined;
  /** Chunks that carried text. */
  contentChunks: number;
  firstTokenAt: number | undefined;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

export class OpenAiClient {
  constructor(
    /** The API root, e.g. http://host:8000/v1. */
    readonly url: string,
    private readonly apiKey: string | undefined,
  ) {}

  private headers(): Record<string, string> {
    return { 'content-type': 'application/json', ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}) };
  }

  /**
   * The server's root, where llama-server and vLLM serve what is not OpenAI's
   * (/tokenize, /health): the API root without its /v1.
   */
  get serverRoot(): string {
    return this.url.replace(/\/v1$/, '');
  }

  private async reach(url: string, init: { method: string; body?: string; signal?: AbortSignal }): Promise<Response> {
    try {
      return await fetch(url, { ...init, headers: this.headers() });
    } catch (error) {
      if (isAbort(error)) throw error;
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new RemoteError(`cannot reach ${this.url}${cause}; check that the server runs and that setting serverUrl names it`);
    }
  }

  /** POSTs JSON to a URL under the server's root and reads the answer whole, failed or not. */
  async postRaw(pathFromRoot: string, body: unknown, signal?: AbortSignal): Promise<RawAnswer> {
    const response = await this.reach(`${this.serverRoot}${pathFromRoot}`, { method: 'POST', body: JSON.stringify(body), signal });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, body: json };
  }

  private async send(path: string, init: { method: string; body?: string; signal?: AbortSignal }): Promise<Response> {
    const response = await this.reach(`${this.url}${path}`, init);
    if (response.ok) return response;
    let detail = '';
    try {
      const body = (await response.json()) as { error?: { message?: unknown } | string; message?: unknown };
      const message = typeof body.error === 'string' ? body.error : body.error?.message ?? body.message;
      if (typeof message === 'string') detail = `: ${message}`;
    } catch {
      // not JSON: the status says enough
    }
    const hint =
      response.status === 401 || response.status === 403
        ? ' (check setting serverApiKey)'
        : response.status === 404
          ? ' (check that serverUrl ends in the API root, usually /v1, and that serverModel names a served model)'
          : '';
    throw new RemoteError(`${this.url}${path} answered ${response.status}${detail}${hint}`, response.status);
  }

  async models(signal?: AbortSignal): Promise<ModelEntry[]> {
    const response = await this.send('/models', { method: 'GET', signal });
    const list = (await response.json()) as Partial<ModelList>;
    if (!Array.isArray(list.data)) throw new RemoteError(`${this.url}/models did not answer with a list of models`);
    return list.data.filter((entry): entry is ModelEntry => typeof entry?.id === 'string');
  }

  /** Streams a completion. Aborting the signal ends it early; what came until then is returned. */
  async chat(
    request: ChatCompletionRequest,
    options: { signal?: AbortSignal; onStarted?: () => void; onDelta?: (text: string) => void },
  ): Promise<StreamedCompletion & { aborted: boolean }> {
    const body: ChatCompletionRequest = { ...request, stream: true, stream_options: { include_usage: true } };
    const response = await this.send('/chat/completions', { method: 'POST', body: JSON.stringify(body), signal: options.signal });
    if (!response.body) throw new RemoteError(`${this.url}/chat/completions answered without a body`);
    // The endpoint's stream is open: it accepted the question (a refusal is an error status, thrown above).
    options.onStarted?.();
    const result: StreamedCompletion = { text: '', finishReason: null, usage: undefined, snapkv: undefined, contentChunks: 0, firstTokenAt: undefined };
    try {
      for await (const data of sseData(response.body)) {
        if (data.trim() === '[DONE]') break;
        let chunk: ChatCompletionChunk;
        try {
          chunk = JSON.parse(data) as ChatCompletionChunk;
        } catch {
          throw new RemoteError(`${this.url}/chat/completions sent an event that is not JSON: ${data.slice(0, 80)}`);
        }
        // vLLM and serve report a failure after the stream began as an event of its own.
        const failure = (chunk as { error?: { message?: unknown } | string }).error;
        if (failure !== undefined) {
          const message = typeof failure === 'string' ? failure : typeof failure?.message === 'string' ? failure.message : JSON.stringify(failure);
          throw new RemoteError(`${this.url}/chat/completions failed while answering: ${message}`);
        }
        const choice = chunk.choices?.[0];
        const piece = choice?.delta?.content;
        if (typeof piece === 'string' && piece !== '') {
          result.firstTokenAt ??= performance.now();
          result.contentChunks++;
          result.text += piece;
          options.onDelta?.(piece);
        }
        if (choice?.finish_reason) result.finishReason = choice.finish_reason;
        if (chunk.usage) result.usage = chunk.usage;
        if (chunk.snapkv) result.snapkv = chunk.snapkv;
      }
    } catch (error) {
      if (isAbort(error) || options.signal?.aborted) return { ...result, aborted: true };
      throw error;
    }
    return { ...result, aborted: false };
  }
}
