#pragma once
// Decoding the GGUF block formats on the device, in place (the file's blocks
// as uploaded; see engine/device_weight_layout.h): 32 consecutive weights at
// a time, the unit the matvec, the conversion for the GEMM and the embedding
// lookup share. Written from the ggml block layouts:
//
//   Q4_0 (32 values, 18 B): f16 d | 16 B nibbles. Value j < 16 is the low
//        nibble of byte j, value j + 16 its high nibble; w = (q - 8) d.
//   Q4_1 (32, 20 B): f16 d | f16 m | 16 B nibbles as Q4_0; w = q d + m.
//   Q5_0 (32, 22 B): f16 d | 32-bit qh | 16 B nibbles; bit j of qh is the
//        fifth bit of value j; w = (q - 16) d.
//   Q5_1 (32, 24 B): f16 d | f16 m | qh | nibbles; w = q d + m.
//   Q2_K (256, 84 B): 16 B scales (low nibble: scale, high: min, per 16
//        values) | 64 B 2-bit quants | f16 d | f16 dmin. Value i = 128 h +
//        32 s + l (l < 32): bits 2s of byte 32 h + l; w = (d sc) q - dmin mn.
//   Q3_K (256, 110 B): 32 B hmask | 64 B 2-bit quants | 12 B of sixteen 6-bit
//        scales | f16 d. Low bits as Q2_K; bit 4h + s of hmask byte l set
//        means q = low bits, clear means low bits - 4; w = (d (sc - 32)) q.
//        Scale j: low 4 bits in byte j (j < 8) or the high nibble of byte
//        j - 8, top 2 bits at bit 2 (j / 4) of byte 8 + j % 4.
//   Q4_K (256, 144 B): f16 d | f16 dmin | 12 B of eight 6-bit scales and
//        mins | 128 B nibbles. Value i = 64 p + 32 n + l: nibble n (low
//        first) of byte 32 p + l; w = (d sc) q - dmin mn, sub-block i / 32.
//        Scale/min j < 4: low 6 bits of bytes j / j + 4; j >= 4: nibbles of
//        byte j + 4 (low: scale, high: min), top 2 bits from bits 6-7 of
//        bytes j - 4 / j.
//   Q5_K (256, 176 B): as Q4_K with 32 B qh after the scales: bit i / 32 of
//        qh byte i % 32 is the fifth bit.
//   Q6_K (256, 210 B): 128 B low nibbles | 64 B 2-bit highs | 16 int8 scales
//        | f16 d. Value i = 128 h + 32 k + l: nibble k / 2 of byte 64 h +
//        32 (k % 2) + l, top bits 2k of byte 32 h + l, q - 32; w = (d sc) q.
//
// Every product and sum is rounded once in f32 in the order written above
// (__fmul_rn / __fadd_rn: never fused into an fma), so a decoded weight is
// the same f32 value as the CPU reference's.
#include <type_traits>

#include "device_common.cuh"

namespace snapkv::gpu {

namespace quant {

// Little-endian reads at even offsets (blocks start at even offsets).
__device__ __forceinline__ std::uint32_t u16_at(const std::uint8_t* p) {
  return *reinterpret_cast<const std::uint16_t*>(p);
}
__device__ __forceinline__ std::uint32_t u32_at(const std::uint8_t* p) { return u16_at(p) | (u16_at(p + 2) << 16); }
__device__ __forceinline__ float f16_at(const std::uint8_t* p) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(u16_at(p))));
}
// 32 bytes (or 16) at an even offset, as 32-bit words.
template <int kWords>
__device__ __forceinline__ void words_at(const std::uint8_t* p, std::uint32_t (&w)[kWords]) {
#pragma unroll
  for (int i = 0; i < kWords; ++i) w[i] = u32_at(p + 4 * i);
}
__device__ __forceinline__ std::uint32_t byte_of(const std::uint32_t* w, int i) { return (w[i >> 2] >> (8 * (i & 3))) & 0xffu; }

__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }

