// The avx512vnni set plus bf16 dot products for F16 and BF16 weights, for
// CPUs with AVX512_BF16 (Cooper Lake, Sapphire Rapids, Zen 4 on):
// _mm512_dpbf16_ps multiplies pairs of bf16 and adds both products to each
// f32 lane. Panels of 32 rows in two registers, one row per lane; 8 tokens
// share each load, each token's pair broadcast once for both registers.
#include "cpu/quant_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BF16__)
#include <immintrin.h>

namespace snapkv {

namespace {

constexpr int kParts = kAvx512PanelParts;
constexpr int kLanes = kAvx512Lanes;
constexpr int kRows = kAvx512PanelRows;  // the int8 set's panels: one panel_rows for the set
constexpr int kTokens = 8;

template <int T>
void tile(const Bf16Panel& p, const Bf16Tokens& x, int t0, float* out, std::size_t out_stride, int valid_rows) {
  __m512 acc[kParts][T];
  for (auto& part : acc) {
    for (auto& a : part) a = _mm512_setzero_ps();
  }
  const std::uint32_t* xp[T];
  for (int t = 0; t < T; ++t) xp[t] = x.pairs + (t0 + t) * x.pair_stride;
  for (int k = 0; k < p.pair_count; ++k) {
    __m512bh w[kParts];
    for (int h = 0; h < kParts; ++h) {
      w[h] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(p.pairs + static_cast<std::size_t>(k) * kRows + kLanes * h));
    }
    for (int t = 0; t < T; ++t) {
      const __m512bh b = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(xp[t][k])));
      for (int h = 0; h < kParts; ++h) acc[h][t] = _mm512_dpbf16_ps(acc[h][t], w[h], b);
    }
  }
  for (int h = 0; h < kParts; ++h) {
    const __mmask16 mask = part_mask(valid_rows, h);
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(out + (t0 + t) * out_stride + kLanes * h, mask, acc[h][t]);
  }
}

void bf16_panel_product(const Bf16Panel& p, const Bf16Tokens& x, int token_count, float* out, std::size_t out_stride,
                        int valid_rows) {
  int t = 0;
  for (; t + kTokens <= token_count; t += kTokens) tile<kTokens>(p, x, t, out, out_stride, valid_rows);
  switch (token_count - t) {
    case 7: tile<7>(p, x, t, out, out_stride, valid_rows); break;
    case 6: tile<6>(p, x, t, out, out_stride, valid_rows); break;
    case 5: tile<5>(p, x, t, out, out_stride, valid_rows); break;
    case 4: tile<4>(p, x, t, out, out_stride, valid_rows); break;
    case 3: tile<3>(p, x, t, out, out_stride, valid_rows); break;
    case 2: tile<2>(p, x, t, out, out_stride, valid_rows); break;
    case 1: tile<1>(p, x, t, out, out_stride, valid_rows); break;
    default: break;
  }
}

}  // namespace

const QuantKernels* avx512bf16_quant_kernels() {
  const QuantKernels* int8 = avx512vnni_quant_kernels();
  if (int8 == nullptr) return nullptr;
  static const QuantKernels kernels{"avx512bf16", int8->panel_rows, int8->signed_weights, int8->panel_product,
                                    int8->row_products, bf16_panel_product, int8->stored_row_products,
                                    avx512bf16_stored_row_products};
  return &kernels;
}

}  // namespace snapkv

#else

namespace snapkv {
const QuantKernels* avx512bf16_quant_kernels() { return nullptr; }
}  // namespace snapkv

#endif
