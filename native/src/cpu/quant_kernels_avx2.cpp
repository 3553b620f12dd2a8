// The fast path's kernels for x86-64 CPUs with AVX2, FMA and F16C (Haswell,
// Zen 1 on): int8 products by _mm256_maddubs_epi16 on |w| and x signed by w,
// which cannot saturate (2 * 128 * 127 < 2^15), widened to int32 per group.
// Panels of 8 rows; 4 tokens share each weight load.
#include "cpu/quant_kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cmath>
#include <cstring>

namespace snapkv {

namespace {

constexpr int kRows = 8;
constexpr int kTokens = 4;

std::int32_t four_bytes(const std::int8_t* p) {
  std::int32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// Sum of w * x over four-byte runs: each int32 lane holds one row's run.
__m256i products(__m256i w_abs, __m256i w, __m256i x, __m256i ones) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(x, w)), ones);
}

template <int T, int G>
void tile(const QuantPanel& p, const QuantTokens& x, int t0, float* out, std::size_t out_stride, int valid_rows) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (int g = 0; g < p.groups; ++g) {
    const std::uint8_t* wq = p.quants + static_cast<std::size_t>(g) * G * kRows;
    __m256i sums[T];
    for (auto& s : sums) s = _mm256_setzero_si256();
    for (int run = 0; run < G / 4; ++run) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + 32 * run));
      const __m256i w_abs = _mm256_abs_epi8(w);
      for (int t = 0; t < T; ++t) {
        const __m256i xv = _mm256_set1_epi32(four_bytes(x.quants + (t0 + t) * x.quant_stride + g * G + 4 * run));
        sums[t] = _mm256_add_epi32(sums[t], products(w_abs, w, xv, ones));
      }
    }
    const __m256 scales = _mm256_loadu_ps(p.scales + g * kRows);
    const __m256 offsets = _mm256_loadu_ps(p.offsets + g * kRows);
    for (int t = 0; t < T; ++t) {
      const std::size_t at = (t0 + t) * x.group_stride + g;
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[t]), _mm256_mul_ps(scales, _mm256_set1_ps(x.group_scales[at])), acc[t]);
      acc[t] = _mm256_fmadd_ps(offsets, _mm256_set1_ps(x.group_sums[at]), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    alignas(32) float lanes[kRows];
    _mm256_store_ps(lanes, acc[t]);
    std::memcpy(out + (t0 + t) * out_stride, lanes, sizeof(float) * valid_rows);
  }
}

template <int G>
void panel_product_of(const QuantPanel& p, const QuantTokens& x, int token_count, float* out, std::size_t out_stride,
                      int valid_rows) {
  int t = 0;
  for (; t + kTokens <= token_count; t += kTokens) tile<kTokens, G>(p, x, t, out, out_stride, valid_rows);
  switch (token_count - t) {
    case 3: tile<3, G>(p, x, t, out, out_stride, valid_rows); break;
    case 2: tile<2, G>(p, x, t, out, out_stride, valid_rows); break;
    case 1: tile<1, G>(p, x, t, out, out_stride, valid_rows); break;
    default: break;
  }
}

void panel_product(const QuantPanel& p, const QuantTokens& x, int token_count, float* out, std::size_t out_stride,
                   int valid_rows) {
  if (p.group_size == 16) {
    panel_product_of<16>(p, x, token_count, out, out_stride, valid_rows);
  } else {
    panel_product_of<32>(p, x, token_count, out, out_stride, valid_rows);
  }
}

int horizontal_sum(__m256i v) {
  __m128i low = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  low = _mm_add_epi32(low, _mm_unpackhi_epi64(low, low));
  low = _mm_add_epi32(low, _mm_shuffle_epi32(low, 1));
  return _mm_cvtsi128_si32(low);
}

__m256i group_bytes(const void* p, int group_size) {
  if (group_size == 32) return _mm256_loadu_si256(static_cast<const __m256i*>(p));
  return _mm256_zextsi128_si256(_mm_loadu_si128(static_cast<const __m128i*>(p)));
}

// The integer sum of one group is exact in any order; the f32 steps are the
// tile's for one lane (std::fma is the lane's fused multiply-add).
template <int R>
void rows_of(const std::uint8_t* quants, const float* scales, const float* offsets, int groups, int group_size,
             const QuantTokens& x, float* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  const std::size_t row_bytes = static_cast<std::size_t>(groups) * group_size;
  float total[R] = {};
  for (int g = 0; g < groups; ++g) {
    const __m256i xv = group_bytes(x.quants + static_cast<std::size_t>(g) * group_size, group_size);
    const float xs = x.group_scales[g];
    const float xm = x.group_sums[g];
    for (int i = 0; i < R; ++i) {
      const __m256i w = group_bytes(quants + i * row_bytes + static_cast<std::size_t>(g) * group_size, group_size);
      const int sum = horizontal_sum(products(_mm256_abs_epi8(w), w, xv, ones));
      total[i] = std::fma(static_cast<float>(sum), scales[i * groups + g] * xs, total[i]);
      total[i] = std::fma(offsets[i * groups + g], xm, total[i]);
    }
  }
  for (int i = 0; i < R; ++i) out[i] = total[i];
}

// Four rows: their four group sums reduced together, and the f32 steps of the
// four rows in the four lanes of one register (the same fused multiply-adds).
void rows_of4(const std::uint8_t* quants, const float* scales, const float* offsets, int groups, int group_size,
              const QuantTokens& x, float* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  const std::size_t row_bytes = static_cast<std::size_t>(groups) * group_size;
  __m128 total = _mm_setzero_ps();
  for (int g = 0; g < groups; ++g) {
    const std::size_t at = static_cast<std::size_t>(g) * group_size;
    const __m256i xv = group_bytes(x.quants + at, group_size);
    __m256i s[4];
    for (int i = 0; i < 4; ++i) {
      const __m256i w = group_bytes(quants + i * row_bytes + at, group_size);
      s[i] = products(_mm256_abs_epi8(w), w, xv, ones);
    }
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

void row_products(const std::uint8_t* quants, const float* scales, const float* offsets, int row_count, int groups,
                  int group_size, const QuantTokens& x, float* out) {
  switch (row_count) {
    case 4: return rows_of4(quants, scales, offsets, groups, group_size, x, out);
    case 3: return rows_of<3>(quants, scales, offsets, groups, group_size, x, out);
    case 2: return rows_of<2>(quants, scales, offsets, groups, group_size, x, out);
    case 1: return rows_of<1>(quants, scales, offsets, groups, group_size, x, out);
    default: return;
  }
}

const QuantKernels kAvx2{"avx2", kRows, true, panel_product, row_products, nullptr, nullptr, nullptr};

}  // namespace

const QuantKernels* avx2_quant_kernels() { return &kAvx2; }

}  // namespace snapkv

#else

namespace snapkv {
const QuantKernels* avx2_quant_kernels() { return nullptr; }
}  // namespace snapkv

#endif
