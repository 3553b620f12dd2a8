#pragma once
// RMSNorm of f32 rows on the device.
#include <cuda_runtime_api.h>

#include "gpu_types.h"

namespace snapkv::gpu {

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, `rows` rows of `width`
// f32 values; out in `out_type` (f32 for the matrix-vector path, the GEMM's
// operand type for prefill). The CPU reference is cpu/vector_ops rms_norm.
void rms_norm(const float* x, const float* weight, int rows, int width, float eps, DType out_type, void* out,
              cudaStream_t stream);

}  // namespace snapkv::gpu
