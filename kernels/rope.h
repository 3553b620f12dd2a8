#pragma once
// RoPE (both GGUF layouts) with the bias added first, fused with the store of
// the rotated heads in any layout: back into a row-major activation, or into
// a KV cache's [head][slot][dim] blocks. With rotate = false the same kernel
// stores V (bias, conversion, cache layout) without rotating.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "gpu_types.h"

namespace snapkv::gpu {

struct RopeJob {
  const float* in = nullptr;      // rows x heads x head_dim f32 ...
  std::size_t in_row_stride = 0;  // ... row t at in + t * in_row_stride, head h at + h * head_dim
  const float* bias = nullptr;    // heads * head_dim f32 added before rotating, or null
  const int* positions = nullptr; // device: the absolute position of each row (a compact cache keeps originals)
  int rows = 0;
  int heads = 0;
  int head_dim = 0;               // even, at most 512
  float freq_base = 10000.0f;
  bool adjacent_pairs = true;     // GGUF llama files rotate adjacent pairs; qwen2/qwen3 files rotate halves
  bool rotate = true;
  DType out_type = DType::F32;
  void* out = nullptr;            // element (t, h, i) at out + t * out_row_stride + h * out_head_stride + i
  std::size_t out_row_stride = 0;
  std::size_t out_head_stride = 0;
};

// out may equal in (in place) when out_type is F32 and the strides match.
// The CPU reference is cpu/vector_ops add_bias + apply_rope: angles in double
// (position * freq_base^(-2i/d)), cos and sin rounded to f32 once.
void rope(const RopeJob& job, cudaStream_t stream);

}  // namespace snapkv::gpu
