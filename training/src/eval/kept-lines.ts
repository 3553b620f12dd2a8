// Whether a compact cache kept the lines that hold a question's answer. For each layer, the
// best of its cache heads is taken (heads specialise; one head keeping the line is enough
// for the layer to read it), and a line counts as kept when at least half of its tokens are.
// Attention is never uniform, so even a random model keeps some lines in some layers: the
// answer's line is compared with spans of the same size elsewhere in the repository.

import type { KeptHead } from '../../../server/src/engine';
import type { TokenSpan } from '../data/example-record';

export interface LineKept {
  /** Fraction of layers in which some head keeps at least half of the span's tokens. */
  readonly layersKeeping: number;
  /** Mean over layers and heads of the fraction of the span's tokens kept. */
  readonly meanCoverage: number;
}

export function spanKept(kept: readonly (readonly KeptHead[])[], span: TokenSpan): LineKept {
  const [start, end] = span;
  const size = end - start;
  if (size <= 0) throw new Error(`empty token span ${start}..${end}`);
  let layersKeeping = 0;
  let coverageSum = 0;
  let heads = 0;
  for (const layer of kept) {
    let best = 0;
    for (const head of layer) {
      const coverage = countInSpan(head.positions, start, end) / size;
      best = Math.max(best, coverage);
      coverageSum += coverage;
      heads++;
    }
    if (best >= 0.5) layersKeeping++;
  }
  return { layersKeeping: kept.length ? layersKeeping / kept.length : 0, meanCoverage: heads ? coverageSum / heads : 0 };
}

/**
 * `count` spans as long as `span`, evenly spread over the repository part of the prompt
 * [repositoryStart, repositoryEnd), none within `margin` tokens of the `avoid` spans.
 */
export function controlSpans(
  span: TokenSpan,
  repositoryStart: number,
  repositoryEnd: number,
  avoid: readonly TokenSpan[],
  count = 16,
  margin = 64,
): TokenSpan[] {
  const size = span[1] - span[0];
  const spans: TokenSpan[] = [];
  const room = repositoryEnd - repositoryStart - size;
  if (room <= 0) return spans;
  for (let k = 0; k < count; k++) {
    const start = repositoryStart + Math.floor(((k + 0.5) * room) / count);
    const near = avoid.some(([a, b]) => start < b + margin && start + size > a - margin);
    if (!near) spans.push([start, start + size]);
  }
  return spans;
}

/** The mean of spanKept over several spans (zeros when there are none). */
export function meanSpanKept(kept: readonly (readonly KeptHead[])[], spans: readonly TokenSpan[]): LineKept {
  if (spans.length === 0) return { layersKeeping: 0, meanCoverage: 0 };
  const all = spans.map((s) => spanKept(kept, s));
  return {
    layersKeeping: all.reduce((a, k) => a + k.layersKeeping, 0) / all.length,
    meanCoverage: all.reduce((a, k) => a + k.meanCoverage, 0) / all.length,
  };
}

/** Kept positions are ascending: two binary searches. */
function countInSpan(positions: Int32Array, start: number, end: number): number {
  return lowerBound(positions, end) - lowerBound(positions, start);
}

function lowerBound(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
