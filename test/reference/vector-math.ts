/** Float64 vector kernels of the reference forward pass: plain loops over contiguous memory. */

/**
 * out[r] = sum_c matrix[r * cols + c] * x[c]: a GGUF tensor with dims
 * [cols, rows] applied to x. Four accumulators keep the long vocab projection
 * fast; the summation order is fixed, so results are reproducible.
 */
export function matVec(matrix: Float64Array, rows: number, cols: number, x: Float64Array, out: Float64Array): void {
  if (matrix.length !== rows * cols) throw new Error(`matrix has ${matrix.length} values, expected ${rows} x ${cols}`);
  const cols4 = cols - (cols % 4);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let c = 0; c < cols4; c += 4) {
      s0 += matrix[base + c] * x[c];
      s1 += matrix[base + c + 1] * x[c + 1];
      s2 += matrix[base + c + 2] * x[c + 2];
      s3 += matrix[base + c + 3] * x[c + 3];
    }
    for (let c = cols4; c < cols; c++) s0 += matrix[base + c] * x[c];
    out[r] = s0 + s1 + (s2 + s3);
  }
}

/** out = x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(x: Float64Array, weight: Float64Array, eps: number, out: Float64Array): void {
  let squares = 0;
  for (let i = 0; i < x.length; i++) squares += x[i] * x[i];
  const scale = 1 / Math.sqrt(squares / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * scale * weight[i];
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function addInPlace(target: Float64Array, addend: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i] += addend[i];
}

/** Softmax of scores[0..count) in place, max-subtracted. */
export function softmaxInPlace(scores: Float64Array, count: number): void {
  let max = -Infinity;
  for (let i = 0; i < count; i++) max = Math.max(max, scores[i]);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    scores[i] = Math.exp(scores[i] - max);
    sum += scores[i];
  }
  for (let i = 0; i < count; i++) scores[i] /= sum;
}
