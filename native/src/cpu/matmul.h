#pragma once
// Products of activations with weight matrices in their stored type.
#include "model/model_weights.h"

namespace snapkv {

class ThreadPool;

// out[t][r] = sum_c in[t][c] * W[r][c] for t < tokens: `in` is tokens x W.cols,
// `out` is tokens x W.rows, both row-major. One token takes the matrix-vector
// path (memory bound: weights are read once, converted in registers); more take
// the blocked matrix-matrix path (weights converted to f32 panels that stay in
// cache while a block of tokens passes over them). Unless W.exact, the fast
// int8 path (cpu/matmul_quantized.h) computes the products it applies to.
void matmul(const WeightMatrix& weights, const float* in, float* out, int tokens, ThreadPool& pool);

// The dot product of one stored row with an f32 vector.
float dot_row(const WeightMatrix& weights, int row, const float* x);

}  // namespace snapkv
