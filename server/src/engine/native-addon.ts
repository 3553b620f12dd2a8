// The typed shape of the native addon and the one place that loads it.
import * as fs from 'fs';
import * as path from 'path';

export type NativeLogitsMode = 'none' | 'last' | 'all';

export interface NativeModelConfig {
  architecture: string;
  name: string;
  layers: number;
  hidden: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  contextLength: number;
  rmsEps: number;
  ropeFreqBase: number;
  ropeLayout: 'adjacent' | 'halves';
  qkvBias: boolean;
  tiedEmbeddings: boolean;
  /** The context written in the file; contextLength is what RoPE scaling stretches it to. */
  fileContextLength: number;
  ropeScaling: RopeScalingKind;
  ropeScale: number;
  /** The trained context that ropeScale stretches, when scaling is on. */
  ropeOriginalContext?: number;
  /** rope_freqs.weight divides the RoPE frequencies (Llama 3.1/3.2). */
  ropeFreqFactors: boolean;
  /** Per-head RMSNorm of q and k (qwen3). */
  qkNorm: boolean;
}

export type RopeScalingKind = 'none' | 'linear' | 'yarn';

/** How the CPU backend stores keys and values: 'f16' (default), 'bf16', 'q8_0' or 'f32' (exact). */
export type KvType = 'f16' | 'bf16' | 'q8_0' | 'f32';

/** RoPE scaling asked for instead of the file's (YaRN on a Qwen2.5 file that has none). */
export interface RopeScalingRequest {
  ropeScaling?: RopeScalingKind;
  ropeScale?: number;
}

/** A model's shape and its file. */
export interface NativeModelInfo extends NativeModelConfig {
  path: string;
  ggufVersion: number;
  fileBytes: number;
  weightBytes: number;
  threads: number;
  backend: 'cpu' | 'cuda';
  /** How the KV cache stores keys and values ('f32' on the CUDA backend, which keeps its own). */
  kvType: KvType;
  /** Bytes of one token's keys and values over all layers, in kvType. */
  kvBytesPerToken: number;
  tensorTypes: Record<string, number>;
  /** With the CUDA backend: the device, the weights' bytes on it, and the engine's share of its memory. */
  deviceName?: string;
  deviceWeightBytes?: number;
  deviceMemoryBudget?: number;
  deviceMemoryInUse?: number;
}

/** A GGUF metadata value as the addon converts it (u64/i64 become bigint). */
export type MetadataValue = number | bigint | boolean | string | MetadataValue[];

export interface NativeCancelFlag {
  cancel(): void;
  readonly cancelled: boolean;
}

export interface NativeCacheStats {
  tokens: number;
  nextPosition: number;
  capacity: number;
  cacheHeads: number;
  usedBytes: number;
  capacityBytes: number;
  /** 'host': the CPU backend's memory; 'device': GPU memory; 'pinned-host': host memory streamed to the GPU. */
  placement: 'host' | 'device' | 'pinned-host';
  deviceBytes: number;
  hostBytes: number;
  forwardedTokens: number;
  busy: boolean;
}

export interface NativeGenerationOptions {
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  stopTokens?: Int32Array;
}

export interface NativeTokenStream {
  next(cancel?: NativeCancelFlag): Promise<number | null>;
  finish(cancel?: NativeCancelFlag): Promise<void>;
  readonly produced: number | null;
}

export interface NativeCompressOptions {
  window?: number;
  budget?: number;
  kernel?: number;
  pooling?: 'max' | 'avg';
  gqa?: 'mean' | 'repeat';
  reserveTokens?: number;
  chunkTokens?: number;
}

export interface NativeKeptHead {
  positions: Int32Array;
  scores: Float32Array;
}

/** What the addon's PrefixCache and CompactCache both offer. */
export interface NativeKvCache {
  generate(options: NativeGenerationOptions): NativeTokenStream;
  lastLogits(): Float32Array | null;
  stats(): NativeCacheStats;
  dispose(): void;
}

