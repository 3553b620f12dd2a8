// The raw results of a GPU benchmark run, as written to the JSON file next to
// the markdown table. A row that could not be measured carries `error`
// ('OOM' when the device ran out of memory) instead of its figures.
import { WeightType } from '../bench-model';
import { ShapeName } from './shapes';

export const OOM = 'OOM';

export interface PrefillRow {
  tokens: number;
  medianMs?: number;
  runsMs?: number[];
  tokensPerSecond?: number;
  error?: string;
}

/** 'full', or the SnapKV budget of a compact cache. */
export type CacheKind = 'full' | number;

export interface DecodeRow {
  /** Prompt positions in the cache before the first generated token (prefix + question). */
  context: number;
  cache: CacheKind;
  medianMsPerToken?: number;
  p90MsPerToken?: number;
  /** Per-token times measured (the first generated token excluded). */
  steps?: number;
  /** Keys and values held when decoding starts (what each step reads besides the weights). */
  cacheBytes?: number;
  /** Question prefill, selection and gather (compact caches only). */
  compressMs?: number;
  error?: string;
}

export interface TtftRow {
  prefix: number;
  question: number;
  cache: CacheKind;
  medianMs?: number;
  runsMs?: number[];
  error?: string;
}

export interface OneShotAttempt {
  tokens: number;
  /** 'unfinished': the run was cut off (a device call's limit) while this prompt was being compressed. */
  outcome: 'ok' | 'out-of-memory' | 'error' | 'unfinished';
  ms?: number;
  cacheBytes?: number;
  error?: string;
}

export interface OneShotSearch {
  shape: ShapeName;
  budget: number;
  attempts: OneShotAttempt[];
  /** The longest prompt that compressed; 0 when none did. */
  longestOk: number;
  /**
   * 'cap': the search reached its upper bound without running out of memory;
   * 'time': the next prompt was predicted not to fit the time left;
   * 'cut-off': the run was killed during an attempt.
   */
  stoppedBy: 'out-of-memory' | 'error' | 'cap' | 'time' | 'cut-off';
  /** The longest prompt the engine's memory plan admits (Model.planOneShot), before any attempt. */
  plannedLongest?: number;
  /** The predicted time of the prompt the search stopped before ('time'). */
  nextPredictedMs?: number;
}

export interface ModelFileInfo {
  path: string;
  bytes: number;
  /** False when an earlier run's file was reused. */
  written: boolean;
  writeSeconds: number;
}

export interface EngineShapeResult {
  shape: ShapeName;
  weightType: WeightType;
  file?: ModelFileInfo;
  loadMs?: number;
  backend?: string;
  backendReason?: string;
  /** Bytes of K and V per cached position, from the engine's own cache statistics. */
  kvBytesPerPosition?: number;
  /** Where the long prefix's cache lived: 'device', 'pinned-host' (streamed a layer at a time) or 'host'. */
  prefixPlacement?: string;
  prefill: PrefillRow[];
  decode: DecodeRow[];
  ttft: TtftRow[];
  oneShot?: OneShotSearch;
  error?: string;
}

export interface EngineResults {
  backend: 'cuda' | 'cpu';
  shapes: EngineShapeResult[];
  /** Why the engine could not run at all (the CUDA backend unavailable, say). */
  error?: string;
  errorCode?: string;
}

// What bench/gpu/torch_bench.py prints (see its docstring).
export interface TorchTiming {
  medianMs: number;
  runsMs: number[];
}

export interface TorchLimits {
  matmul?: Partial<TorchTiming> & { n: number; tflops?: number; error?: string };
  copy?: Partial<TorchTiming> & { bytes: number; gbps?: number; error?: string };
}

export interface TorchShapeResult {
  shape: string;
  parameters?: number;
  attention?: string;
  dtype?: string;
  cache?: string;
  buildSeconds?: number;
  error?: string;
  prefill?: Array<Partial<TorchTiming> & { tokens: number; tokensPerSecond?: number; mode?: string; error?: string }>;
  decode?: Array<{ context: number; steps: number; medianMsPerToken?: number; wallMsPerToken?: number; error?: string }>;
  ttft?: (Partial<TorchTiming> & { prefix: number; question: number; error?: string }) | null;
  longPrefill?: { tokens: number; mode?: string; error?: string };
}

export interface TorchReport {
  device: string;
  gpu?: string;
  torch?: string;
  transformers?: string;
  cudaRuntime?: string;
  python?: string;
  limits: TorchLimits | null;
  shapes: TorchShapeResult[];
  skipped: string | null;
}

export type TorchOutcome =
  | { status: 'ok'; report: TorchReport; command: string }
  | { status: 'skipped'; reason: string; report?: TorchReport; command: string }
  | { status: 'failed'; reason: string; report?: TorchReport; command: string };
