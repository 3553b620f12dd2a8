// Answers through an OpenAI-compatible endpoint instead of the local engine.
//
// A plain endpoint (vLLM, SGLang, llama-server, Ollama) gets the packed
// repository as a stable prefix: the system message is the instructions and
// every file, the same bytes for every question, and the conversation comes
// after it, so the endpoint's prefix cache (vLLM's automatic prefix caching,
// SGLang's radix cache, llama-server's cache_prompt) keeps the repository and
// each question pays only for its own tokens. SnapKV does not run there: the
// endpoint attends to the whole repository for every token it generates.
//
// `snapkv-code serve` says in /v1/models that it holds a repository: then
// only the conversation is sent, and SnapKV compresses on that server.
//
// Tokens are counted with the endpoint's tokenizer where it offers one
// (endpoint-token-counter.ts): the budget the repository is packed to, whether
// a question fits, and the counts shown before the endpoint reports usage.
import { AbortError } from '../engine';
import type { ChatCompletionUsage, ModelEntry, SnapKvAnswerExtension, WireMessage } from '../http/openai-wire';
import type { AskParams, AskResult, IndexResult, LeftOutFile, PromptUsage, RemoteStatus, StopReason, TokenCounting } from '../protocol';
import { packWorkspace } from '../workspace';
import { QUESTION_RESERVE_TOKENS } from '../session/prompt';
import { questionText, SYSTEM_PROMPT } from '../session/question-text';
import type { AskCall, IndexCall } from '../session/session';
import type { ResolvedSettings } from '../session/settings';
import { EndpointTokenCounter } from './endpoint-token-counter';
import { estimatingTokenizer } from './estimated-tokens';
import { OpenAiClient, RemoteError } from './openai-client';
import type { RemoteSettings } from './remote-settings';

/** Packing limit when neither the endpoint nor the settings say how long a prompt may be. */
export const DEFAULT_REMOTE_CONTEXT_TOKENS = 32_768;

export const REMOTE_NOTE =
  'SnapKV does not apply: the endpoint reads the whole repository for every answer, with its prefix cache keeping the repository between questions. ' +
  'You trade per-question compression (less memory, faster decoding, the kept files and lines) for the endpoint\'s scale (GPUs, nodes, batching).';
export const SNAPKV_SERVE_NOTE =
  'snapkv-code serve answers from its own copy of the repository, compressed with SnapKV for each question on that machine.';

const SERVE_COUNTS: TokenCounting = { source: 'endpoint', detail: 'snapkv-code serve counts the repository and each question with its model\'s own tokenizer' };

/**
 * What a chat template adds around one message (ChatML and Llama 3 add 5
 * tokens: the role's markers and line ends), and around the answer's start.
 */
export const MESSAGE_FRAMING_TOKENS = 6;

interface Endpoint {
  model: string;
  contextLength: number | undefined;
  /** Set when the endpoint is snapkv-code serve with its own repository. */
  snapkv: ModelEntry['snapkv'];
}

export interface PackedRepository {
  folder: string;
  /** The system message: instructions, then every file block. */
  system: string;
  files: number;
  /** Tokens of `system`, counted as `counting` says. */
  tokens: number;
  counting: TokenCounting;
  leftOut: LeftOutFile[];
}

export interface RemoteBackendOptions {
  /** 'auto': leave the repository to a snapkv-code serve endpoint; 'always': send it to any endpoint. */
  sendRepository?: 'auto' | 'always';
}

function stopReasonOf(finish: string | null, aborted: boolean): StopReason {
  if (aborted) return 'cancelled';
  return finish === 'length' ? 'max-tokens' : 'eos';
}

export class RemoteBackend {
  private readonly client: OpenAiClient;
  private endpoint: Endpoint | undefined;
  private probing: Promise<Endpoint> | undefined;
  private problem: string | undefined;
  private packed: PackedRepository | undefined;
  /** Made once the model is known (vLLM's request names it); probes the endpoint's /tokenize once. */
  private counter: EndpointTokenCounter | undefined;

  constructor(
    private readonly settings: RemoteSettings,
    private readonly log: (line: string) => void,
    private readonly options: RemoteBackendOptions = {},
  ) {
    this.client = new OpenAiClient(settings.url, settings.apiKey);
  }

  /** Asks the endpoint which models it serves (once; again after a failure). */
  async probe(signal?: AbortSignal): Promise<Endpoint> {
    if (this.endpoint) return this.endpoint;
    this.probing ??= this.findModel(signal).then(
      (endpoint) => {
        this.endpoint = endpoint;
        this.problem = undefined;
        this.probing = undefined;
        this.log(`answering through ${this.settings.url}, model ${endpoint.model}${endpoint.snapkv ? ' (snapkv-code serve)' : ''}`);
        return endpoint;
      },
      (error: unknown) => {
        this.probing = undefined;
        this.problem = error instanceof Error ? error.message : String(error);
        throw error;
      },
    );
    return this.probing;
  }

