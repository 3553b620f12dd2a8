// The fast path's kernels for x86-64 CPUs with AVX2, FMA and F16C (Haswell,
// Zen 1 on): int8 products of |w| and x signed by w, by _mm256_maddubs_epi16
// (which cannot saturate: 2 * 128 * 127 < 2^15) widened to int32 per group,
// or one vpdpbusd in the avxvnni copy of this file (cpu/int8_dot_avx2.h).
// Panels of 8 rows; 4 tokens share each weight load.
#include "cpu/avx2_set_names.h"
#include "cpu/quant_kernels.h"

#if SNAPKV_AVX2_SET_TARGETED
#include "cpu/int8_dot_avx2.h"
#include "cpu/quant_kernels_x86.h"

namespace snapkv {

namespace {

constexpr int kRows = 8;

// acc plus w * x summed over four-byte runs: each int32 lane holds one row's run.
__m256i products_add(__m256i acc, __m256i w_abs, __m256i w, __m256i x) {
  return dot4_add(acc, w_abs, _mm256_sign_epi8(x, w));
}

struct Avx2 {
  static constexpr int kTokens = 4;

  static __m256i group(const void* p, int group_size) {
    if (group_size == 32) return _mm256_loadu_si256(static_cast<const __m256i*>(p));
    return _mm256_zextsi128_si256(_mm_loadu_si128(static_cast<const __m128i*>(p)));
  }

  static __m256i dot(__m256i w, __m256i x) { return dot4(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w)); }

  template <int T, int G>
  static void tile(const QuantPanel& p, const QuantTokens& x, int t0, float* out, std::size_t out_stride,
                   int valid_rows) {
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
          sums[t] = products_add(sums[t], w_abs, w, xv);
        }
      }
      const __m256 scales = _mm256_loadu_ps(p.scales + g * kRows);
      const __m256 offsets = _mm256_loadu_ps(p.offsets + g * kRows);
      for (int t = 0; t < T; ++t) {
        const std::size_t at = (t0 + t) * x.group_stride + g;
        const __m256 step = _mm256_mul_ps(scales, _mm256_set1_ps(x.group_scales[at]));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[t]), step, acc[t]);
        acc[t] = _mm256_fmadd_ps(offsets, _mm256_set1_ps(x.group_sums[at]), acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) {
      alignas(32) float lanes[kRows];
      _mm256_store_ps(lanes, acc[t]);
      std::memcpy(out + (t0 + t) * out_stride, lanes, sizeof(float) * valid_rows);
    }
  }
};

const QuantKernels kAvx2{SNAPKV_AVX2_SET_NAME, kRows, true, panel_product<Avx2>, row_products<Avx2>, nullptr,
                         SNAPKV_AVX2_SET_STORED_ROWS, nullptr};

}  // namespace

const QuantKernels* SNAPKV_AVX2_SET_KERNELS() { return &kAvx2; }

}  // namespace snapkv

#else

namespace snapkv {
const QuantKernels* SNAPKV_AVX2_SET_KERNELS() { return nullptr; }
}  // namespace snapkv

#endif
