#pragma once
// The vectors of attention's tile kernels (cpu/attention_tile.cpp), whose lanes
// carry query rows. Two widths live in one build: a decode step has a handful
// of rows (the query heads of one KV head), a prefill block many. Every step is
// done lane by lane with the same instructions in both widths (an FMA, a max,
// the same exponential), so a row's result never depends on the width that
// carried it or on the rows beside it: attention stays batch-invariant.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace snapkv::lanes {

// exp(x) = 2^k * exp(r), k = round(x / ln2), r = x - k ln2 with ln2 split in
// two so r is exact; exp(r) by its Taylor polynomial to degree 6 (below 2e-8
// relative on |r| <= ln2/2). Below kMinExp the result is 0, which also makes
// exp(-inf) = 0: masked scores drop out exactly.
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2High = 0.693359375f;
constexpr float kLn2Low = -2.12194440e-4f;
constexpr float kMinExp = -87.3f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

#if defined(__AVX512F__)
struct Wide {
  using V = __m512;
  static constexpr int kWidth = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V zero() { return _mm512_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V round(V x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V pow2(V k) {  // k integral, >= -126
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
    return _mm512_castsi512_ps(e);
  }
  static V zero_where_below(V value, V x, V bound) {
    return _mm512_maskz_mov_ps(static_cast<__mmask16>(~_mm512_cmp_ps_mask(x, bound, _CMP_LT_OQ)), value);
  }
  // value where key <= limit, else -inf
  static V mask_after(V value, V key, V limit) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(key, limit, _CMP_LE_OQ), set1(kNegInf), value);
  }
  // x, or `with` where x is -inf
  static V replace_neg_inf(V x, V with) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, set1(kNegInf), _CMP_EQ_OQ), x, with);
  }
};
#endif

#if defined(__AVX2__) && defined(__FMA__)
struct Narrow {
  using V = __m256;
  static constexpr int kWidth = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V zero() { return _mm256_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V round(V x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V pow2(V k) {
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_castsi256_ps(e);
  }
  static V zero_where_below(V value, V x, V bound) { return _mm256_andnot_ps(_mm256_cmp_ps(x, bound, _CMP_LT_OQ), value); }
  static V mask_after(V value, V key, V limit) {
    return _mm256_blendv_ps(set1(kNegInf), value, _mm256_cmp_ps(key, limit, _CMP_LE_OQ));
  }
  static V replace_neg_inf(V x, V with) { return _mm256_blendv_ps(x, with, _mm256_cmp_ps(x, set1(kNegInf), _CMP_EQ_OQ)); }
};
#else
// Portable: one lane, the same steps in scalar form.
struct Narrow {
  using V = float;
  static constexpr int kWidth = 1;
  static V load(const float* p) { return *p; }
  static void store(float* p, V v) { *p = v; }
  static V set1(float x) { return x; }
  static V zero() { return 0.0f; }
  static V fma(V a, V b, V c) { return std::fma(a, b, c); }
  static V fnma(V a, V b, V c) { return std::fma(-a, b, c); }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V sub(V a, V b) { return a - b; }
  static V add(V a, V b) { return a + b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V round(V x) { return std::nearbyint(x); }
  static V pow2(V k) {
    const std::uint32_t bits = static_cast<std::uint32_t>(static_cast<int>(k) + 127) << 23;
    float result;
    std::memcpy(&result, &bits, sizeof result);
    return result;
  }
  static V zero_where_below(V value, V x, V bound) { return x < bound ? 0.0f : value; }
  static V mask_after(V value, V key, V limit) { return key <= limit ? value : kNegInf; }
  static V replace_neg_inf(V x, V with) { return x == kNegInf ? with : x; }
};
#endif

#if !defined(__AVX512F__)
using Wide = Narrow;
#endif

template <typename L>
inline typename L::V exp(typename L::V x) {
  using V = typename L::V;
  const V bound = L::set1(kMinExp);
  const V clamped = L::max(x, bound);
  const V k = L::round(L::mul(clamped, L::set1(kLog2e)));
  V r = L::fnma(k, L::set1(kLn2High), clamped);
  r = L::fnma(k, L::set1(kLn2Low), r);
  V p = L::set1(1.0f / 720);
  p = L::fma(p, r, L::set1(1.0f / 120));
  p = L::fma(p, r, L::set1(1.0f / 24));
  p = L::fma(p, r, L::set1(1.0f / 6));
  p = L::fma(p, r, L::set1(0.5f));
  p = L::fma(p, r, L::set1(1.0f));
  p = L::fma(p, r, L::set1(1.0f));
  return L::zero_where_below(L::mul(p, L::pow2(k)), x, bound);
}

}  // namespace snapkv::lanes
