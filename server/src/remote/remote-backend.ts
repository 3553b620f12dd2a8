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
import { AbortError } from '../engine';
import type { ModelEntry, WireMessage } from '../http/openai-wire';
import type { AskParams, AskResult, IndexResult, LeftOutFile, RemoteStatus, StopReason } from '../protocol';
import { packWorkspace } from '../workspace';
import { QUESTION_RESERVE_TOKENS } from '../session/prompt';
import { questionText, SYSTEM_PROMPT } from '../session/question-text';
import type { AskCall, IndexCall } from '../session/session';
import type { ResolvedSettings } from '../session/settings';
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
  estimatedTokens: number;
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
    return this.packed ? { files: this.packed.files, tokens: this.packed.estimatedTokens } : undefined;
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
    };
  }

  /** Packs the folder for the endpoint (nothing runs on the endpoint until a question comes). */
  async index(folder: string, settings: ResolvedSettings, call: IndexCall): Promise<IndexResult> {
    const started = performance.now();
    const endpoint = await this.probe(call.signal);
    if (endpoint.snapkv) {
      return { folder, files: endpoint.snapkv.files, tokens: endpoint.snapkv.repositoryTokens, prefilledTokens: 0, source: 'unchanged', leftOut: [], seconds: 0 };
    }
    const context = Math.min(settings.maxContextTokens ?? endpoint.contextLength ?? DEFAULT_REMOTE_CONTEXT_TOKENS, endpoint.contextLength ?? Infinity);
    const instructions = `${SYSTEM_PROMPT}\n\n`;
    const budget = Math.max(0, context - QUESTION_RESERVE_TOKENS - estimatingTokenizer.encodeWithOffsets(instructions).ids.length);
    const packed = await packWorkspace(folder, estimatingTokenizer, { maxTokens: budget, include: settings.include, exclude: settings.exclude, includeSecrets: settings.includeSecrets }, call.signal, (p) =>
      call.onProgress?.({ phase: 'listing', filesDone: p.filesDone, filesTotal: p.filesTotal, tokensDone: 0, tokensTotal: p.tokens, tokensPerSecond: 0, etaMs: undefined }),
    );
    this.packed = {
      folder,
      system: instructions + packed.blocks.map((block) => block.text).join(''),
      files: packed.blocks.length,
      estimatedTokens: packed.totalTokens,
      leftOut: packed.leftOut,
    };
    return { folder, files: packed.blocks.length, tokens: packed.totalTokens, prefilledTokens: 0, source: 'prefill', leftOut: packed.leftOut, seconds: (performance.now() - started) / 1000 };
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
      const sent = performance.now();
      const answer = await this.client.chat(
        {
          model: endpoint.model,
          messages: this.messagesFor(params, repository),
          max_tokens: maxTokens,
          temperature: params.temperature ?? 0,
          ...(endpoint.snapkv && params.snapkv ? { snapkv: params.snapkv } : {}),
        },
        { signal, onDelta: (text) => call.onDelta?.(text) },
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
        ...(usage
          ? {
              prompt: {
                promptTokens: usage.prompt_tokens,
                repositoryTokens: answer.snapkv?.repositoryTokens ?? repository?.estimatedTokens ?? 0,
                cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
                keptTokens: answer.snapkv?.keptTokens ?? 0,
              },
            }
          : {}),
      };
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') throw new AbortError();
      throw error;
    }
  }

  dispose(): void {
    this.packed = undefined;
  }
}
