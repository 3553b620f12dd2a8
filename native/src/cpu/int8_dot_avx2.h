#pragma once
// The u8 x s8 dot products of the avx2 kernel files, in int32 lanes of four
// products each. They are compiled twice (cpu/avx2_set_names.h): as the avx2
// set, where a dot product is maddubs (16-bit pair sums, which the callers keep
// below saturation) then madd with ones, and as the avxvnni set (Intel client
// CPUs from Alder Lake on, which have AVX-VNNI but not AVX-512), where it is
// one vpdpbusd. The integer sums are the same, so the sets' results have the
// same bits. Internal linkage, as in cpu/quant_kernels_x86.h: the two copies
// must not meet at link time.
#include <immintrin.h>

#include "cpu/avx2_set_names.h"

namespace snapkv {
namespace {

// The dot products of u and x.
inline __m256i dot4(__m256i u, __m256i x) {
#if SNAPKV_AVXVNNI_SET
  return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, x);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
#endif
}

// acc plus the dot products of u and x.
inline __m256i dot4_add(__m256i acc, __m256i u, __m256i x) {
#if SNAPKV_AVXVNNI_SET
  return _mm256_dpbusd_avx_epi32(acc, u, x);
#else
  return _mm256_add_epi32(acc, dot4(u, x));
#endif
}

// The dot products of u0 and x0 plus those of u1 and x1; AVX2 adds their
// 16-bit pair sums first, so callers keep 4 * max u * 127 below 2^15.
inline __m256i dot4_pair(__m256i u0, __m256i x0, __m256i u1, __m256i x1) {
#if SNAPKV_AVXVNNI_SET
  return _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u0, x0), u1, x1);
#else
  return _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(u0, x0), _mm256_maddubs_epi16(u1, x1)),
                           _mm256_set1_epi16(1));
#endif
}

}  // namespace
}  // namespace snapkv
