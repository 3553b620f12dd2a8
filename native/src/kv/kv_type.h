#pragma once
// How a KV cache stores one row (head_dim values of one slot, one head).
//
// f16 is the CPU default: keys after RoPE keep 11 significant bits (bf16
// keeps 8, so its rounding error is 8x larger), and the f16 range (65504) is
// far above the magnitudes RMS-normalised projections produce; values beyond
// it are saturated, never turned into infinities. bf16 is offered for models
// whose activations need the f32 range, q8_0 (llama.cpp's block layout: 32
// int8 and one f16 scale per block) halves the bytes again, and f32 is exact:
// the float64 checks run with it.
#include <cstddef>
#include <string>

namespace snapkv {

enum class KvType { F32, F16, BF16, Q8_0 };

constexpr int kQ8BlockValues = 32;
constexpr int kQ8BlockBytes = 34;  // f16 scale, then 32 int8

const char* kv_type_name(KvType type);
// 'f32' | 'f16' | 'bf16' | 'q8_0'; anything else fails naming the choices.
KvType parse_kv_type(const std::string& name);

// Bytes of one stored row of `head_dim` values; q8_0 needs head_dim to be a
// multiple of its block, and fails saying so otherwise.
std::size_t kv_row_bytes(KvType type, int head_dim);

}  // namespace snapkv
