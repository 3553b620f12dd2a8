#pragma once
// The packed fields of ggml's weight blocks (ggml-common.h) that both the exact
// path's decoders (cpu/block_decoders.cpp) and the fast path's unpackers
// (cpu/weight_unpack.cpp) read. Little-endian hosts only, as the GGUF reader.
#include <cstdint>
#include <cstring>

#include "cpu/number_formats.h"

namespace snapkv {

inline float half_at(const std::uint8_t* p) {
  std::uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return f16_to_f32(bits);
}

inline std::uint32_t u32_at(const std::uint8_t* p) {
  std::uint32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// Q3_K's sixteen 6-bit scales in 12 bytes: scale i takes its low 4 bits from
// byte i (i < 8) or the high nibble of byte i - 8, its top 2 bits from byte
// 8 + i % 4 at bit 2 * (i / 4); stored plus 32.
inline int q3_k_scale(const std::uint8_t* packed, int i) {
  const int low = i < 8 ? packed[i] & 0xF : packed[i - 8] >> 4;
  const int top = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
  return (low | (top << 4)) - 32;
}

// The eight 6-bit (scale, min) pairs of Q4_K and Q5_K in 12 bytes: pairs 0..3
// are the low 6 bits of bytes 0..3 (scale) and 4..7 (min); pairs 4..7 take
// their low 4 bits from byte j + 4 (scale: low nibble, min: high nibble) and
// their top 2 bits from the spare top bits of bytes j - 4 (scale) and j (min).
inline void k_scale_and_min(const std::uint8_t* packed, int j, int& scale, int& min) {
  if (j < 4) {
    scale = packed[j] & 63;
    min = packed[j + 4] & 63;
  } else {
    scale = (packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4);
    min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
}

}  // namespace snapkv