export interface NativePrefixCache extends NativeKvCache {
  extend(
    tokens: Int32Array,
    options: { logits?: NativeLogitsMode; chunkTokens?: number },
    cancel?: NativeCancelFlag,
    onProgress?: (done: number, total: number) => void,
  ): Promise<Float32Array | null>;
  query(
    suffix: Int32Array,
    options: NativeCompressOptions,
    cancel?: NativeCancelFlag,
    onProgress?: (done: number, total: number) => void,
  ): Promise<NativeCompactCache>;
  truncate(length: number): void;
  save(path: string): Promise<void>;
  tokens(): Int32Array;
}

export interface NativeCompactCache extends NativeKvCache {
  kept(): NativeKeptHead[][];
  promptLength(): number;
}

export interface NativeModel {
  info(): NativeModelInfo;
  metadata(): Record<string, MetadataValue>;
  metadata(key: string): MetadataValue | undefined;
  /** Asynchronous: the CUDA backend may pin gigabytes of host memory for it, on the model's engine thread. */
  createPrefix(options: { capacity?: number }): Promise<NativePrefixCache>;
  loadPrefix(path: string, options: { extraCapacity?: number }): Promise<NativePrefixCache>;
  compressOneShot(
    tokens: Int32Array,
    options: NativeCompressOptions,
    cancel?: NativeCancelFlag,
    onProgress?: (done: number, total: number) => void,
  ): Promise<NativeCompactCache>;
  planOneShot(length: number, options: NativeCompressOptions): NativeOneShotPlan | null;
  dispose(): void;
  readonly disposed: boolean;
}

/**
 * What one-shot compression of a prompt length needs (bytes) in the memory its backend computes in (the GPU's,
 * or host memory on the CPU backend), what that memory has free for it, and the longest prompt that fits.
 */
export interface NativeOneShotPlan {
  bytesNeeded: number;
  bytesAvailable: number;
  longestPrompt: number;
  /** What the sizes are of: 'GPU memory' or 'host memory'. */
  memory: string;
  /** The GPU's name, or 'this computer'. */
  deviceName: string;
  parts: { hiddenStates: number; layerKeysValues: number; selection: number; compactCache: number; working: number };
}

export interface NativeBuildInfo {
  simd: 'avx512' | 'avx2' | 'scalar';
  cuda: {
    compiled: boolean;
    devices: number;
    usable: boolean;
    deviceName: string;
    totalMemory: number;
    message: string;
  };
}

/** What a GGUF file is and whether the engine runs it: Model::load's checks, from the header alone. */
export interface NativeInspection {
  runs: boolean;
  /** Why not, when it does not run. */
  errorCode?: string;
  error?: string;
  architecture: string;
  name: string;
  tensorTypes: Record<string, number>;
  fileBytes: number;
  weightBytes: number;
  /** When the metadata could be read as a model. */
  config?: NativeModelConfig;
}

export interface NativeAddon {
  CancelFlag: new () => NativeCancelFlag;
  loadModel(
    path: string,
    options: { threads?: number; backend?: 'cpu' | 'cuda'; gpuMemoryBytes?: number; prefixInHostMemory?: boolean; kvType?: KvType; exact?: boolean } & RopeScalingRequest,
  ): Promise<NativeModel>;
  inspectModel(path: string, options: RopeScalingRequest): Promise<NativeInspection>;
  buildInfo(): NativeBuildInfo;
}

const ADDON_RELATIVE_PATH = path.join('build', 'Release', 'snapkv.node');

/** The folder holding build/Release/snapkv.node: the package root, found upward from here. */
function findAddonPath(): string {
  const override = process.env.SNAPKV_ADDON;
  if (override) return override;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, ADDON_RELATIVE_PATH);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(
    `the native engine (${ADDON_RELATIVE_PATH}) was not found above ${__dirname}; ` +
      'run `npm install` (or `npm run build:native`) in the snapkv-code folder to build it',
  );
}

let cached: NativeAddon | undefined;

export function nativeAddon(): NativeAddon {
  if (!cached) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(findAddonPath()) as NativeAddon;
  }
  return cached;
}