// The 6-bit scale and min of sub-block j of a Q4_K / Q5_K block.
__device__ __forceinline__ void k4_scale_min(const std::uint8_t* s, int j, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// The 6-bit scale j of a Q3_K block, minus 32.
__device__ __forceinline__ int q3k_scale(const std::uint8_t* s, int j) {
  const int low = j < 8 ? (s[j] & 15) : (s[j - 8] >> 4);
  const int high = (s[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
  return (low | (high << 4)) - 32;
}

}  // namespace quant

// Values per block (gpu_types.h's block_shape) and decoded groups of 32 per block.
template <int kType>
struct QuantFormat {
  static constexpr int kBlockElements = block_shape(static_cast<WeightType>(kType)).values;
  static constexpr int kGroupsPerBlock = kBlockElements / 32;
};

// v[l] = weight 32 g + l of the block at `b`, l < 32 (g < kGroupsPerBlock).
template <int kType>
__device__ __forceinline__ void decode_group(const std::uint8_t* b, int g, float (&v)[32]) {
  using namespace quant;
  if constexpr (kType == static_cast<int>(WeightType::Q4_0) || kType == static_cast<int>(WeightType::Q4_1)) {
    constexpr bool kMin = kType == static_cast<int>(WeightType::Q4_1);
    const float d = f16_at(b);
    const float m = kMin ? f16_at(b + 2) : 0.0f;
    std::uint32_t w[4];
    words_at(b + (kMin ? 4 : 2), w);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      const int lo = static_cast<int>(byte_of(w, j) & 15u), hi = static_cast<int>(byte_of(w, j) >> 4);
      if constexpr (kMin) {
        v[j] = add(mul(static_cast<float>(lo), d), m);
        v[j + 16] = add(mul(static_cast<float>(hi), d), m);
      } else {
        v[j] = mul(static_cast<float>(lo - 8), d);
        v[j + 16] = mul(static_cast<float>(hi - 8), d);
      }
    }
  } else if constexpr (kType == static_cast<int>(WeightType::Q5_0) || kType == static_cast<int>(WeightType::Q5_1)) {
    constexpr bool kMin = kType == static_cast<int>(WeightType::Q5_1);
    const float d = f16_at(b);
    const float m = kMin ? f16_at(b + 2) : 0.0f;
    const std::uint32_t qh = u32_at(b + (kMin ? 4 : 2));
    std::uint32_t w[4];
    words_at(b + (kMin ? 8 : 6), w);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      const int lo = static_cast<int>((byte_of(w, j) & 15u) | (((qh >> j) & 1u) << 4));
      const int hi = static_cast<int>((byte_of(w, j) >> 4) | (((qh >> (j + 16)) & 1u) << 4));
      if constexpr (kMin) {
        v[j] = add(mul(static_cast<float>(lo), d), m);
        v[j + 16] = add(mul(static_cast<float>(hi), d), m);
      } else {
        v[j] = mul(static_cast<float>(lo - 16), d);
        v[j + 16] = mul(static_cast<float>(hi - 16), d);
      }
    }
  } else if constexpr (kType == static_cast<int>(WeightType::Q2_K)) {
    const float d = f16_at(b + 80), dmin = f16_at(b + 82);
    const int h = g >> 2, shift = 2 * (g & 3);
    std::uint32_t w[8];
    words_at(b + 16 + 32 * h, w);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int sc = b[2 * g + half];
      const float dl = mul(d, static_cast<float>(sc & 15)), ml = mul(dmin, static_cast<float>(sc >> 4));
#pragma unroll
      for (int l = 16 * half; l < 16 * half + 16; ++l) {
        v[l] = sub(mul(dl, static_cast<float>((byte_of(w, l) >> shift) & 3u)), ml);
      }
    }
  } else if constexpr (kType == static_cast<int>(WeightType::Q3_K)) {
    const float d = f16_at(b + 108);
    const int h = g >> 2, shift = 2 * (g & 3);
    std::uint32_t w[8], mask[8];
    words_at(b + 32 + 32 * h, w);
    words_at(b, mask);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float dl = mul(d, static_cast<float>(q3k_scale(b + 96, 2 * g + half)));
#pragma unroll
      for (int l = 16 * half; l < 16 * half + 16; ++l) {
        const int low = static_cast<int>((byte_of(w, l) >> shift) & 3u);
        const int q = ((byte_of(mask, l) >> g) & 1u) ? low : low - 4;
        v[l] = mul(dl, static_cast<float>(q));
      }
    }
  } else if constexpr (kType == static_cast<int>(WeightType::Q4_K) || kType == static_cast<int>(WeightType::Q5_K)) {
    constexpr bool kHigh = kType == static_cast<int>(WeightType::Q5_K);
    const float d = f16_at(b), dmin = f16_at(b + 2);
    int scale, min;
    k4_scale_min(b + 4, g, scale, min);
    const float dl = mul(d, static_cast<float>(scale)), ml = mul(dmin, static_cast<float>(min));
    std::uint32_t w[8], qh[8];
    words_at(b + (kHigh ? 48 : 16) + 32 * (g >> 1), w);
    if constexpr (kHigh) words_at(b + 16, qh);
    const int shift = 4 * (g & 1);
#pragma unroll
    for (int l = 0; l < 32; ++l) {
      int q = static_cast<int>((byte_of(w, l) >> shift) & 15u);
      if constexpr (kHigh) q |= static_cast<int>(((byte_of(qh, l) >> g) & 1u) << 4);
      v[l] = sub(mul(dl, static_cast<float>(q)), ml);
    }
  } else {
    static_assert(kType == static_cast<int>(WeightType::Q6_K), "decode_group: a block-quantized type");
    const float d = f16_at(b + 208);
    const int h = g >> 2, k = g & 3;
    std::uint32_t w[8], high[8];
    words_at(b + 64 * h + 32 * (k & 1), w);
    words_at(b + 128 + 32 * h, high);
    const int shift = 4 * (k >> 1);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float dl = mul(d, static_cast<float>(static_cast<std::int8_t>(b[192 + 8 * h + 2 * k + half])));
#pragma unroll
      for (int l = 16 * half; l < 16 * half + 16; ++l) {
        const int q = static_cast<int>(((byte_of(w, l) >> shift) & 15u) | (((byte_of(high, l) >> (2 * k)) & 3u) << 4)) - 32;
        v[l] = mul(dl, static_cast<float>(q));
      }
    }
  }
}

