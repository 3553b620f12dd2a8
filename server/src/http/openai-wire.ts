// The OpenAI chat-completions wire format, as much of it as `snapkv-code serve`
// speaks and the remote backend reads, plus our `snapkv` extension fields.
// Types only: the server and the client both name them.
import type { ContextFile, SnapKvSettings } from '../protocol';

export type WireRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface WireContentPart {
  type: string;
  text?: string;
}

export interface WireMessage {
  role: WireRole;
  content: string | WireContentPart[] | null;
}

export interface ChatCompletionRequest {
  model?: string;
  messages: WireMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  /** Ours: SnapKV settings for this request (serve only; other servers ignore unknown fields). */
  snapkv?: SnapKvSettings;
}

export interface ChatCompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  /** Ours: prompt entries kept per layer and KV head after SnapKV. */
  kept_tokens?: number;
}

/** Ours: what SnapKV kept for the question, in files and lines. */
export interface SnapKvAnswerExtension {
  kept: ContextFile[];
  keptTokens: number;
  repositoryTokens: number;
  compressMs: number;
}

export type WireFinishReason = 'stop' | 'length' | null;

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: number; message: { role: 'assistant'; content: string }; finish_reason: WireFinishReason }[];
  usage: ChatCompletionUsage;
  snapkv?: SnapKvAnswerExtension;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { role?: 'assistant'; content?: string }; finish_reason: WireFinishReason }[];
  usage?: ChatCompletionUsage | null;
  snapkv?: SnapKvAnswerExtension;
}

/** Ours, in a /v1/models entry: the endpoint is snapkv-code serve and holds this repository. */
export interface SnapKvModelExtension {
  repository: string;
  files: number;
  repositoryTokens: number;
}

export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** As vLLM reports it: the model's context length. */
  max_model_len?: number;
  snapkv?: SnapKvModelExtension;
}

export interface ModelList {
  object: 'list';
  data: ModelEntry[];
}

export interface WireError {
  error: { message: string; type: string; code: string | null };
}

/** vLLM's POST /tokenize request, as serve reads it (the chat form with `messages` is not offered). */
export interface TokenizeRequest {
  model?: string;
  prompt: string;
  /** Default true, as in vLLM: BOS first where the model's tokenizer adds one. */
  add_special_tokens?: boolean;
}

/** vLLM's POST /tokenize answer. */
export interface TokenizeResponse {
  count: number;
  max_model_len: number;
  tokens: number[];
}
