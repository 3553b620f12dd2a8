#pragma once
// The fast matmul path: activations quantized per block of 32 to int8, weights
// unpacked to integers, int8 dot products (cpu/quant_kernels.h). Not exact:
// each output differs from the f32 path by the activations' rounding (about
// 2^-8 of each block's largest value, independent per value), which is what
// test/fast-kernels.test.ts bounds against the float64 reference.
#include "cpu/quant_kernels.h"
#include "model/model_weights.h"

namespace snapkv {

class ThreadPool;

// Whether the fast path computes this product with these kernels:
// block-quantized weights for any number of tokens; F16 and BF16 where the
// set has bf16 products, a single token where it also reads them from the
// stored rows (else one token takes the f32 path, whose bits are not a
// prefill's). A token's bits never depend on its batch, one-token batches included.
bool quantized_matmul_applies(const WeightMatrix& w, int tokens, const QuantKernels& kernels);

// out[t][r] = sum_c in[t][c] * W[r][c], as matmul(), with the given kernel set.
void matmul_quantized(const WeightMatrix& w, const float* in, float* out, int tokens, ThreadPool& pool,
                      const QuantKernels& kernels);

}  // namespace snapkv
