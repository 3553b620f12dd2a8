// Exact comparison of float arrays: the engine's CPU arithmetic is
// batch-invariant, so results that must agree agree bit for bit.
import * as assert from 'assert';

function bits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Asserts that two Float32Arrays hold the same bit patterns (NaN == NaN, -0 != +0). */
export function assertBitwiseEqual(actual: Float32Array | null, expected: Float32Array | null, what: string): void {
  assert.ok(actual !== null, `${what}: actual is null`);
  assert.ok(expected !== null, `${what}: expected is null`);
  assert.strictEqual(actual.length, expected.length, `${what}: lengths differ`);
  const a = bits(actual);
  const b = bits(expected);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      assert.fail(`${what}: element ${i} differs: ${actual[i]} vs ${expected[i]} (${diffCount(a, b)} of ${a.length} differ)`);
    }
  }
}

function diffCount(a: Uint32Array, b: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** Rows [from, to) of a rows x width matrix stored flat, as a copy. */
export function rows(matrix: Float32Array, from: number, to: number, width: number): Float32Array {
  return matrix.slice(from * width, to * width);
}
