#pragma once
// Element-wise steps of the transformer block on the device.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "gpu_types.h"

namespace snapkv::gpu {

// x += y (the residual add), n f32 values. CPU reference: add_in_place.
void add_in_place(float* x, const float* y, std::size_t n, cudaStream_t stream);

// out = silu(gate) * up = gate / (1 + exp(-gate)) * up, n values; out in
// `out_type` (may be `gate` itself when F32). CPU reference: swiglu.
void swiglu(const float* gate, const float* up, std::size_t n, DType out_type, void* out, cudaStream_t stream);

// out = in converted to `out_type` (round to nearest even), n values.
void convert_f32(const float* in, std::size_t n, DType out_type, void* out, cudaStream_t stream);

}  // namespace snapkv::gpu
