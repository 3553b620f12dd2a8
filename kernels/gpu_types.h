#pragma once
// Host-side descriptions of what the kernels read and write: element types,
// weight matrices in device memory and views of a KV cache. Plain structs with
// device pointers, so the engine's backend can describe its buffers without
// CUDA types; the launch wrappers check them before any launch.
#include <cstddef>
#include <cstdint>

#include "gguf/ggml_type.h"

namespace snapkv::gpu {

// Element types of activations and caches on the device. F16 and BF16 are the
// tensor-core operand types; F32 is the residual stream and every accumulator.
enum class DType { F32, F16, BF16 };

std::size_t dtype_bytes(DType type);
const char* dtype_name(DType type);

// A weight matrix in device memory, `rows` x `cols` (a Linear layer's [out, in]).
// F32, F16, BF16: rows of `cols` values, row-major, contiguous.
// Q8_0: repacked at upload (repack_q8_0) into two arrays, because the file's
// 34-byte blocks cannot be read 16 bytes at a time: `data` holds the int8
// quants [rows][cols] and `scales` the f16 scale of every 32 values
// [rows][cols / 32].
// Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: `data` holds the
// file's blocks as they are (rows of whole blocks, one after another; the
// kernels decode them in place); no scales.
struct DeviceMatrix {
  GgmlType type = GgmlType::F32;
  int rows = 0;
  int cols = 0;
  const void* data = nullptr;
  const void* scales = nullptr;  // Q8_0 only
};

// One stretch of a KV cache layer: `length` slots of keys and values, each
// slot `head_dim` elements, head h starting `head_stride` elements after head
// h - 1 (the capacity times head_dim for the engine's [head][slot][dim] layout).
struct KvSegment {
  const void* keys = nullptr;
  const void* values = nullptr;
  std::size_t head_stride = 0;
  int length = 0;
};

// The keys and values attention reads, in position order: `base` (a shared
// prompt prefix; length 0 when absent) followed by `own`. Key index j is slot j
// of base when j < base.length, else slot j - base.length of own.
struct KvView {
  DType type = DType::BF16;  // F16 or BF16
  int heads = 0;             // cache heads (KV heads, or query heads for a repeated cache)
  int head_dim = 0;
  KvSegment base;
  KvSegment own;

  long long length() const { return static_cast<long long>(base.length) + own.length; }
};

}  // namespace snapkv::gpu
