// How far engine logits are from reference logits.

/**
 * max |a - b| over the row, divided by max |b|: the error relative to the
 * scale of the logits, so rows of small and large logits are judged alike.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`logit rows differ in length: ${actual.length} vs ${expected.length}`);
  }
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= maxDiff)) maxDiff = Number.isNaN(diff) ? Infinity : diff;
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Row `row` of a rows x width matrix stored flat. */
export function rowOf(matrix: Float32Array, row: number, width: number): Float32Array {
  return matrix.subarray(row * width, (row + 1) * width);
}

/**
 * Decodes `steps` tokens from `first`, each step feeding the reference's greedy choice to both
 * sides, and returns the worst relative error of the engine's logits over the steps.
 */
export async function worstGreedyDecodeError(
  first: number,
  steps: number,
  reference: { step(token: number): ArrayLike<number> },
  extend: (token: number) => Promise<ArrayLike<number> | null | undefined>,
): Promise<number> {
  let next = first;
  let worst = 0;
  for (let step = 0; step < steps; step++) {
    const expected = reference.step(next);
    const actual = await extend(next);
    if (!actual) throw new Error(`decode step ${step} returned no logits`);
    worst = Math.max(worst, relativeError(actual, expected));
    next = argmax(expected);
  }
  return worst;
}
