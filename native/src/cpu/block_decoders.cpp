#include "cpu/block_decoders.h"

#include "cpu/block_fields.h"

// Byte offsets below follow ggml's block structs (ggml-common.h), which are
// packed with no padding. Loops run over runs of 16 or 32 values with the
// scales hoisted out, so the compiler vectorizes them.

namespace snapkv {

namespace {

// Q4_0: f16 d, 16 bytes of nibbles; value j is the low nibble of byte j, value
// j + 16 its high nibble; x = d * (q - 8).
void decode_q4_0(const std::uint8_t* b, int count, float* out) {
  for (int k = 0; k < count; ++k, b += 18, out += 32) {
    const float d = half_at(b);
    const std::uint8_t* qs = b + 2;
    for (int j = 0; j < 16; ++j) {
      out[j] = d * static_cast<float>((qs[j] & 0xF) - 8);
      out[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
    }
  }
}

// Q4_1: f16 d, f16 m, nibbles as Q4_0; x = d * q + m.
void decode_q4_1(const std::uint8_t* b, int count, float* out) {
  for (int k = 0; k < count; ++k, b += 20, out += 32) {
    const float d = half_at(b);
    const float m = half_at(b + 2);
    const std::uint8_t* qs = b + 4;
    for (int j = 0; j < 16; ++j) {
      out[j] = d * static_cast<float>(qs[j] & 0xF) + m;
      out[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
    }
  }
}

// Q5_0: f16 d, a 32-bit word of fifth bits (bit j for value j), nibbles as
// Q4_0; x = d * (q - 16).
void decode_q5_0(const std::uint8_t* b, int count, float* out) {
  for (int k = 0; k < count; ++k, b += 22, out += 32) {
    const float d = half_at(b);
    const std::uint32_t high = u32_at(b + 2);
    const std::uint8_t* qs = b + 6;
    for (int j = 0; j < 16; ++j) {
      const int low = static_cast<int>((qs[j] & 0xF) | (((high >> j) & 1u) << 4));
      const int top = static_cast<int>((qs[j] >> 4) | (((high >> (j + 16)) & 1u) << 4));
      out[j] = d * static_cast<float>(low - 16);
      out[j + 16] = d * static_cast<float>(top - 16);
    }
  }
}

// Q5_1: f16 d, f16 m, fifth bits and nibbles as Q5_0; x = d * q + m.
void decode_q5_1(const std::uint8_t* b, int count, float* out) {
  for (int k = 0; k < count; ++k, b += 24, out += 32) {
    const float d = half_at(b);
    const float m = half_at(b + 2);
    const std::uint32_t high = u32_at(b + 4);
    const std::uint8_t* qs = b + 8;
    for (int j = 0; j < 16; ++j) {
      const unsigned low = (qs[j] & 0xFu) | (((high >> j) & 1u) << 4);
      const unsigned top = (qs[j] >> 4) | (((high >> (j + 16)) & 1u) << 4);
      out[j] = d * static_cast<float>(low) + m;
      out[j + 16] = d * static_cast<float>(top) + m;
    }
  }
}

// Q8_0: f16 d, 32 int8; x = d * q.
void decode_q8_0(const std::uint8_t* b, int count, float* out) {
  for (int k = 0; k < count; ++k, b += 34, out += 32) {
    const float d = half_at(b);
    const auto* qs = reinterpret_cast<const std::int8_t*>(b + 2);
    for (int j = 0; j < 32; ++j) out[j] = d * static_cast<float>(qs[j]);
  }
}

// Q2_K (84 bytes): 16 bytes of sub-block scale (low nibble) and min (high
// nibble), 64 bytes of 2-bit quants, f16 d, f16 dmin. Each half of 128 values
// reads 32 quant bytes four times, at bit shifts 0, 2, 4, 6, for 32 values
// each: two sub-blocks of 16, bytes 0..15 and 16..31.
// x = (d * scale) * q - dmin * min.
void decode_q2_k(const std::uint8_t* b, int count, float* out) {
  for (int k = 0; k < count; ++k, b += 84, out += 256) {
    const std::uint8_t* scales = b;
    const std::uint8_t* qs = b + 16;
    const float d = half_at(b + 80);
    const float dmin = half_at(b + 82);
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* q = qs + 32 * half;
      for (int s = 0; s < 4; ++s) {
        for (int g = 0; g < 2; ++g) {
          const std::uint8_t packed = scales[8 * half + 2 * s + g];
          const float scale = d * static_cast<float>(packed & 0xF);
          const float min = dmin * static_cast<float>(packed >> 4);
          float* y = out + 128 * half + 32 * s + 16 * g;
          const std::uint8_t* qg = q + 16 * g;
          for (int l = 0; l < 16; ++l) y[l] = scale * static_cast<float>((qg[l] >> (2 * s)) & 3) - min;
        }
      }
    }
  }
}

// Q3_K (110 bytes): 32 bytes of high bits (hmask), 64 bytes of 2-bit quants, 12
// bytes holding sixteen 6-bit scales (block_fields.h), f16 d. Quants are laid
// out as Q2_K's; the value's third bit is bit (4 * half + shift index) of
// hmask[byte], and a clear bit subtracts 4. x = (d * scale) * q.
void decode_q3_k(const std::uint8_t* b, int count, float* out) {
  for (int k = 0; k < count; ++k, b += 110, out += 256) {
    const std::uint8_t* hmask = b;
    const std::uint8_t* qs = b + 32;
    const std::uint8_t* packed = b + 96;
    const float d = half_at(b + 108);
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* q = qs + 32 * half;
      for (int s = 0; s < 4; ++s) {
        const int bit = 4 * half + s;
        for (int g = 0; g < 2; ++g) {
          const float scale = d * static_cast<float>(q3_k_scale(packed, 8 * half + 2 * s + g));
          float* y = out + 128 * half + 32 * s + 16 * g;
          const std::uint8_t* qg = q + 16 * g;
          const std::uint8_t* hg = hmask + 16 * g;
          for (int l = 0; l < 16; ++l) {
            const int value = ((qg[l] >> (2 * s)) & 3) - (((hg[l] >> bit) & 1) ? 0 : 4);
            y[l] = scale * static_cast<float>(value);
          }
        }
      }
    }
  }
}

// Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of scales and mins (block_fields.h), 128 bytes of
// nibbles. Each 64 values read 32 bytes: low nibbles are sub-block 2c, high
// nibbles sub-block 2c + 1. x = (d * scale) * q - dmin * min.
// Q5_K (176 bytes) is Q4_K with 32 bytes of fifth bits between the scales and
// the nibbles: the fifth bit of value l of sub-block j is bit j of qh[l].
template <bool kFifthBit>
void decode_q4_or_q5_k(const std::uint8_t* b, int count, float* out) {
  constexpr int kBlockBytes = kFifthBit ? 176 : 144;
  for (int k = 0; k < count; ++k, b += kBlockBytes, out += 256) {
    const float d = half_at(b);
    const float dmin = half_at(b + 2);
    const std::uint8_t* packed = b + 4;
    const std::uint8_t* qh = b + 16;
    const std::uint8_t* qs = b + (kFifthBit ? 48 : 16);
    for (int c = 0; c < 4; ++c) {
      int s0, m0, s1, m1;
      k_scale_and_min(packed, 2 * c, s0, m0);
      k_scale_and_min(packed, 2 * c + 1, s1, m1);
      const float scale0 = d * static_cast<float>(s0), min0 = dmin * static_cast<float>(m0);
      const float scale1 = d * static_cast<float>(s1), min1 = dmin * static_cast<float>(m1);
      const std::uint8_t* q = qs + 32 * c;
      float* y = out + 64 * c;
      for (int l = 0; l < 32; ++l) {
        unsigned low = q[l] & 0xFu;
        unsigned top = q[l] >> 4;
        if constexpr (kFifthBit) {
          low |= ((qh[l] >> (2 * c)) & 1u) << 4;
          top |= ((qh[l] >> (2 * c + 1)) & 1u) << 4;
        }
        y[l] = scale0 * static_cast<float>(low) - min0;
        y[l + 32] = scale1 * static_cast<float>(top) - min1;
      }
    }
  }
}

// Q6_K (210 bytes): 128 bytes of low nibbles (ql), 64 bytes of high bit pairs
// (qh), sixteen int8 scales, f16 d. Each half of 128 values reads 64 ql bytes
// and 32 qh bytes: value l + 32 * p (p = 0..3) takes the low nibble (p even)
// or high nibble (p odd) of ql[l + 32 * (p % 2)] and bits 2p..2p+1 of qh[l],
// minus 32, times scale[8 * half + 2 * p + l / 16]. x = (d * scale) * q.
void decode_q6_k(const std::uint8_t* b, int count, float* out) {
  for (int k = 0; k < count; ++k, b += 210, out += 256) {
    const float d = half_at(b + 208);
    const auto* scales = reinterpret_cast<const std::int8_t*>(b + 192);
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* ql = b + 64 * half;
      const std::uint8_t* qh = b + 128 + 32 * half;
      for (int p = 0; p < 4; ++p) {
        const std::uint8_t* nibbles = ql + 32 * (p % 2);
        const int shift = 4 * (p / 2);
        for (int g = 0; g < 2; ++g) {
          const float scale = d * static_cast<float>(scales[8 * half + 2 * p + g]);
          float* y = out + 128 * half + 32 * p + 16 * g;
          for (int l = 16 * g; l < 16 * g + 16; ++l) {
            const int q = static_cast<int>(((nibbles[l] >> shift) & 0xF) | (((qh[l] >> (2 * p)) & 3) << 4)) - 32;
            y[l - 16 * g] = scale * static_cast<float>(q);
          }
        }
      }
    }
  }
}

// Block sizes come from gguf/ggml_type.h, their one owner; this file adds only the decoders.
BlockFormat format_of(GgmlType type, void (*decode)(const std::uint8_t*, int, float*)) {
  const GgmlTypeTraits traits = *ggml_type_traits(static_cast<std::uint32_t>(type));
  return {static_cast<int>(traits.block_elements), static_cast<int>(traits.block_bytes), decode};
}

}  // namespace

