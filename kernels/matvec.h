#pragma once
// Matrix-vector product for decoding one token: y = W x (or y += W x), W in
// its stored type (F32, F16, BF16, repacked Q8_0, or the file's blocks of
// Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K decoded in place), x and y in f32.
#include <cuda_runtime_api.h>

#include "gpu_types.h"

namespace snapkv::gpu {

// y[r] = sum_c W[r][c] * x[c] for r < W.rows; with `accumulate`, y[r] += that
// (the residual add fused). Memory bound: each weight is read once with
// 16-byte loads when rows are 16-byte aligned (cols a multiple of 16 / element
// size), by one warp per two rows, accumulated in f32. Block-quantized
// weights are decoded 32 at a time (quant_blocks.cuh), each weight to the
// same f32 value as the CPU's decoder. CPU reference: cpu/matmul dot_row.
void matvec(const DeviceMatrix& weights, const float* x, float* y, bool accumulate, cudaStream_t stream);

}  // namespace snapkv::gpu
