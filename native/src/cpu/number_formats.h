#pragma once
// Conversions from the stored weight formats (F16, BF16, Q8_0 blocks) to f32.
#include <cstdint>
#include <cmath>
#include <cstring>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "gguf/ggml_type.h"

namespace snapkv {

inline float bf16_to_f32(std::uint16_t bits) {
  std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

// Inline: the Q8_0 matrix-vector product converts one scale per 16 weights.
inline float f16_to_f32(std::uint16_t bits) {
#if defined(__F16C__)
  return _cvtsh_ss(bits);
#else
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = bits & 0x3ffu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa ? NAN : INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  float result = magnitude;
  if (sign) result = -result;
  return result;
#endif
}

// One Q8_0 block: 32 values sharing an f16 scale.
struct BlockQ8_0 {
  std::uint16_t scale_f16;
  std::int8_t quants[32];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 blocks are 34 bytes");

// Converts `count` values of one row (count a multiple of the type's block) to f32.
void convert_row_to_f32(GgmlType type, const void* row, float* out, int count);

}  // namespace snapkv
