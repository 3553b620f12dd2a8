#pragma once
// Conversions from the stored weight formats (F16, BF16, Q8_0 blocks) to f32.
#include <cstdint>
#include <cstring>

#include "gguf/ggml_type.h"

namespace snapkv {

inline float bf16_to_f32(std::uint16_t bits) {
  std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

float f16_to_f32(std::uint16_t bits);

// One Q8_0 block: 32 values sharing an f16 scale.
struct BlockQ8_0 {
  std::uint16_t scale_f16;
  std::int8_t quants[32];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 blocks are 34 bytes");

// Converts `count` values of one row (count a multiple of the type's block) to f32.
void convert_row_to_f32(GgmlType type, const void* row, float* out, int count);

}  // namespace snapkv
