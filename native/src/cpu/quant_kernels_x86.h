#pragma once
// What the x86 int8 kernel sets (quant_kernels_avx2.cpp,
// quant_kernels_avx512vnni.cpp) share: the token loop around a panel's tiles
// and the decode step's row products, written once against a set's `Isa`:
//   Isa::kTokens                      tokens a full tile takes
//   Isa::tile<T, G>(panel, tokens, t0, out, out_stride, valid_rows)
//   Isa::group(p, group_size)         one group's 16 or 32 bytes, zero above
//   Isa::dot(w, x)                    int32 lanes, each the sum of four u8 w * s8 x
// The sets differ only in those; the f32 steps are the same fused multiply-adds.
//
// Include only from a file compiled for AVX2 or above. Everything here has
// internal linkage: each including file is compiled for its own instruction
// set, and a copy shared at link time could run one set's instructions on a
// CPU that has only the other's.
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cpu/quant_kernels.h"

namespace snapkv {
namespace {

std::int32_t four_bytes(const std::int8_t* p) {
  std::int32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

int horizontal_sum(__m256i v) {
  __m128i low = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  low = _mm_add_epi32(low, _mm_unpackhi_epi64(low, low));
  low = _mm_add_epi32(low, _mm_shuffle_epi32(low, 1));
  return _mm_cvtsi128_si32(low);
}

// The `rest` tokens after the last full tile: one tile of exactly that many.
template <typename Isa, int G, int T>
void last_tile(const QuantPanel& p, const QuantTokens& x, int t0, int rest, float* out, std::size_t out_stride,
               int valid_rows) {
  if constexpr (T > 0) {
    if (rest == T) return Isa::template tile<T, G>(p, x, t0, out, out_stride, valid_rows);
    last_tile<Isa, G, T - 1>(p, x, t0, rest, out, out_stride, valid_rows);
  }
}

template <typename Isa, int G>
void panel_product_of(const QuantPanel& p, const QuantTokens& x, int token_count, float* out, std::size_t out_stride,
                      int valid_rows) {
  int t = 0;
  for (; t + Isa::kTokens <= token_count; t += Isa::kTokens) {
    Isa::template tile<Isa::kTokens, G>(p, x, t, out, out_stride, valid_rows);
  }
  last_tile<Isa, G, Isa::kTokens - 1>(p, x, t, token_count - t, out, out_stride, valid_rows);
}

template <typename Isa>
void panel_product(const QuantPanel& p, const QuantTokens& x, int token_count, float* out, std::size_t out_stride,
                   int valid_rows) {
  if (p.group_size == 16) {
    panel_product_of<Isa, 16>(p, x, token_count, out, out_stride, valid_rows);
  } else {
    panel_product_of<Isa, 32>(p, x, token_count, out, out_stride, valid_rows);
  }
}

// The integer sum of one group is exact in any order; the f32 steps are the
// tile's for one lane (std::fma is the lane's fused multiply-add).
template <typename Isa, int R>
void rows_of(const std::uint8_t* quants, const float* scales, const float* offsets, int groups, int group_size,
             const QuantTokens& x, float* out) {
  const std::size_t row_bytes = static_cast<std::size_t>(groups) * group_size;
  float total[R] = {};
  for (int g = 0; g < groups; ++g) {
    const __m256i xv = Isa::group(x.quants + static_cast<std::size_t>(g) * group_size, group_size);
    const float xs = x.group_scales[g];
    const float xm = x.group_sums[g];
    for (int i = 0; i < R; ++i) {
      const __m256i w = Isa::group(quants + i * row_bytes + static_cast<std::size_t>(g) * group_size, group_size);
      const int sum = horizontal_sum(Isa::dot(w, xv));
      total[i] = std::fma(static_cast<float>(sum), scales[i * groups + g] * xs, total[i]);
      total[i] = std::fma(offsets[i * groups + g], xm, total[i]);
    }
  }
  for (int i = 0; i < R; ++i) out[i] = total[i];
}

// Four rows: their four group sums reduced together, and the f32 steps of the
// four rows in the four lanes of one register (the same fused multiply-adds).
template <typename Isa>
void rows_of4(const std::uint8_t* quants, const float* scales, const float* offsets, int groups, int group_size,
              const QuantTokens& x, float* out) {
  const std::size_t row_bytes = static_cast<std::size_t>(groups) * group_size;
  __m128 total = _mm_setzero_ps();
  for (int g = 0; g < groups; ++g) {
    const std::size_t at = static_cast<std::size_t>(g) * group_size;
    const __m256i xv = Isa::group(x.quants + at, group_size);
    __m256i s[4];
    for (int i = 0; i < 4; ++i) s[i] = Isa::dot(Isa::group(quants + i * row_bytes + at, group_size), xv);
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
    const __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    const __m128 row_scales = _mm_setr_ps(scales[g], scales[groups + g], scales[2 * groups + g], scales[3 * groups + g]);
    const __m128 row_offsets =
        _mm_setr_ps(offsets[g], offsets[groups + g], offsets[2 * groups + g], offsets[3 * groups + g]);
    total = _mm_fmadd_ps(_mm_cvtepi32_ps(sums), _mm_mul_ps(row_scales, _mm_set1_ps(x.group_scales[g])), total);
    total = _mm_fmadd_ps(row_offsets, _mm_set1_ps(x.group_sums[g]), total);
  }
  _mm_storeu_ps(out, total);
}

template <typename Isa>
void row_products(const std::uint8_t* quants, const float* scales, const float* offsets, int row_count, int groups,
                  int group_size, const QuantTokens& x, float* out) {
  switch (row_count) {
    case 4: return rows_of4<Isa>(quants, scales, offsets, groups, group_size, x, out);
    case 3: return rows_of<Isa, 3>(quants, scales, offsets, groups, group_size, x, out);
    case 2: return rows_of<Isa, 2>(quants, scales, offsets, groups, group_size, x, out);
    case 1: return rows_of<Isa, 1>(quants, scales, offsets, groups, group_size, x, out);
    default: return;
  }
}

}  // namespace
}  // namespace snapkv
