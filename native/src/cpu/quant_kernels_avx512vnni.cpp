// The fast path's kernels for x86-64 CPUs with AVX-512 VNNI (Ice Lake, Zen 4
// on): _mm512_dpbusd_epi32 multiplies u8 weights by s8 activations and sums
// four products into each int32 lane. Panels of 32 rows in two registers, one
// row per lane, four consecutive values per row in each 64-byte load; 6 tokens
// share each weight load, the activation's four bytes broadcast to every lane
// and met by both registers.
#include "cpu/quant_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__) && \
    defined(__F16C__) && defined(__FMA__)
#include "cpu/quant_kernels_x86.h"

namespace snapkv {

namespace {

constexpr int kParts = kAvx512PanelParts;
constexpr int kLanes = kAvx512Lanes;
constexpr int kRows = kAvx512PanelRows;

struct Avx512Vnni {
  // Six tokens: their sums and accumulators for both parts fill 24 of the 32 registers.
  static constexpr int kTokens = 6;

  static __m256i group(const void* p, int group_size) {
    return _mm256_maskz_loadu_epi8(group_size == 16 ? 0xFFFFu : 0xFFFFFFFFu, p);
  }

  static __m256i dot(__m256i w, __m256i x) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, x); }

  template <int T, int G>
  static void tile(const QuantPanel& p, const QuantTokens& x, int t0, float* out, std::size_t out_stride,
                   int valid_rows) {
    __m512 acc[kParts][T];
    for (auto& part : acc) {
      for (auto& a : part) a = _mm512_setzero_ps();
    }
    const std::int8_t* xq[T];
    for (int t = 0; t < T; ++t) xq[t] = x.quants + (t0 + t) * x.quant_stride;
    for (int g = 0; g < p.groups; ++g) {
      const std::uint8_t* wq = p.quants + static_cast<std::size_t>(g) * G * kRows;
      __m512i sums[kParts][T];
      for (auto& part : sums) {
        for (auto& sum : part) sum = _mm512_setzero_si512();
      }
      for (int run = 0; run < G / 4; ++run) {
        __m512i w[kParts];
        for (int h = 0; h < kParts; ++h) w[h] = _mm512_loadu_si512(wq + 4 * (kRows * run + kLanes * h));
        for (int t = 0; t < T; ++t) {
          const __m512i b = _mm512_set1_epi32(four_bytes(xq[t] + g * G + 4 * run));
          for (int h = 0; h < kParts; ++h) sums[h][t] = _mm512_dpbusd_epi32(sums[h][t], w[h], b);
        }
      }
      for (int h = 0; h < kParts; ++h) {
        const __m512 scales = _mm512_loadu_ps(p.scales + g * kRows + kLanes * h);
        const __m512 offsets = _mm512_loadu_ps(p.offsets + g * kRows + kLanes * h);
        for (int t = 0; t < T; ++t) {
          const std::size_t at = (t0 + t) * x.group_stride + g;
          const __m512 step = _mm512_mul_ps(scales, _mm512_set1_ps(x.group_scales[at]));
          acc[h][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[h][t]), step, acc[h][t]);
          acc[h][t] = _mm512_fmadd_ps(offsets, _mm512_set1_ps(x.group_sums[at]), acc[h][t]);
        }
      }
    }
    for (int h = 0; h < kParts; ++h) {
      const __mmask16 mask = part_mask(valid_rows, h);
      for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(out + (t0 + t) * out_stride + kLanes * h, mask, acc[h][t]);
    }
  }
};

const QuantKernels kAvx512Vnni{"avx512vnni", kRows, false, panel_product<Avx512Vnni>, row_products<Avx512Vnni>, nullptr,
                                 avx512vnni_stored_row_products, nullptr};

}  // namespace

const QuantKernels* avx512vnni_quant_kernels() { return &kAvx512Vnni; }

}  // namespace snapkv

#else

namespace snapkv {
const QuantKernels* avx512vnni_quant_kernels() { return nullptr; }
}  // namespace snapkv

#endif
