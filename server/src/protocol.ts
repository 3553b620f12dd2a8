// The language server's custom LSP surface. Types only (plus method names and error codes):
// the extension imports this file, so it must not pull in anything else.

/** SnapKV compression settings a client may pass; each one has a server default (DEFAULT_SNAPKV, session/settings.ts). */
export interface SnapKvSettings {
  /** Last prompt tokens whose attention scores the prompt. */
  window?: number;
  /** Prompt KV entries kept per layer and KV head, window included. */
  budget?: number;
  /** Pooling kernel, odd. */
  kernel?: number;
  pooling?: 'max' | 'avg';
}

/** Sent as `initializationOptions`, and again through `snapkv/configure` to change settings live. */
export interface ServerSettings {
  /** GGUF file; when absent the server looks where Ollama and LM Studio keep models. */
  modelPath?: string;
  backend?: 'auto' | 'cuda' | 'cpu';
  /** GPU memory the engine may use, in GiB (absent or 0: what is free at load, less 5%). */
  gpuMemoryGiB?: number;
  /** Keep the repository's prompt cache in host memory and stream it to the GPU a layer at a time. */
  prefixInHostMemory?: boolean;
  /**
   * Host memory the engine may fill with the repository's prompt cache, in GiB (absent or 0: what the system
   * has available). A repository whose cache does not fit is answered one-shot.
   */
  hostMemoryGiB?: number;
  /**
   * Exact f32 matrix products on the CPU (what the engine's float64 checks hold to) instead of the
   * default fast int8 ones, about twice as slow to prefill; logits differ by a few percent at most.
   */
  exact?: boolean;
  /**
   * RoPE scaling: 'file' (default) as the model file says; 'yarn' or 'linear' stretch the file's
   * context by ropeScale (YaRN x4 serves a 32K Qwen2.5 at 128K, as Qwen recommends); 'none' turns
   * the file's scaling off.
   */
  ropeScaling?: 'file' | 'none' | 'linear' | 'yarn';
  /** The factor for ropeScaling 'yarn' or 'linear' (default 4). */
  ropeScale?: number;
  /**
   * How the CPU backend stores the KV cache: 'f16' (default, half of f32's memory), 'bf16', 'q8_0'
   * (about a quarter) or 'f32' (exact, twice f16's memory). The CUDA backend keeps f32.
   */
  kvType?: 'f16' | 'bf16' | 'q8_0' | 'f32';
  /** CPU threads for the engine (absent or 0: one per hardware thread). */
  threads?: number;
  snapkv?: SnapKvSettings;
  /** Largest packed repository in tokens (default: the model's context minus room for a question). */
  maxContextTokens?: number;
  /** Globs (relative to the folder) to pack even when a default rule would leave them out. */
  include?: string[];
  /** Globs to leave out in addition to the defaults. */
  exclude?: string[];
  /** Globs of files to pack although they hold a secret (a credential file, a private key, a token). */
  includeSecrets?: string[];
  /** Folder for saved prefix caches (default: a per-user cache folder). */
  cacheDir?: string;
  /** Upper bound on the bytes of compact caches alive at once; further questions wait (default 2 GiB). */
  compactMemoryLimit?: number;
  /** Largest answer in tokens (default 512). */
  maxAnswerTokens?: number;
  /**
   * An OpenAI-compatible endpoint (`http://host:port/v1`) that answers instead of the local engine:
   * vLLM, SGLang, llama-server, Ollama, or `snapkv-code serve`. Empty: the local engine.
   */
  serverUrl?: string;
  /** Sent as `Authorization: Bearer <key>` to serverUrl. */
  serverApiKey?: string;
  /** The model name the endpoint serves (default: the first one its /v1/models lists). */
  serverModel?: string;
}

export interface IndexParams {
  /** Absolute folder path (default: the first workspace folder of `initialize`). */
  folder?: string;
  /** Throw away the saved prefix cache and prefill from scratch. */
  force?: boolean;
  /** LSP work-done progress token chosen by the client; without one the server creates its own progress. */
  workDoneToken?: string | number;
}

