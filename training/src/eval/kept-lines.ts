// Whether a compact cache kept the lines that hold a question's answer. For each layer, the
// best of its cache heads is taken (heads specialise; one head keeping the line is enough
// for the layer to read it), and a line counts as kept when at least half of its tokens are.

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
