#include "cpu/weight_unpack.h"

#include <cstring>

#include "cpu/block_fields.h"

// Byte layouts as in cpu/block_decoders.cpp, which explains each format.

namespace snapkv {

namespace {

// Eight bits of a Q5 block's fifth bits as 0 or 16 in eight bytes: a byte
// times 0x0101... copies it to every byte, the mask keeps bit j in byte j, and
// adding 0x7F carries a set bit into the byte's top bit.
std::uint64_t fifth_bits(std::uint32_t eight) {
  const std::uint64_t spread = (eight & 0xFFu) * 0x0101010101010101ull & 0x8040201008040201ull;
  return ((spread + 0x7F7F7F7F7F7F7F7Full) & 0x8080808080808080ull) >> 3;
}

constexpr std::uint64_t kLowBit = 0x0101010101010101ull;
constexpr std::uint64_t kLowTwoBits = 0x0303030303030303ull;
constexpr std::uint64_t kLowNibble = 0x0F0F0F0F0F0F0F0Full;

// Bits [shift, shift + width) of each of eight bytes as eight bytes (`mask`
// keeps `width` low bits a byte, so no bit crosses into its neighbour): the
// K-quants' packed fields, eight values per 64-bit word, never byte by byte.
std::uint64_t byte_fields(const std::uint8_t* p, int shift, std::uint64_t mask) {
  std::uint64_t bytes;
  std::memcpy(&bytes, p, sizeof bytes);
  return (bytes >> shift) & mask;
}

void store_eight(std::uint8_t* p, std::uint64_t bytes) { std::memcpy(p, &bytes, sizeof bytes); }

// The 32 quants of a Q4 or Q5 block (16 bytes of nibbles: value j low, value
// j + 16 high; bit j of `high` the fifth bit), eight at a time in 64-bit words:
// stored once each, never byte by byte, so no narrow store stalls a wide load.
void unpack_nibbles(const std::uint8_t* qs, std::uint32_t high, std::uint8_t* u) {
  for (int h = 0; h < 2; ++h) {
    std::uint64_t q;
    std::memcpy(&q, qs + 8 * h, sizeof q);
    const std::uint64_t low = (q & kLowNibble) | fifth_bits(high >> (8 * h));
    const std::uint64_t top = ((q >> 4) & kLowNibble) | fifth_bits(high >> (16 + 8 * h));
    store_eight(u + 8 * h, low);
    store_eight(u + 16 + 8 * h, top);
  }
}

// Q4_0 and Q5_0 (kFifthBit): x = d * (q - 8) or d * (q - 16).
template <bool kFifthBit>
void unpack_q4_0_or_q5_0(const std::uint8_t* b, int count, std::uint8_t* u, float* s, float* o) {
  constexpr int kBytes = kFifthBit ? 22 : 18;
  for (int k = 0; k < count; ++k, b += kBytes, u += 32) {
    const float d = half_at(b);
    const std::uint32_t high = kFifthBit ? u32_at(b + 2) : 0;
    const std::uint8_t* qs = b + (kFifthBit ? 6 : 2);
    unpack_nibbles(qs, high, u);
    s[k] = d;
    o[k] = -(kFifthBit ? 16.0f : 8.0f) * d;
  }
}

// Q4_1 and Q5_1: x = d * q + m.
template <bool kFifthBit>
void unpack_q4_1_or_q5_1(const std::uint8_t* b, int count, std::uint8_t* u, float* s, float* o) {
  constexpr int kBytes = kFifthBit ? 24 : 20;
  for (int k = 0; k < count; ++k, b += kBytes, u += 32) {
    const std::uint32_t high = kFifthBit ? u32_at(b + 4) : 0;
    const std::uint8_t* qs = b + (kFifthBit ? 8 : 4);
    unpack_nibbles(qs, high, u);
    s[k] = half_at(b);
    o[k] = half_at(b + 2);
  }
}

// Q8_0: x = d * q = d * (q + 128) - 128 d.
void unpack_q8_0(const std::uint8_t* b, int count, std::uint8_t* u, float* s, float* o) {
  for (int k = 0; k < count; ++k, b += 34, u += 32) {
    const float d = half_at(b);
    for (int k = 0; k < 4; ++k) {  // q + 128 is q with its top bit flipped; eight at a time
      std::uint64_t values;
      std::memcpy(&values, b + 2 + 8 * k, sizeof values);
      values ^= 0x8080808080808080ull;
      std::memcpy(u + 8 * k, &values, sizeof values);
    }
    s[k] = d;
    o[k] = -128.0f * d;
  }
}

// Q2_K: groups of 16, x = (d * scale) * q - dmin * min.
void unpack_q2_k(const std::uint8_t* b, int count, std::uint8_t* u, float* s, float* o) {
  for (int k = 0; k < count; ++k, b += 84, u += 256, s += 16, o += 16) {
    const float d = half_at(b + 80);
    const float dmin = half_at(b + 82);
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* q = b + 16 + 32 * half;
      for (int shift = 0; shift < 4; ++shift) {
        for (int g = 0; g < 2; ++g) {
          const int group = 8 * half + 2 * shift + g;
          const std::uint8_t packed = b[group];
          s[group] = d * static_cast<float>(packed & 0xF);
          o[group] = -(dmin * static_cast<float>(packed >> 4));
          for (int l = 0; l < 16; l += 8) store_eight(u + 16 * group + l, byte_fields(q + 16 * g + l, 2 * shift, kLowTwoBits));
        }
      }
    }
  }
}

// Q3_K: groups of 16, x = (d * scale) * (q - 4) with q the 3-bit value.
void unpack_q3_k(const std::uint8_t* b, int count, std::uint8_t* u, float* s, float* o) {
  for (int k = 0; k < count; ++k, b += 110, u += 256, s += 16, o += 16) {
    const std::uint8_t* hmask = b;
    const std::uint8_t* packed = b + 96;
    const float d = half_at(b + 108);
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* q = b + 32 + 32 * half;
      for (int shift = 0; shift < 4; ++shift) {
        const int bit = 4 * half + shift;
        for (int g = 0; g < 2; ++g) {
          const int i = 8 * half + 2 * shift + g;
          const float scale = d * static_cast<float>(q3_k_scale(packed, i));
          s[i] = scale;
          o[i] = -4.0f * scale;
          for (int l = 0; l < 16; l += 8) {
            const int at = 16 * g + l;
            store_eight(u + 16 * i + l, byte_fields(q + at, 2 * shift, kLowTwoBits) | byte_fields(hmask + at, bit, kLowBit) << 2);
          }
        }
      }
    }
  }
}