  private async findModel(signal: AbortSignal | undefined): Promise<Endpoint> {
    const models = await this.client.models(signal);
    const wanted = this.settings.model;
    const entry = wanted ? models.find((m) => m.id === wanted) : models[0];
    if (!entry) {
      if (wanted) {
        throw new RemoteError(`${this.settings.url} does not serve model "${wanted}" (it serves ${models.map((m) => m.id).join(', ') || 'none'}): fix setting serverModel`);
      }
      throw new RemoteError(`${this.settings.url}/models lists no model: start the server with a model, or set serverModel`);
    }
    const snapkv = this.options.sendRepository === 'always' ? undefined : entry.snapkv;
    return { model: entry.id, contextLength: typeof entry.max_model_len === 'number' ? entry.max_model_len : undefined, snapkv };
  }

  /** The repository as last indexed: packed here for a plain endpoint, or as serve holds it. */
  get indexed(): { files: number; tokens: number } | undefined {
    const serve = this.endpoint?.snapkv;
    if (serve) return { files: serve.files, tokens: serve.repositoryTokens };
    return this.packed ? { files: this.packed.files, tokens: this.packed.tokens } : undefined;
  }

  /** The folder as last packed for a plain endpoint. */
  get repository(): PackedRepository | undefined {
    return this.packed;
  }

  status(): RemoteStatus {
    const snapkv = this.endpoint?.snapkv !== undefined;
    return {
      url: this.settings.url,
      model: this.endpoint?.model ?? null,
      snapkv,
      note: snapkv ? SNAPKV_SERVE_NOTE : REMOTE_NOTE,
      ...(this.problem ? { problem: this.problem } : {}),
      ...(snapkv ? { tokenCounting: SERVE_COUNTS } : this.counter?.counting ? { tokenCounting: this.counter.counting } : {}),
    };
  }

  private counterFor(endpoint: Endpoint): EndpointTokenCounter {
    this.counter ??= new EndpointTokenCounter(this.client, endpoint.model, this.log);
    return this.counter;
  }

  /** Packs the folder for the endpoint, counted in its tokens (nothing is generated until a question comes). */
  async index(folder: string, settings: ResolvedSettings, call: IndexCall): Promise<IndexResult> {
    const started = performance.now();
    const endpoint = await this.probe(call.signal);
    if (endpoint.snapkv) {
      return { folder, files: endpoint.snapkv.files, tokens: endpoint.snapkv.repositoryTokens, prefilledTokens: 0, source: 'unchanged', leftOut: [], seconds: 0 };
    }
    const counter = this.counterFor(endpoint);
    const counting = await counter.probe(call.signal);
    const context = Math.min(settings.maxContextTokens ?? endpoint.contextLength ?? DEFAULT_REMOTE_CONTEXT_TOKENS, endpoint.contextLength ?? Infinity);
    const instructions = `${SYSTEM_PROMPT}\n\n`;
    const instructionTokens = await counter.count(instructions, call.signal);
    const budget = Math.max(0, context - QUESTION_RESERVE_TOKENS - instructionTokens);
    // The estimating tokenizer only frames the blocks; the counter decides what fits.
    const packed = await packWorkspace(
      folder,
      estimatingTokenizer,
      { maxTokens: budget, include: settings.include, exclude: settings.exclude, includeSecrets: settings.includeSecrets, countTokens: (text, signal) => counter.count(text, signal) },
      call.signal,
      (p) => call.onProgress?.({ phase: 'listing', filesDone: p.filesDone, filesTotal: p.filesTotal, tokensDone: 0, tokensTotal: p.tokens, tokensPerSecond: 0, etaMs: undefined }),
    );
    const tokens = instructionTokens + packed.totalTokens;
    this.packed = {
      folder,
      system: instructions + packed.blocks.map((block) => block.text).join(''),
      files: packed.blocks.length,
      tokens,
      counting,
      leftOut: packed.leftOut,
    };
    this.log(`packed ${folder} for ${this.settings.url}: ${packed.blocks.length} files, ${tokens} tokens (${counting.source === 'endpoint' ? 'counted by the endpoint' : 'estimated'})`);
    return { folder, files: packed.blocks.length, tokens, prefilledTokens: 0, source: 'prefill', leftOut: packed.leftOut, seconds: (performance.now() - started) / 1000 };
  }