const BlockFormat* block_format(GgmlType type) {
  static const BlockFormat kQ4_0 = format_of(GgmlType::Q4_0, decode_q4_0);
  static const BlockFormat kQ4_1 = format_of(GgmlType::Q4_1, decode_q4_1);
  static const BlockFormat kQ5_0 = format_of(GgmlType::Q5_0, decode_q5_0);
  static const BlockFormat kQ5_1 = format_of(GgmlType::Q5_1, decode_q5_1);
  static const BlockFormat kQ8_0 = format_of(GgmlType::Q8_0, decode_q8_0);
  static const BlockFormat kQ2_K = format_of(GgmlType::Q2_K, decode_q2_k);
  static const BlockFormat kQ3_K = format_of(GgmlType::Q3_K, decode_q3_k);
  static const BlockFormat kQ4_K = format_of(GgmlType::Q4_K, decode_q4_or_q5_k<false>);
  static const BlockFormat kQ5_K = format_of(GgmlType::Q5_K, decode_q4_or_q5_k<true>);
  static const BlockFormat kQ6_K = format_of(GgmlType::Q6_K, decode_q6_k);
  switch (type) {
    case GgmlType::Q4_0: return &kQ4_0;
    case GgmlType::Q4_1: return &kQ4_1;
    case GgmlType::Q5_0: return &kQ5_0;
    case GgmlType::Q5_1: return &kQ5_1;
    case GgmlType::Q8_0: return &kQ8_0;
    case GgmlType::Q2_K: return &kQ2_K;
    case GgmlType::Q3_K: return &kQ3_K;
    case GgmlType::Q4_K: return &kQ4_K;
    case GgmlType::Q5_K: return &kQ5_K;
    case GgmlType::Q6_K: return &kQ6_K;
    default: return nullptr;
  }
}

}  // namespace snapkv
