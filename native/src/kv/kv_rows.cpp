#include "kv/kv_rows.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/number_formats.h"
#include "cpu/simd.h"

namespace snapkv {

namespace {

using simd::kLanes;
using simd::Vec;

// kLanes stored values widened to f32 lanes. The x86 forms are one or two
// instructions (F16C's vcvtph2ps; a zero-extend and shift for bf16, which is
// the top half of an f32; a sign-extend and convert for int8).
inline Vec load_f16(const std::uint16_t* p) {
#if defined(__AVX512F__)
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#else
  float lanes[kLanes];
  for (int i = 0; i < kLanes; ++i) lanes[i] = f16_to_f32(p[i]);
  return simd::load(lanes);
#endif
}

inline Vec load_bf16(const std::uint16_t* p) {
#if defined(__AVX512F__)
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
#elif defined(__AVX2__) && defined(__FMA__)
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
#else
  float lanes[kLanes];
  for (int i = 0; i < kLanes; ++i) lanes[i] = bf16_to_f32(p[i]);
  return simd::load(lanes);
#endif
}

inline Vec load_i8(const std::int8_t* p) {
#if defined(__AVX512F__)
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#elif defined(__AVX2__) && defined(__FMA__)
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#else
  float lanes[kLanes];
  for (int i = 0; i < kLanes; ++i) lanes[i] = static_cast<float>(p[i]);
  return simd::load(lanes);
#endif
}

struct F16Row {
  static Vec load(const std::uint16_t* p) { return load_f16(p); }
  static float one(std::uint16_t bits) { return f16_to_f32(bits); }
};

struct Bf16Row {
  static Vec load(const std::uint16_t* p) { return load_bf16(p); }
  static float one(std::uint16_t bits) { return bf16_to_f32(bits); }
};

inline float q8_scale(const std::uint8_t* block) {
  std::uint16_t bits;
  std::memcpy(&bits, block, sizeof bits);
  return f16_to_f32(bits);
}

inline const std::int8_t* q8_quants(const std::uint8_t* block) { return reinterpret_cast<const std::int8_t*>(block + 2); }

template <typename Row>
void widen_16bit(const std::uint16_t* row, float* out, int d) {
  int i = 0;
  for (; i + kLanes <= d; i += kLanes) simd::store(out + i, Row::load(row + i));
  for (; i < d; ++i) out[i] = Row::one(row[i]);
}

void widen_q8(const std::uint8_t* row, float* out, int d) {
  for (int b = 0; b < d / kQ8BlockValues; ++b, row += kQ8BlockBytes, out += kQ8BlockValues) {
    const Vec scale = simd::broadcast(q8_scale(row));
    const std::int8_t* quants = q8_quants(row);
    for (int i = 0; i < kQ8BlockValues; i += kLanes) simd::store(out + i, simd::mul(scale, load_i8(quants + i)));
  }
}

template <typename T>
const T* row_at(const std::uint8_t* rows, std::size_t stride, int j) {
  return reinterpret_cast<const T*>(rows + static_cast<std::size_t>(j) * stride);
}

}  // namespace

std::uint16_t f32_to_f16_bits(float value) {
  // Saturate: a key past f16's range stays the largest finite value, so one
  // outlier never turns a whole softmax row into NaN.
  constexpr float kLargest = 65504.0f;
  if (value > kLargest) value = kLargest;
  if (value < -kLargest) value = -kLargest;
#if defined(__F16C__)
  return static_cast<std::uint16_t>(_cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT));
#else
  std::uint32_t x;
  std::memcpy(&x, &value, sizeof x);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t magnitude_bits = x & 0x7fffffffu;
  if (magnitude_bits > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);  // NaN stays NaN
  if (magnitude_bits < 0x38800000u) {
    // Below f16's smallest normal (2^-14): a multiple of 2^-24, rounded to nearest even.
    float magnitude;
    std::memcpy(&magnitude, &magnitude_bits, sizeof magnitude);
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(magnitude * 16777216.0f)));
  }
  std::uint32_t h = (((magnitude_bits >> 23) - 112u) << 10) | ((magnitude_bits >> 13) & 0x3ffu);  // exponent 127 -> 15
  const std::uint32_t rest = magnitude_bits & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is still right
  return static_cast<std::uint16_t>(sign | h);
#endif
}

std::uint16_t f32_to_bf16_bits(float value) {
  std::uint32_t x;
  std::memcpy(&x, &value, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>(x >> 16);
}

void encode_kv_row(KvType type, const float* in, std::uint8_t* out, int d) {
  switch (type) {
    case KvType::F32:
      std::memcpy(out, in, sizeof(float) * static_cast<std::size_t>(d));
      return;
    case KvType::F16:
    case KvType::BF16: {
      auto* bits = reinterpret_cast<std::uint16_t*>(out);
      for (int i = 0; i < d; ++i) bits[i] = type == KvType::F16 ? f32_to_f16_bits(in[i]) : f32_to_bf16_bits(in[i]);
      return;
    }
    case KvType::Q8_0:
      for (int b = 0; b < d / kQ8BlockValues; ++b, in += kQ8BlockValues, out += kQ8BlockBytes) {
        float largest = 0.0f;
        for (int i = 0; i < kQ8BlockValues; ++i) largest = std::max(largest, std::fabs(in[i]));
        const std::uint16_t scale_bits = f32_to_f16_bits(largest / 127.0f);
        std::memcpy(out, &scale_bits, sizeof scale_bits);
        // Quantised against the stored (rounded) scale, so decoding meets the nearest grid point.
        const float scale = f16_to_f32(scale_bits);
        const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
        auto* quants = reinterpret_cast<std::int8_t*>(out + 2);
        for (int i = 0; i < kQ8BlockValues; ++i) {
          const float q = std::nearbyint(in[i] * inverse);
          quants[i] = static_cast<std::int8_t>(std::min(127.0f, std::max(-127.0f, q)));
        }
      }
      return;
  }
}

void widen_kv_rows(KvType type, const std::uint8_t* rows, std::size_t stride, int count, int d, float* out) {
  const std::size_t step = static_cast<std::size_t>(d);
  switch (type) {
    case KvType::F32:
      for (int j = 0; j < count; ++j) std::memcpy(out + j * step, row_at<float>(rows, stride, j), sizeof(float) * step);
      return;
    case KvType::F16:
      for (int j = 0; j < count; ++j) widen_16bit<F16Row>(row_at<std::uint16_t>(rows, stride, j), out + j * step, d);
      return;
    case KvType::BF16:
      for (int j = 0; j < count; ++j) widen_16bit<Bf16Row>(row_at<std::uint16_t>(rows, stride, j), out + j * step, d);
      return;
    case KvType::Q8_0:
      for (int j = 0; j < count; ++j) widen_q8(row_at<std::uint8_t>(rows, stride, j), out + j * step, d);
      return;
  }
}

// One row is a tile of one: a single owner for how each type widens.
void decode_kv_row(KvType type, const std::uint8_t* in, float* out, int d) { widen_kv_rows(type, in, 0, 1, d, out); }

}  // namespace snapkv