export type LeftOutReason =
  | 'binary'
  | 'too-large'
  | 'lock-file'
  | 'minified'
  | 'generated'
  | 'secret'
  | 'excluded'
  | 'unreadable'
  | 'over-token-limit';

export interface LeftOutFile {
  path: string;
  reason: LeftOutReason;
  detail?: string;
}

export interface IndexResult {
  folder: string;
  files: number;
  tokens: number;
  /** Tokens this call ran through the model (0 when the cache was reused as is). */
  prefilledTokens: number;
  /** Where the prefix came from. */
  source: 'prefill' | 'incremental' | 'saved-cache' | 'unchanged' | 'one-shot';
  leftOut: LeftOutFile[];
  seconds: number;
  /** How questions are answered (absent from a remote endpoint). */
  answerMode?: AnswerModeInfo;
}

/** How the local engine answers questions about the repository. */
export interface AnswerModeInfo {
  /**
   * 'prefix-cache': the repository was prefilled once and each question is compressed against its cache.
   * 'one-shot': no prefix cache fits the memory the engine may use, so each question reads the whole
   * repository again, layer by layer.
   */
  mode: 'prefix-cache' | 'one-shot';
  /** For one-shot: why, and what it costs, in words for the user. */
  note?: string;
}

export interface ChatTurn {
  question: string;
  answer: string;
}

export interface SelectionContext {
  /** Workspace-relative path with forward slashes, or an absolute path outside it. */
  path: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  text: string;
  /** A few lines around the selection, for context. */
  surrounding?: string;
  languageId?: string;
}

export interface AskParams {
  /** Chosen by the client; names the answer in `snapkv/answerDelta` and `snapkv/cancel`. */
  requestId: string;
  question: string;
  selection?: SelectionContext;
  /** The file the user is looking at (workspace-relative). */
  activeFile?: string;
  /** Earlier turns of this chat, oldest first. */
  history?: ChatTurn[];
  folder?: string;
  maxTokens?: number;
  temperature?: number;
  snapkv?: SnapKvSettings;
}

/** One notification per piece of answer text, in order. */
export interface AnswerDelta {
  requestId: string;
  text: string;
}

/** A stretch of lines of one file and the share of the kept cache that falls in it. */
export interface ContextRange {
  startLine: number;
  endLine: number;
  /** Kept entries (summed over layers and KV heads) in these lines. */
  kept: number;
}

export interface ContextFile {
  path: string;
  /** Share of all kept repository entries that fall in this file, 0..1. */
  share: number;
  kept: number;
  ranges: ContextRange[];
}

export interface ContextMap {
  requestId: string;
  question: string;
  /** Ranked by share, largest first. */
  files: ContextFile[];
  /** Kept entries in the question and template rather than in any file. */
  keptOutsideFiles: number;
  keptTotal: number;
}

export type StopReason = 'eos' | 'stop' | 'max-tokens' | 'cancelled';

export interface AskResult {
  requestId: string;
  text: string;
  tokens: number;
  stopReason: StopReason;
  /** The files most of the kept cache came from (the top of the context map). */
  references: ContextFile[];
  timings: {
    queuedMs: number;
    /** Question prefill and compression. */
    compressMs: number;
    firstTokenMs: number;
    decodeMsPerToken: number;
  };
  compactBytes: number;
  /** The prompt's token counts (absent when the endpoint does not report them). */
  prompt?: PromptUsage;
  /** How the local engine answered (absent from a remote endpoint). */
  answerMode?: AnswerModeInfo;
}

export interface PromptUsage {
  /** The whole prompt: repository, earlier turns, question. */
  promptTokens: number;
  /** Tokens of the repository prefix (the template head included); a remote endpoint's own count where it offers a tokenizer, else estimated. */
  repositoryTokens: number;
  /** Prompt tokens that came from a cache rather than running through the model for this question. */
  cachedTokens: number;
  /** Prompt entries kept per layer and KV head after SnapKV (0 where SnapKV does not apply). */
  keptTokens: number;
}