// Decodes group `group` (32 values) of a matrix of these blocks whose rows
// are whole blocks laid one after another: the group's block is group /
// kGroupsPerBlock blocks of `block_bytes` from `data`.
template <int kType>
__device__ __forceinline__ void decode_matrix_group(const void* data, std::size_t block_bytes, std::size_t group,
                                                    float (&v)[32]) {
  constexpr int kGroups = QuantFormat<kType>::kGroupsPerBlock;
  const auto* block = static_cast<const std::uint8_t*>(data) + (group / kGroups) * block_bytes;
  decode_group<kType>(block, static_cast<int>(group % kGroups), v);
}

// Host-side dispatch to a kernel template: calls f(std::integral_constant<int,
// kType>()) for a block-quantized `type` and returns true; false for any other.
template <typename F>
bool dispatch_quant_type(WeightType type, F&& f) {
  switch (type) {
    case WeightType::Q4_0: f(std::integral_constant<int, static_cast<int>(WeightType::Q4_0)>()); return true;
    case WeightType::Q4_1: f(std::integral_constant<int, static_cast<int>(WeightType::Q4_1)>()); return true;
    case WeightType::Q5_0: f(std::integral_constant<int, static_cast<int>(WeightType::Q5_0)>()); return true;
    case WeightType::Q5_1: f(std::integral_constant<int, static_cast<int>(WeightType::Q5_1)>()); return true;
    case WeightType::Q2_K: f(std::integral_constant<int, static_cast<int>(WeightType::Q2_K)>()); return true;
    case WeightType::Q3_K: f(std::integral_constant<int, static_cast<int>(WeightType::Q3_K)>()); return true;
    case WeightType::Q4_K: f(std::integral_constant<int, static_cast<int>(WeightType::Q4_K)>()); return true;
    case WeightType::Q5_K: f(std::integral_constant<int, static_cast<int>(WeightType::Q5_K)>()); return true;
    case WeightType::Q6_K: f(std::integral_constant<int, static_cast<int>(WeightType::Q6_K)>()); return true;
    default: return false;
  }
}

}  // namespace snapkv::gpu
