#pragma once
// Reading and writing KV rows in their stored type (kv/kv_type.h). Attention
// and SnapKV scoring widen a tile of rows at a time (cpu/attention_tile.h),
// a vector at a time: no f32 copy of a cache is ever made.
#include <cstddef>
#include <cstdint>

#include "kv/kv_type.h"

namespace snapkv {

// One row of `d` floats into its stored form, rounding to nearest even.
void encode_kv_row(KvType type, const float* in, std::uint8_t* out, int d);
// One stored row back to `d` floats (widen_kv_rows of one row).
void decode_kv_row(KvType type, const std::uint8_t* in, float* out, int d);

// `count` rows `stride` bytes apart widened to f32 rows of d, one after another
// in `out`, a vector at a time (attention's tiles).
void widen_kv_rows(KvType type, const std::uint8_t* rows, std::size_t stride, int count, int d, float* out);

// The scalar conversions, exposed for the unit test of the portable path.
std::uint16_t f32_to_f16_bits(float value);
std::uint16_t f32_to_bf16_bits(float value);

}  // namespace snapkv