// Q4_K and Q5_K: groups of 32, x = (d * scale) * q - dmin * min.
template <bool kFifthBit>
void unpack_q4_or_q5_k(const std::uint8_t* b, int count, std::uint8_t* u, float* s, float* o) {
  constexpr int kBytes = kFifthBit ? 176 : 144;
  for (int k = 0; k < count; ++k, b += kBytes, u += 256, s += 8, o += 8) {
    const float d = half_at(b);
    const float dmin = half_at(b + 2);
    const std::uint8_t* qh = b + 16;
    const std::uint8_t* qs = b + (kFifthBit ? 48 : 16);
    for (int j = 0; j < 8; ++j) {
      int scale, min;
      k_scale_and_min(b + 4, j, scale, min);
      s[j] = d * static_cast<float>(scale);
      o[j] = -(dmin * static_cast<float>(min));
    }
    for (int c = 0; c < 4; ++c) {
      const std::uint8_t* q = qs + 32 * c;
      std::uint8_t* y = u + 64 * c;
      for (int l = 0; l < 32; l += 8) {
        std::uint64_t low = byte_fields(q + l, 0, kLowNibble);
        std::uint64_t top = byte_fields(q + l, 4, kLowNibble);
        if constexpr (kFifthBit) {
          low |= byte_fields(qh + l, 2 * c, kLowBit) << 4;
          top |= byte_fields(qh + l, 2 * c + 1, kLowBit) << 4;
        }
        store_eight(y + l, low);
        store_eight(y + l + 32, top);
      }
    }
  }
}

// Q6_K: groups of 16, x = (d * scale) * (q - 32).
void unpack_q6_k(const std::uint8_t* b, int count, std::uint8_t* u, float* s, float* o) {
  for (int k = 0; k < count; ++k, b += 210, u += 256, s += 16, o += 16) {
    const float d = half_at(b + 208);
    const auto* scales = reinterpret_cast<const std::int8_t*>(b + 192);
    for (int i = 0; i < 16; ++i) {
      s[i] = d * static_cast<float>(scales[i]);
      o[i] = -32.0f * s[i];
    }
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* ql = b + 64 * half;
      const std::uint8_t* qh = b + 128 + 32 * half;
      for (int p = 0; p < 4; ++p) {
        const std::uint8_t* nibbles = ql + 32 * (p % 2);
        const int shift = 4 * (p / 2);
        std::uint8_t* y = u + 128 * half + 32 * p;
        for (int l = 0; l < 32; l += 8) {
          store_eight(y + l, byte_fields(nibbles + l, shift, kLowNibble) | byte_fields(qh + l, 2 * p, kLowTwoBits) << 4);
        }
      }
    }
  }
}

constexpr WeightUnpacker kQ4_0{32, 15, unpack_q4_0_or_q5_0<false>};
constexpr WeightUnpacker kQ5_0{32, 31, unpack_q4_0_or_q5_0<true>};
constexpr WeightUnpacker kQ4_1{32, 15, unpack_q4_1_or_q5_1<false>};
constexpr WeightUnpacker kQ5_1{32, 31, unpack_q4_1_or_q5_1<true>};
constexpr WeightUnpacker kQ8_0{32, 255, unpack_q8_0};
constexpr WeightUnpacker kQ2_K{16, 3, unpack_q2_k};
constexpr WeightUnpacker kQ3_K{16, 7, unpack_q3_k};
constexpr WeightUnpacker kQ4_K{32, 15, unpack_q4_or_q5_k<false>};
constexpr WeightUnpacker kQ5_K{32, 31, unpack_q4_or_q5_k<true>};
constexpr WeightUnpacker kQ6_K{16, 63, unpack_q6_k};

}  // namespace

const WeightUnpacker* weight_unpacker(GgmlType type) {
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

void unpack_row_for_kernels(GgmlType type, bool signed_weights, const std::uint8_t* row, int cols, std::uint8_t* quants,
                            float* scales, float* offsets) {
  const WeightUnpacker& unpacker = *weight_unpacker(type);
  unpacker.unpack(row, blocks_in_row(type, cols), quants, scales, offsets);
  const std::uint8_t bias = signed_weight_bias(unpacker, signed_weights);
  if (bias == 0) return;
  for (int k = 0; k < cols; ++k) quants[k] = static_cast<std::uint8_t>(quants[k] - bias);
  const int groups = cols / unpacker.group_size;
  for (int g = 0; g < groups; ++g) offsets[g] = biased_offset(offsets[g], scales[g], static_cast<float>(bias));
}

int blocks_in_row(GgmlType type, int cols) {
  return cols / static_cast<int>(ggml_type_traits(static_cast<std::uint32_t>(type))->block_elements);
}

}  // namespace snapkv
