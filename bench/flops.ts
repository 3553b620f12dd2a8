/**
 * What a forward pass must compute and read: the yardsticks that turn
 * measured times into GFLOP/s and GB/s next to the machine's limits.
 *
 * Counted: the weight matrices (2 FLOP per weight per token), attention
 * (QK^T and PV: 4 x heads x head_dim FLOP per token per cached position per
 * layer) and the output projection for the tokens whose logits are returned.
 * Not counted: norms, RoPE, softmax, SiLU, biases (well under 1%).
 */
import { BenchModelShape, WeightType, layerMatrices } from './bench-model';
import { quantizedGeometry } from '../test/fixtures/block-quantizers';

/** Bytes of one weight in the file. */
export function bytesPerWeight(type: WeightType): number {
  switch (type) {
    case 'F32': return 4;
    case 'F16':
    case 'BF16': return 2;
    case 'Q8_0': return 34 / 32;
    default: {
      const { values, bytes } = quantizedGeometry(type);
      return bytes / values;
    }
  }
}

/** Weights of the layers' matrices (the non-embedding parameters that cost FLOPs). */
export function layerMatrixParams(shape: BenchModelShape): number {
  const perLayer = layerMatrices(shape).reduce((sum, m) => sum + m.rows * m.cols * m.count, 0);
  return perLayer * shape.layers;
}

export function embeddingParams(shape: BenchModelShape): number {
  return shape.vocab * shape.hidden * (shape.tied ? 1 : 2);
}

/** FLOPs of the output projection for one token. */
export function logitsFlops(shape: BenchModelShape): number {
  return 2 * shape.hidden * shape.vocab;
}

/** Attention FLOPs of one token that attends to `context` positions (itself included). */
export function attentionFlops(shape: BenchModelShape, context: number): number {
  return 4 * shape.layers * shape.heads * shape.headDim * context;
}

/**
 * FLOPs of a prefill of `tokens` tokens after `cachedBefore` cached ones, with
 * logits for the last token only. Token i (1-based) attends to cachedBefore + i
 * positions, so the attention term uses their mean, cachedBefore + (tokens + 1) / 2.
 */
export function prefillFlops(shape: BenchModelShape, tokens: number, cachedBefore = 0): number {
  const meanContext = cachedBefore + (tokens + 1) / 2;
  return tokens * (2 * layerMatrixParams(shape) + attentionFlops(shape, meanContext)) + logitsFlops(shape);
}

/** Weight bytes one decode step must read: every layer matrix and the output matrix. */
export function decodeWeightBytes(shape: BenchModelShape, type: WeightType): number {
  return (layerMatrixParams(shape) + shape.vocab * shape.hidden) * bytesPerWeight(type);
}

/**
 * Bytes one decode step must read: the weights and the KV cache at `context`
 * positions, `kvBytesPerToken` each (model.info.kvBytesPerToken: it follows the KV type).
 */
export function decodeBytesPerToken(shape: BenchModelShape, type: WeightType, context: number, kvBytesPerToken: number): number {
  return decodeWeightBytes(shape, type) + kvBytesPerToken * context;
}