/** `snapkv/context`: what SnapKV keeps for a question, with the text, and no answer generated. */
export interface ContextParams {
  requestId: string;
  question: string;
  folder?: string;
  history?: ChatTurn[];
  snapkv?: SnapKvSettings;
  /** Most files returned (default 8). */
  maxFiles?: number;
  /** Most characters of excerpt text returned, all files together (default 24000). */
  maxChars?: number;
}

export interface ContextExcerpt extends ContextRange {
  /** Lines startLine..endLine of the file as it was packed. */
  text: string;
}

export interface ContextFileExcerpts {
  path: string;
  share: number;
  kept: number;
  /** Strongest first. */
  excerpts: ContextExcerpt[];
}

export interface RepositoryContext {
  requestId: string;
  question: string;
  /** Ranked by share of the kept cache, largest first. */
  files: ContextFileExcerpts[];
  /** Whether files or excerpts were left out to stay within maxFiles and maxChars. */
  truncated: boolean;
  keptTotal: number;
  keptOutsideFiles: number;
  prompt: PromptUsage;
  compressMs: number;
}

export interface CancelParams {
  requestId: string;
}

export interface ModelStatus {
  path: string;
  architecture: string;
  parameters: number;
  contextLength: number;
  backend: 'cpu' | 'cuda';
  backendReason: string;
  /** With the CUDA backend: the GPU and the engine's use of its memory (bytes). */
  gpu?: GpuStatus;
  /** True for the small demonstration model that ships with the project. */
  demo: boolean;
}

export interface GpuStatus {
  name: string;
  memoryInUse: number;
  memoryBudget: number;
  weightBytes: number;
}

/**
 * A model file being read and checked (seconds to a minute for a large GGUF). Present from the moment a load
 * starts until it ends: then `model` says what loaded, or `modelProblem` why nothing did.
 */
export interface ModelLoadStatus {
  path: string;
  /** The file's size; absent when it cannot be read (the load then fails and says why). */
  bytes?: number;
  /** When the load started, in milliseconds since the epoch on the server's clock. The engine reports no finer progress. */
  startedAt: number;
}

export interface StatusResult {
  model: ModelStatus | null;
  /** Why no model is loaded, in words that say what to do. */
  modelProblem?: string;
  /** The load in flight; absent when none is. A new model chosen during a load replaces it here at once. */
  modelLoad?: ModelLoadStatus;
  folder: string | null;
  indexing: boolean;
  files: number;
  tokensIndexed: number;
  prefixBytes: number;
  /** How the indexed repository is answered, once it is indexed by the local engine. */
  answerMode?: AnswerModeInfo;
  compactBytes: number;
  questionsRunning: number;
  questionsQueued: number;
  /** Present when an OpenAI-compatible endpoint answers instead of the local engine. */
  remote?: RemoteStatus;
}

export interface RemoteStatus {
  url: string;
  /** The model the endpoint serves, once it has been asked. */
  model: string | null;
  /** True when the endpoint is `snapkv-code serve` (it holds its own repository and compresses with SnapKV). */
  snapkv: boolean;
  /** What answering through this endpoint means for the user, in words. */
  note: string;
  /** Why the endpoint cannot be used, in words that say what to do. */
  problem?: string;
  /** How the tokens of what is sent are counted, once known. */
  tokenCounting?: TokenCounting;
}

/** Whose tokenizer counts the tokens of a remote endpoint's prompts. */
export interface TokenCounting {
  /** 'endpoint': its own tokenizer (POST /tokenize); 'estimate': one token per 3 characters, when it offers none. */
  source: 'endpoint' | 'estimate';
  /** In words: which tokenizer, or why the estimate. */
  detail: string;
}

export interface ContextMapParams {
  /** Default: the last answered question. */
  requestId?: string;
}

/** What `snapkv/configure` answers: whether the folder is indexed again (the server does it by itself). */
export interface ConfigureResult {
  reindex: boolean;
}

/** The params of `snapkv/statusChanged` are always a full StatusResult. */
export type StatusChangedParams = StatusResult;

/** `snapkv/models`: the GGUF models found on this machine, for the editor's model picker. */
export type ModelsParams = Record<string, never>;

