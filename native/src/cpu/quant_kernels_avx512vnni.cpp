// The fast path's kernels for x86-64 CPUs with AVX-512 VNNI (Ice Lake, Zen 4
// on): _mm512_dpbusd_epi32 multiplies u8 weights by s8 activations and sums
// four products into each int32 lane. Panels of 16 rows, one row per lane,
// four consecutive values per row in each 64-byte load; 8 tokens share each
// weight load, the activation's four bytes broadcast to every lane.
#include "cpu/quant_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__) && \
    defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>

#include <cmath>
#include <cstring>

namespace snapkv {

namespace {

constexpr int kRows = 16;
constexpr int kTokens = 8;

std::int32_t four_bytes(const std::int8_t* p) {
  std::int32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

template <int T, int G>
void tile(const QuantPanel& p, const QuantTokens& x, int t0, float* out, std::size_t out_stride, int valid_rows) {
  __m512 acc[T];
  for (auto& a : acc) a = _mm512_setzero_ps();
  const std::int8_t* xq[T];
  for (int t = 0; t < T; ++t) xq[t] = x.quants + (t0 + t) * x.quant_stride;
  for (int g = 0; g < p.groups; ++g) {
    const std::uint8_t* wq = p.quants + static_cast<std::size_t>(g) * G * kRows;
    __m512i sums[T];
    for (auto& s : sums) s = _mm512_setzero_si512();
    for (int run = 0; run < G / 4; ++run) {
      const __m512i w = _mm512_loadu_si512(wq + 64 * run);
      for (int t = 0; t < T; ++t) {
        sums[t] = _mm512_dpbusd_epi32(sums[t], w, _mm512_set1_epi32(four_bytes(xq[t] + g * G + 4 * run)));
      }
    }
    const __m512 scales = _mm512_loadu_ps(p.scales + g * kRows);
    const __m512 offsets = _mm512_loadu_ps(p.offsets + g * kRows);
    for (int t = 0; t < T; ++t) {
      const std::size_t at = (t0 + t) * x.group_stride + g;
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[t]), _mm512_mul_ps(scales, _mm512_set1_ps(x.group_scales[at])), acc[t]);
      acc[t] = _mm512_fmadd_ps(offsets, _mm512_set1_ps(x.group_sums[at]), acc[t]);
    }
  }
  const __mmask16 mask = static_cast<__mmask16>((1u << valid_rows) - 1u);
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(out + (t0 + t) * out_stride, mask, acc[t]);
}

template <int G>
void panel_product_of(const QuantPanel& p, const QuantTokens& x, int token_count, float* out, std::size_t out_stride,
                      int valid_rows) {
  int t = 0;
  for (; t + kTokens <= token_count; t += kTokens) tile<kTokens, G>(p, x, t, out, out_stride, valid_rows);
  switch (token_count - t) {
    case 7: tile<7, G>(p, x, t, out, out_stride, valid_rows); break;
    case 6: tile<6, G>(p, x, t, out, out_stride, valid_rows); break;
    case 5: tile<5, G>(p, x, t, out, out_stride, valid_rows); break;
    case 4: tile<4, G>(p, x, t, out, out_stride, valid_rows); break;
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

// The integer sum of one group is exact in any order; the f32 steps are the
// tile's for one lane (std::fma is the lane's fused multiply-add).
template <int R>
void rows_of(const std::uint8_t* quants, const float* scales, const float* offsets, int groups, int group_size,
             const QuantTokens& x, float* out) {
  const __mmask32 mask = group_size == 16 ? 0xFFFFu : 0xFFFFFFFFu;
  const std::size_t row_bytes = static_cast<std::size_t>(groups) * group_size;
  float total[R] = {};
  for (int g = 0; g < groups; ++g) {
    const __m256i xv = _mm256_maskz_loadu_epi8(mask, x.quants + static_cast<std::size_t>(g) * group_size);
    const float xs = x.group_scales[g];
    const float xm = x.group_sums[g];
    for (int i = 0; i < R; ++i) {
      const __m256i w = _mm256_maskz_loadu_epi8(mask, quants + i * row_bytes + static_cast<std::size_t>(g) * group_size);
      const int sum = horizontal_sum(_mm256_dpbusd_epi32(_mm256_setzero_si256(), w, xv));
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
  const __mmask32 mask = group_size == 16 ? 0xFFFFu : 0xFFFFFFFFu;
  const std::size_t row_bytes = static_cast<std::size_t>(groups) * group_size;
  __m128 total = _mm_setzero_ps();
  for (int g = 0; g < groups; ++g) {
    const std::size_t at = static_cast<std::size_t>(g) * group_size;
    const __m256i xv = _mm256_maskz_loadu_epi8(mask, x.quants + at);
    __m256i s[4];
    for (int i = 0; i < 4; ++i) {
      const __m256i w = _mm256_maskz_loadu_epi8(mask, quants + i * row_bytes + at);
      s[i] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, xv);
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

const QuantKernels kAvx512Vnni{"avx512vnni", kRows, false, panel_product, row_products, nullptr,
                                 avx512vnni_stored_row_products, nullptr};

}  // namespace

const QuantKernels* avx512vnni_quant_kernels() { return &kAvx512Vnni; }

}  // namespace snapkv

#else

namespace snapkv {
const QuantKernels* avx512vnni_quant_kernels() { return nullptr; }
}  // namespace snapkv

#endif