  /**
   * The prompt's tokens for a plain endpoint: the repository, then each later message and its framing.
   * With the endpoint's counts and its context length known, a question that cannot fit is refused here,
   * before the repository travels; with estimates the endpoint judges (an estimate can be off either way: digits are a token each).
   */
  private async promptTokens(messages: WireMessage[], repository: PackedRepository, endpoint: Endpoint, maxTokens: number, signal: AbortSignal): Promise<number> {
    const counter = this.counterFor(endpoint);
    let conversation = MESSAGE_FRAMING_TOKENS;
    for (const message of messages.slice(1)) conversation += MESSAGE_FRAMING_TOKENS + (await counter.count(String(message.content ?? ''), signal));
    const prompt = repository.tokens + MESSAGE_FRAMING_TOKENS + conversation;
    const context = endpoint.contextLength;
    if (repository.counting.source === 'endpoint' && context !== undefined && prompt + maxTokens > context) {
      throw new RemoteError(
        `the question does not fit: the repository takes ${repository.tokens} tokens, the question and chat history ${conversation} ` +
          `and the answer up to ${maxTokens}, together ${prompt + maxTokens}, over the endpoint's context of ${context} tokens ` +
          `(counted by ${repository.counting.detail}). Shorten the question or the chat history, or leave files out (setting maxContextTokens or exclude globs).`,
        undefined,
        'QUESTION_TOO_LONG',
      );
    }
    return prompt;
  }

  /** The messages of a question: the repository first (a plain endpoint only), then earlier turns, then the question. */
  messagesFor(params: AskParams, repository: PackedRepository | undefined): WireMessage[] {
    const messages: WireMessage[] = repository ? [{ role: 'system', content: repository.system }] : [];
    for (const turn of params.history ?? []) {
      messages.push({ role: 'user', content: turn.question }, { role: 'assistant', content: turn.answer });
    }
    messages.push({ role: 'user', content: questionText(params) });
    return messages;
  }

  async ask(params: AskParams & { folder: string }, settings: ResolvedSettings, call: AskCall & { signal: AbortSignal }): Promise<AskResult> {
    const started = performance.now();
    const { signal } = call;
    try {
      const endpoint = await this.probe(signal);
      let repository: PackedRepository | undefined;
      if (!endpoint.snapkv) {
        if (this.packed?.folder !== params.folder) await this.index(params.folder, settings, { signal, onProgress: call.onIndexProgress });
        repository = this.packed;
        if (!repository || repository.files === 0) throw new RemoteError(`there are no files to read in ${params.folder}`);
      }
      const maxTokens = Math.min(params.maxTokens ?? settings.maxAnswerTokens, settings.maxAnswerTokens * 8);
      const messages = this.messagesFor(params, repository);
      const counted = repository ? await this.promptTokens(messages, repository, endpoint, maxTokens, signal) : undefined;
      const sent = performance.now();
      const answer = await this.client.chat(
        {
          model: endpoint.model,
          messages,
          max_tokens: maxTokens,
          temperature: params.temperature ?? 0,
          ...(endpoint.snapkv && params.snapkv ? { snapkv: params.snapkv } : {}),
        },
        { signal, onStarted: () => call.onStarted?.(), onDelta: (text) => call.onDelta?.(text) },
      );
      const finished = performance.now();
      const usage = answer.usage;
      const tokens = usage?.completion_tokens ?? answer.contentChunks;
      const firstTokenAt = answer.firstTokenAt ?? finished;
      return {
        requestId: params.requestId,
        text: answer.text,
        tokens,
        stopReason: stopReasonOf(answer.finishReason, answer.aborted),
        references: answer.snapkv?.kept ?? [],
        timings: {
          queuedMs: sent - started,
          compressMs: answer.snapkv?.compressMs ?? 0,
          firstTokenMs: firstTokenAt - started,
          decodeMsPerToken: tokens > 1 ? (finished - firstTokenAt) / (tokens - 1) : 0,
        },
        compactBytes: 0,
        ...(usage || counted !== undefined ? { prompt: this.promptReport(usage, counted, answer.snapkv, repository) } : {}),
      };
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') throw new AbortError();
      throw error;
    }
  }

  /** The endpoint's usage where it sent one; our counts where it did not. */
  private promptReport(usage: ChatCompletionUsage | undefined, counted: number | undefined, snapkv: SnapKvAnswerExtension | undefined, repository: PackedRepository | undefined): PromptUsage {
    return {
      promptTokens: usage?.prompt_tokens ?? counted ?? 0,
      // The repository we sent, where we sent one; else the one serve holds.
      repositoryTokens: repository?.tokens ?? snapkv?.repositoryTokens ?? 0,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
      keptTokens: snapkv?.keptTokens ?? 0,
    };
  }

  dispose(): void {
    this.packed = undefined;
  }
}
