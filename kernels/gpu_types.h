#pragma once
// Host-side descriptions of what the kernels read and write: element types,
// weight matrices in device memory and views of a KV cache. Plain structs with
// device pointers, so the engine's backend can describe its buffers without
// CUDA types; the launch wrappers check them before any launch. Nothing here
// comes from the engine: it maps its own types onto these
// (engine/device_weight_layout.h), and a unit check holds the block shapes
// below to the GGUF reader's (native/tools/unit_test.cpp).
#include <cstddef>
#include <cstdint>

namespace snapkv::gpu {

// The weight types the kernels read: ggml's, as the file stores them.
enum class WeightType { F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K };

// Values per block and bytes per block: the layouts quant_blocks.cuh decodes
// (a plain type is a block of one value).
struct BlockShape {
  int values;
  int bytes;
};

constexpr BlockShape block_shape(WeightType type) {
  switch (type) {
    case WeightType::F32: return {1, 4};
    case WeightType::F16: return {1, 2};
    case WeightType::BF16: return {1, 2};
    case WeightType::Q8_0: return {32, 34};
    case WeightType::Q4_0: return {32, 18};
    case WeightType::Q4_1: return {32, 20};
    case WeightType::Q5_0: return {32, 22};
    case WeightType::Q5_1: return {32, 24};
    case WeightType::Q2_K: return {256, 84};
    case WeightType::Q3_K: return {256, 110};
    case WeightType::Q4_K: return {256, 144};
    case WeightType::Q5_K: return {256, 176};
    case WeightType::Q6_K: return {256, 210};
  }
  return {0, 0};
}

constexpr const char* weight_type_name(WeightType type) {
  switch (type) {
    case WeightType::F32: return "F32";
    case WeightType::F16: return "F16";
    case WeightType::BF16: return "BF16";
    case WeightType::Q8_0: return "Q8_0";
    case WeightType::Q4_0: return "Q4_0";
    case WeightType::Q4_1: return "Q4_1";
    case WeightType::Q5_0: return "Q5_0";
    case WeightType::Q5_1: return "Q5_1";
    case WeightType::Q2_K: return "Q2_K";
    case WeightType::Q3_K: return "Q3_K";
    case WeightType::Q4_K: return "Q4_K";
    case WeightType::Q5_K: return "Q5_K";
    case WeightType::Q6_K: return "Q6_K";
  }
  return "?";
}

// Every WeightType, for checks that walk them all.
constexpr WeightType kWeightTypes[] = {WeightType::F32,  WeightType::F16,  WeightType::BF16, WeightType::Q8_0, WeightType::Q4_0,
                                       WeightType::Q4_1, WeightType::Q5_0, WeightType::Q5_1, WeightType::Q2_K, WeightType::Q3_K,
                                       WeightType::Q4_K, WeightType::Q5_K, WeightType::Q6_K};

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
  WeightType type = WeightType::F32;
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
