/**
 * The arithmetic that puts each GPU figure next to its physical limit and the
 * targets of issue 7. Pure functions, so the table's numbers are tested on
 * fixed inputs (test/bench-gpu-limits.test.ts).
 *
 * Limits come from two measurements on the same machine: the bf16 matrix rate
 * (a large torch.matmul) and the device-to-device copy bandwidth (a large
 * copy_, bytes read plus bytes written). FLOPs are counted as bench/flops.ts
 * counts them: 2 per weight per token, attention 4 x layers x heads x head_dim
 * per cached position, one row of logits.
 */
import { BenchModelShape, WeightType } from '../bench-model';
import { bytesPerWeight, layerMatrixParams, prefillFlops } from '../flops';

export const TARGETS = {
  /** Decode from a compact cache: at most this many times the weight-bytes-over-bandwidth time. */
  compactDecodeOverWeightLimit: 1.3,
  /** Prefill at this length ... */
  prefillLength: 32768,
  /** ... reaches at least this fraction of the bf16 matrix rate. */
  prefillFractionOfMatmul: 0.5,
  /** One-shot mode handles prompts past this many tokens (7B shape, 80 GB card). */
  oneShotTokens: 1_000_000,
} as const;

/** FLOPs per token of an n-token prefill (its attention at the mean context n/2). */
export function prefillFlopsPerToken(shape: BenchModelShape, tokens: number): number {
  return prefillFlops(shape, tokens) / tokens;
}

/** TFLOP/s a prefill of `tokens` tokens achieved in `ms`. */
export function prefillTflops(shape: BenchModelShape, tokens: number, ms: number): number {
  return prefillFlops(shape, tokens) / (ms / 1e3) / 1e12;
}

/** Tokens/s of a prefill that ran every counted FLOP at the matrix rate. */
export function prefillLimitTokensPerSecond(shape: BenchModelShape, tokens: number, matmulTflops: number): number {
  return (matmulTflops * 1e12) / prefillFlopsPerToken(shape, tokens);
}

/** FLOPs of a question of `tokens` tokens after `cached` positions, last logits only. */
export function questionFlops(shape: BenchModelShape, tokens: number, cached: number): number {
  return prefillFlops(shape, tokens, cached);
}

/**
 * Weight bytes a decode step must read: every layer matrix and the output
 * projection (one embedding row is negligible; a tied model reads the
 * embedding matrix as its output projection, so the count is the same).
 */
export function decodeWeightBytes(shape: BenchModelShape, type: WeightType): number {
  return (layerMatrixParams(shape) + shape.vocab * shape.hidden) * bytesPerWeight(type);
}

/** Bytes of keys and values for `positions` positions of every layer. */
export function kvBytes(shape: BenchModelShape, positions: number, bytesPerElement: number, cacheHeads = shape.kvHeads): number {
  return 2 * shape.layers * cacheHeads * shape.headDim * positions * bytesPerElement;
}

/** Milliseconds to stream `bytes` at the measured copy bandwidth. */
export function streamMs(bytes: number, copyGBps: number): number {
  return (bytes / (copyGBps * 1e9)) * 1e3;
}

/** The longer of the compute time and the memory time: no implementation beats it. */
export function rooflineMs(flops: number, bytes: number, matmulTflops: number, copyGBps: number): number {
  return Math.max((flops / (matmulTflops * 1e12)) * 1e3, streamMs(bytes, copyGBps));
}

export interface Verdict {
  /** NaN inputs (not measured) give met = false and ratio = NaN; a measured 0 against a rate, ratio Infinity. */
  readonly met: boolean;
  /** How far from the target: above 1 is a miss, by that factor. */
  readonly ratio: number;
  readonly text: string;
}

function ratioText(ratio: number): string {
  return ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2);
}

function verdict(ratio: number): Verdict {
  if (Number.isNaN(ratio)) return { met: false, ratio: NaN, text: 'not measured' };
  if (ratio === Infinity) return { met: false, ratio, text: 'missed (measured 0)' };
  return ratio <= 1 ? { met: true, ratio, text: 'met' } : { met: false, ratio, text: `missed by ${ratioText(ratio)}x` };
}

/** A figure that must stay at or below `allowed` (a time). */
export function atMost(measured: number, allowed: number): Verdict {
  return verdict(measured / allowed);
}

/** A figure that must reach `required` (a rate, a length). */
export function atLeast(measured: number, required: number): Verdict {
  return verdict(required / measured);
}

/** Compact-cache decode against TARGETS: within 1.3x of weight bytes over bandwidth. */
export function compactDecodeVerdict(msPerToken: number, weightLimitMs: number): Verdict {
  return atMost(msPerToken, TARGETS.compactDecodeOverWeightLimit * weightLimitMs);
}

/** Prefill (at TARGETS.prefillLength) against half the matrix rate. */
export function prefillVerdict(achievedTflops: number, matmulTflops: number): Verdict {
  return atLeast(achievedTflops, TARGETS.prefillFractionOfMatmul * matmulTflops);
}

/** One-shot mode's longest prompt against 1M tokens. */
export function oneShotVerdict(longestTokens: number): Verdict {
  return atLeast(longestTokens, TARGETS.oneShotTokens);
}
