// A model ready to answer: the engine's model with the tokenizer and chat
// template read from the same GGUF file.
import * as fs from 'fs';
import * as path from 'path';
import { Engine, KvType, Model, RopeScalingRequest } from '../engine';
import { ChatTemplate, SERVER_TEMPLATE_VARIABLES } from '../text/chat-template';
import { TextTokenizer } from '../text/tokenizer';
import { formatBytes } from '../format-bytes';
import type { ModelLoadStatus } from '../protocol';
import type { IndexProgress } from './workspace-index';

export interface LoadedModel {
  readonly path: string;
  readonly fileBytes: number;
  readonly model: Model;
  readonly tokenizer: TextTokenizer;
  readonly template: ChatTemplate;
  /** Weights and embeddings, counted from the shapes. */
  readonly parameters: number;
}

/** A load of `file` starting now, as status reports it: the file's size read once, absent when it cannot be read. */
export function modelLoadStatus(file: string): ModelLoadStatus {
  let bytes: number | undefined;
  try {
    bytes = fs.statSync(file).size;
  } catch {
    // The load itself fails on such a file and says why.
  }
  return { path: file, ...(bytes !== undefined ? { bytes } : {}), startedAt: Date.now() };
}

/** The model file as progress names it: its name and size ("model.gguf (940 MiB)"), or only the name when the size is unknown. */
export function modelFileNote(load: ModelLoadStatus): string {
  return load.bytes !== undefined ? `${path.basename(load.path)} (${formatBytes(load.bytes)})` : path.basename(load.path);
}

/** What a caller waiting for the model hears: the index has not started, the model file is being read. */
export function modelLoadProgress(note: string): IndexProgress {
  return { phase: 'loading-model', note, filesDone: 0, filesTotal: 0, tokensDone: 0, tokensTotal: 0, tokensPerSecond: 0, etaMs: undefined };
}

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

function parameterCount(model: Model): number {
  const { layers, hidden, ffn, heads, kvHeads, headDim, vocab, tiedEmbeddings } = model.info;
  const attention = hidden * heads * headDim * 2 + hidden * kvHeads * headDim * 2;
  const mlp = 3 * hidden * ffn;
  const embeddings = vocab * hidden * (tiedEmbeddings ? 1 : 2);
  return layers * (attention + mlp + 2 * hidden) + embeddings + hidden;
}

/** Where and how the model runs: the backend and its GPU memory settings. */
export interface BackendSettings {
  backend: 'auto' | 'cuda' | 'cpu';
  gpuMemoryBytes: number;
  prefixInHostMemory: boolean;
  /** Exact f32 CPU matrix products instead of the fast int8 ones (absent: fast). */
  exact?: boolean;
  /** RoPE scaling instead of the file's; empty: the file's. */
  rope?: RopeScalingRequest;
  /** The CPU backend's KV storage; undefined: the engine's default. */
  kvType?: KvType;
  /** CPU threads; 0 or undefined: one per hardware thread. */
  threads?: number;
}

export async function loadModel(path: string, settings: BackendSettings, signal?: AbortSignal): Promise<LoadedModel> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch {
    throw new ModelLoadError(`model file ${path} does not exist: set the model path to a .gguf file`);
  }
  if (!stat.isFile()) throw new ModelLoadError(`model path ${path} is not a file: set it to a .gguf file`);
  const model = await Engine.load(path, {
    backend: settings.backend,
    gpuMemoryBytes: settings.gpuMemoryBytes,
    prefixInHostMemory: settings.prefixInHostMemory,
    exact: settings.exact === true,
    rope: settings.rope,
    kvType: settings.kvType,
    threads: settings.threads,
    signal,
  });
  try {
    const metadata = model.metadata();
    const tokenizer = TextTokenizer.fromMetadata(metadata);
    const template = ChatTemplate.fromMetadata(metadata, { tokenizer, variables: SERVER_TEMPLATE_VARIABLES });
    return { path, fileBytes: stat.size, model, tokenizer, template, parameters: parameterCount(model) };
  } catch (error) {
    model.dispose();
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelLoadError(`model ${path} loaded, but its tokenizer cannot be used: ${reason}`);
  }
}
