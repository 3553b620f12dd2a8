#include "cpu/fast_exp.h"

#include <cmath>

#include "cpu/simd.h"

namespace snapkv {

namespace {

// exp(x) = 2^k * exp(r), r = x - k ln2 in [-ln2/2, ln2/2]; exp(r) by its Taylor
// polynomial to degree 6 (error below 2e-8 relative on that interval). ln2 is
// split in two parts so that r is exact for the |k| that occur.
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2High = 0.693359375f;
constexpr float kLn2Low = -2.12194440e-4f;
constexpr float kMinInput = -87.3f;  // below this exp underflows f32; clamp to 0

inline float exp_scalar(float x) {
  if (x < kMinInput) return 0.0f;
  return std::exp(x);
}

#if defined(__AVX512F__)
inline __m512 exp_vector(__m512 x) {
  const __m512 too_small = _mm512_set1_ps(kMinInput);
  const __mmask16 underflow = _mm512_cmp_ps_mask(x, too_small, _CMP_LT_OQ);
  x = _mm512_max_ps(x, too_small);
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2High), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2Low), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  const __m512 result = _mm512_scalef_ps(p, k);
  return _mm512_maskz_mov_ps(static_cast<__mmask16>(~underflow), result);
}
#elif defined(__AVX2__) && defined(__FMA__)
inline __m256 exp_vector(__m256 x) {
  const __m256 too_small = _mm256_set1_ps(kMinInput);
  const __m256 underflow = _mm256_cmp_ps(x, too_small, _CMP_LT_OQ);
  x = _mm256_max_ps(x, too_small);
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(kLn2High), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(kLn2Low), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // 2^k built in the exponent field; k >= -126 here because x >= kMinInput.
  const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
  return _mm256_andnot_ps(underflow, result);
}
#endif

}  // namespace

float exp_shifted_in_place(float* x, int n, float shift) {
  int i = 0;
  float total = 0;
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
  simd::Vec sum = simd::zero();
  const simd::Vec s = simd::broadcast(shift);
  for (; i + simd::kLanes <= n; i += simd::kLanes) {
#if defined(__AVX512F__)
    const simd::Vec e = exp_vector(_mm512_sub_ps(simd::load(x + i), s));
#else
    const simd::Vec e = exp_vector(_mm256_sub_ps(simd::load(x + i), s));
#endif
    simd::store(x + i, e);
    sum = simd::add(sum, e);
  }
  total = simd::sum(sum);
#endif
  for (; i < n; ++i) {
    x[i] = exp_scalar(x[i] - shift);
    total += x[i];
  }
  return total;
}

}  // namespace snapkv