/** A GGUF model found where Ollama or LM Studio keep them, and whether it runs here. */
export interface LocalModel {
  path: string;
  /** A name people recognise: "qwen2.5-coder:1.5b", or LM Studio's "publisher/repository/file.gguf". */
  name: string;
  source: 'ollama' | 'lm-studio';
  bytes: number;
  /** general.architecture, or '' when the file names none. */
  architecture: string;
  /** Tensors per weight type, most first: "Q4_K 168, Q6_K 25, F32 121". */
  weightTypes: string;
  /** The longest prompt it serves with the RoPE scaling asked for (0 when unknown). */
  contextLength: number;
  runs: boolean;
  /** Why it does not run here, when it does not. */
  whyNot?: string;
}

export interface ModelsResult {
  /** Ollama's first, then LM Studio's, each by name; the same file once. */
  models: LocalModel[];
  /** What to do when none is found (where they were looked for, how to get one). */
  advice?: string;
}

/**
 * Why a request failed, in `ResponseError.data.code`: the engine's codes (native/src/common/engine_error.h
 * names them, the addon adds BUSY, DISPOSED, FINISHED and INTERNAL) and the server's own. Written once here;
 * clients branch on the code, never on the message.
 */
export const ENGINE_ERROR_CODES = [
  'INVALID_FILE',
  'UNSUPPORTED_MODEL',
  'INVALID_ARGUMENT',
  'CAPACITY_EXCEEDED',
  'OUT_OF_MEMORY',
  'IO_ERROR',
  'BUSY',
  'DISPOSED',
  'FINISHED',
  'BACKEND_UNAVAILABLE',
  'INTERNAL',
] as const;

export const SERVER_ERROR_CODES = [
  /** Stopped by the client or by a newer request. */
  'CANCELLED',
  /** No model is set and none was found where Ollama and LM Studio keep them. */
  'NO_MODEL',
  /** The model path names no file, or the file's tokenizer or chat template cannot be used. */
  'MODEL_NOT_LOADED',
  /** A setting has a value the server cannot use. */
  'INVALID_SETTINGS',
  /** The request's params do not fit its schema. */
  'INVALID_PARAMS',
  /** The request cannot be served as asked (an empty question, an incomplete index, a folder not declared). */
  'INVALID_REQUEST',
  /** The index was left incomplete by an update that was cancelled or failed. */
  'INDEX_INCOMPLETE',
  /** Every file of the folder was left out (binaries, secrets, exclude globs), or it is empty. */
  'NOTHING_TO_READ',
  /** Repository, question, history and answer together exceed the model's context. */
  'QUESTION_TOO_LONG',
  /** The workspace folder is missing, unreadable, or git failed on it. */
  'WORKSPACE_UNREADABLE',
  /** The OpenAI-compatible endpoint (setting serverUrl) failed or could not be reached. */
  'REMOTE_FAILED',
  /** Anything else: a bug, the log says more. */
  'UNEXPECTED',
] as const;

export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];
export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[number];
export type ErrorCode = EngineErrorCode | ServerErrorCode;

/** `ResponseError.data` of every failed request. */
export interface ErrorData {
  code: ErrorCode;
}

const ERROR_CODE_SET: ReadonlySet<string> = new Set<string>([...ENGINE_ERROR_CODES, ...SERVER_ERROR_CODES]);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && ERROR_CODE_SET.has(value);
}

export const Methods = {
  index: 'snapkv/index',
  ask: 'snapkv/ask',
  cancel: 'snapkv/cancel',
  status: 'snapkv/status',
  contextMap: 'snapkv/contextMap',
  configure: 'snapkv/configure',
  /** The GGUF models found where Ollama and LM Studio keep them; the one place that looks for them. */
  models: 'snapkv/models',
  /** What SnapKV keeps for a question, with the text of the kept lines; no answer. */
  context: 'snapkv/context',
  answerDelta: 'snapkv/answerDelta',
  /** Server -> client when status changes (indexing done, model loaded). */
  statusChanged: 'snapkv/statusChanged',
} as const;
