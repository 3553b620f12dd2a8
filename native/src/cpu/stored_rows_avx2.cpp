// One-token products of the avx2 set, read straight from the stored blocks
// (StoredRowProducts in cpu/quant_kernels.h), eight rows a call: without
// them a decode step unpacks each row into a buffer first (cpu/weight_unpack.h),
// a second pass over the weights.
//
// Same bits as the panels: this set takes signed weights, so a type whose u
// passes 127 (Q8_0) meets the token as u - 128 = q, its offset moved by
// biased_offset (cpu/weight_unpack.h), as matvec_quantized moves it; the
// other types' u (at most 63) are their own s8 values and meet the token
// unsigned in _mm256_maddubs_epi16 (one vpdpbusd in the avxvnni copy of this
// file, cpu/int8_dot_avx2.h). A group's integer sum is exact in any
// order, and each row's f32 steps are panel_product's, one row per lane:
// total = fma(sum, scale * token_scale, total), then
// total = fma(offset, token_group_sum, total), group after group.
// Byte layouts as in cpu/block_decoders.cpp, which explains each format.
#include "cpu/avx2_set_names.h"
#include "cpu/quant_kernels.h"

#if SNAPKV_AVX2_SET_TARGETED
#include <immintrin.h>

#include "cpu/int8_dot_avx2.h"
#include "cpu/stored_rows_x86.h"
#include "cpu/weight_unpack.h"

namespace snapkv {

namespace {

__m128i load16(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
__m256i bytes(int value) { return _mm256_set1_epi8(static_cast<char>(value)); }

// Int32 lanes, each the sum of two u8 u times s8 x pairs' sums: u at most
// 63 and |x| at most 127 keep maddubs' 16-bit sums below saturation.
__m256i unsigned_dot(__m256i u, __m256i x) { return dot4(u, x); }

// The same for s8 weights: |w| against x signed by w (2 * 128 * 127 < 2^15).
__m256i signed_dot(__m256i w, __m256i x) { return dot4(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w)); }

// Eight rows' int32 lanes (v[i] row i) summed per 128-bit half: half h of
// `low` holds rows 0-3's sums of half h of their registers, of `high` rows 4-7's.
struct HalfSums {
  __m256i low, high;
};

[[gnu::always_inline]] inline HalfSums half_sums(const __m256i* v) {
  // Per half: [a0 + a2, b0 + b2, a1 + a3, b1 + b3], then [a, b, c, d].
  const auto two = [](__m256i a, __m256i b) { return _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b)); };
  const auto four = [](__m256i ab, __m256i cd) {
    return _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
  };
  return {four(two(v[0], v[1]), two(v[2], v[3])), four(two(v[4], v[5]), two(v[6], v[7]))};
}

// Lane i: row i's sums of the low halves (first), of the high halves (second),
// of the whole registers (whole).
__m256i first_halves(const HalfSums& h) { return _mm256_permute2x128_si256(h.low, h.high, 0x20); }
__m256i second_halves(const HalfSums& h) { return _mm256_permute2x128_si256(h.low, h.high, 0x31); }
__m256i wholes(const HalfSums& h) { return _mm256_add_epi32(first_halves(h), second_halves(h)); }

// 16 bytes of nibbles as 32 values: value j the low nibble of byte j, value
// j + 16 its high nibble: the bytes broadcast to both halves (a load), the
// high half shifted.
__m256i nibbles(const std::uint8_t* qs) {
  const __m256i both = _mm256_broadcastsi128_si256(load16(qs));
  return _mm256_and_si256(_mm256_srlv_epi32(both, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), bytes(0x0F));
}

// 0xFF in byte j where bit j of `bits` is set.
__m256i bit_bytes(std::uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                             _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// Each type of 32-value blocks (one group each): kBytes; dot(block, x) the
// int32 lanes of the block's (set's) quants against the token's 32 values;
// params(blocks, s, o) the scale and offset (bias moved) of eight rows.

struct Q4_0 {
  static constexpr int kBytes = 18;
  static __m256i dot(const std::uint8_t* b, __m256i x) { return unsigned_dot(nibbles(b + 2), x); }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) { symmetric_params(blocks, 8.0f, s, o); }
};

struct Q4_1 {
  static constexpr int kBytes = 20;
  static __m256i dot(const std::uint8_t* b, __m256i x) { return unsigned_dot(nibbles(b + 4), x); }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) { affine_params(blocks, s, o); }
};

struct Q5_0 {
  static constexpr int kBytes = 22;
  static __m256i dot(const std::uint8_t* b, __m256i x) {
    const __m256i fifth = _mm256_and_si256(bit_bytes(u32_at(b + 2)), bytes(16));
    return unsigned_dot(_mm256_or_si256(nibbles(b + 6), fifth), x);
  }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) { symmetric_params(blocks, 16.0f, s, o); }
};

struct Q5_1 {
  static constexpr int kBytes = 24;
  static __m256i dot(const std::uint8_t* b, __m256i x) {
    const __m256i fifth = _mm256_and_si256(bit_bytes(u32_at(b + 4)), bytes(16));
    return unsigned_dot(_mm256_or_si256(nibbles(b + 8), fifth), x);
  }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) { affine_params(blocks, s, o); }
};

struct Q8_0 {
  static constexpr int kBytes = 34;
  // u - 128 = q, the stored byte.
  static __m256i dot(const std::uint8_t* b, __m256i x) { return signed_dot(load32(b + 2), x); }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) {
    symmetric_params(blocks, 128.0f, s, o);
    o = biased_offset(o, s, _mm256_set1_ps(128.0f));
  }
};

// The 32-value types' row sums: each row's dot against the token, the eight
// rows reduced together.
struct Avx2Rows {
  template <typename T>
  static __m256i sums(const std::uint8_t* const* block, __m256i xv) {
    __m256i v[kRows];
    for (int i = 0; i < kRows; ++i) v[i] = T::dot(block[i], xv);
    return wholes(half_sums(v));
  }
};

// The K-quants (256-value super-blocks). Each call of chunk_sums gives the
// integer sums of two groups of eight rows (lane i row i), read as one
// register per row whose low half holds the first group's products and whose
// high half the second's, so that one reduction serves both. The per-group
// parameter bytes of the eight rows are transposed once a super-block:
// columns(rows) gives byte j of the eight rows in column j.

// Eight rows' sixteen bytes (rows[i] row i) as columns: out[m] holds byte 2m
// of rows 0-7 in its low eight bytes, byte 2m + 1 in its high eight.
[[gnu::always_inline]] inline void columns(const __m128i* rows, __m128i* out) {
  __m128i pairs[8];  // rows 2k, 2k + 1 byte by byte: bytes 0-7 in pairs[2k], 8-15 in pairs[2k + 1]
  for (int k = 0; k < 4; ++k) {
    pairs[2 * k] = _mm_unpacklo_epi8(rows[2 * k], rows[2 * k + 1]);
    pairs[2 * k + 1] = _mm_unpackhi_epi8(rows[2 * k], rows[2 * k + 1]);
  }
  __m128i quads[8];  // rows 4q to 4q + 3: bytes 4c to 4c + 3 in quads[4q + c]
  for (int q = 0; q < 2; ++q) {
    for (int h = 0; h < 2; ++h) {
      const __m128i a = pairs[4 * q + h], b = pairs[4 * q + 2 + h];
      quads[4 * q + 2 * h] = _mm_unpacklo_epi16(a, b);
      quads[4 * q + 2 * h + 1] = _mm_unpackhi_epi16(a, b);
    }
  }
  for (int c = 0; c < 4; ++c) {
    out[2 * c] = _mm_unpacklo_epi32(quads[c], quads[4 + c]);
    out[2 * c + 1] = _mm_unpackhi_epi32(quads[c], quads[4 + c]);
  }
}

// The low (high) eight bytes of a column pair as eight f32 lanes.
__m256 low_column_ps(__m128i pair, bool is_signed) {
  return _mm256_cvtepi32_ps(is_signed ? _mm256_cvtepi8_epi32(pair) : _mm256_cvtepu8_epi32(pair));
}
__m256 column_ps(__m128i pair, int which, bool is_signed) {
  return low_column_ps(which == 0 ? pair : _mm_unpackhi_epi64(pair, pair), is_signed);
}

__m256 negated(__m256 v) { return _mm256_xor_ps(v, _mm256_set1_ps(-0.0f)); }

// Q4_K and Q5_K: groups of 32, scale and min j from the 12 packed bytes at 4
// (k_scale_and_min in cpu/block_fields.h), here as columns c[j] of the rows.
struct Q4_Q5_K_Params {
  static constexpr int kGroups = 8;
  struct Params {
    __m128i scales[4], mins[4];  // groups 2m (low bytes), 2m + 1 (high bytes)
    __m256 d, dmin;
  };
  static void params(const std::uint8_t* const* blocks, Params& p) {
    __m128i rows[kRows], c[8];  // c[m]: packed bytes 2m, 2m + 1
    for (int i = 0; i < kRows; ++i) rows[i] = load16(blocks[i] + 4);
    columns(rows, c);
    const __m128i six = _mm_set1_epi8(63), nibble = _mm_set1_epi8(0x0F), top = _mm_set1_epi8(0x30);
    for (int m = 0; m < 2; ++m) {
      p.scales[m] = _mm_and_si128(c[m], six);
      p.mins[m] = _mm_and_si128(c[2 + m], six);
      // The top two bits of bytes j - 4 (scales) and j (mins), moved to bits 4-5.
      p.scales[2 + m] = _mm_or_si128(_mm_and_si128(c[4 + m], nibble), _mm_and_si128(_mm_srli_epi16(c[m], 2), top));
      p.mins[2 + m] = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(c[4 + m], 4), nibble),
                                   _mm_and_si128(_mm_srli_epi16(c[2 + m], 2), top));
    }
    p.d = halves(blocks, 0);
    p.dmin = halves(blocks, 2);
  }
  static void scales(const Params& p, int g, __m256& s, __m256& o) {
    s = _mm256_mul_ps(p.d, column_ps(p.scales[g / 2], g % 2, false));
    o = negated(_mm256_mul_ps(p.dmin, column_ps(p.mins[g / 2], g % 2, false)));
  }
};

// The token's values for chunk c of Q4_K and Q5_K (values 64c to 64c + 63,
// groups 2c and 2c + 1), as nibbles() lays out quant bytes 16k to 16k + 15
// of the chunk: part[0] values 64c to 64c + 15 (low half) and 64c + 32 on
// (high half), part[1] the next sixteen of each.
struct ChunkToken {
  __m256i part[2];
};

ChunkToken chunk_token(const std::int8_t* xq, int c) {
  const std::int8_t* at = xq + 64 * c;
  return {{_mm256_set_m128i(load16(at + 32), load16(at)), _mm256_set_m128i(load16(at + 48), load16(at + 16))}};
}

struct Q4_K : Q4_Q5_K_Params {
  static constexpr int kBytes = 144, kChunks = 4;
  static __m256i chunk_dot(const std::uint8_t* b, const ChunkToken& x, int c) {
    const std::uint8_t* qs = b + 16 + 32 * c;
    // Two groups' 16-bit pair sums add below saturation: 4 * 15 * 127 < 2^15.
    return dot4_pair(nibbles(qs), x.part[0], nibbles(qs + 16), x.part[1]);
  }
};

struct Q5_K : Q4_Q5_K_Params {
  static constexpr int kBytes = 176, kChunks = 4;
  // Bit 2c (low half) or 2c + 1 (high half) of qh bytes 16k to 16k + 15 as 16.
  static __m256i fifth_bits(const std::uint8_t* qh, int c, int k) {
    const __m256i both = _mm256_broadcastsi128_si256(load16(qh + 16 * k));
    const __m256i bit = _mm256_set_m128i(_mm_set1_epi8(static_cast<char>(2 << (2 * c))), _mm_set1_epi8(static_cast<char>(1 << (2 * c))));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(both, bit), bit), bytes(16));
  }
  static __m256i chunk_dot(const std::uint8_t* b, const ChunkToken& x, int c) {
    const std::uint8_t* qs = b + 48 + 32 * c;
    const __m256i u0 = _mm256_or_si256(nibbles(qs), fifth_bits(b + 16, c, 0));
    const __m256i u1 = _mm256_or_si256(nibbles(qs + 16), fifth_bits(b + 16, c, 1));
    // 4 * 31 * 127 < 2^15.
    return dot4_pair(u0, x.part[0], u1, x.part[1]);
  }
};

// Q6_K: groups of 16; chunk k (values 32k to 32k + 31) is groups 2k and 2k + 1.
struct Q6_K {
  static constexpr int kBytes = 210, kGroups = 16, kChunks = 8;
  struct Params {
    __m128i scales[8];  // signed; groups 2m (low bytes), 2m + 1 (high bytes)
    __m256 d;
  };
  static void params(const std::uint8_t* const* blocks, Params& p) {
    __m128i rows[kRows];
    for (int i = 0; i < kRows; ++i) rows[i] = load16(blocks[i] + 192);
    columns(rows, p.scales);
    p.d = halves(blocks, 208);
  }
  static void scales(const Params& p, int g, __m256& s, __m256& o) {
    s = _mm256_mul_ps(p.d, column_ps(p.scales[g / 2], g % 2, true));
    o = _mm256_mul_ps(_mm256_set1_ps(-32.0f), s);
  }
  struct ChunkToken {
    __m256i values;
  };
  static ChunkToken token(const std::int8_t* xq, int k) { return {load32(xq + 32 * k)}; }
  // Chunk k = 4h + p: the low nibbles of ql bytes 64h + 32 (p % 2) on,
  // shifted by 4 (p / 2), and bits 2p, 2p + 1 of qh bytes 128 + 32h on.
  static __m256i chunk_dot(const std::uint8_t* b, const ChunkToken& x, int k) {
    const int h = k / 4, p = k % 4;
    const __m256i ql = _mm256_srli_epi16(load32(b + 64 * h + 32 * (p % 2)), 4 * (p / 2));
    const __m256i qh = load32(b + 128 + 32 * h);
    const __m256i top = 2 * p <= 4 ? _mm256_slli_epi16(qh, 4 - 2 * p) : _mm256_srli_epi16(qh, 2 * p - 4);
    const __m256i u = _mm256_or_si256(_mm256_and_si256(ql, bytes(0x0F)), _mm256_and_si256(top, bytes(0x30)));
    return unsigned_dot(u, x.values);
  }
};

template <typename T>
struct TokenOf {
  using Type = ChunkToken;
  static ChunkToken of(const std::int8_t* xq, int c) { return chunk_token(xq, c); }
};
template <>
struct TokenOf<Q6_K> {
  using Type = Q6_K::ChunkToken;
  static Q6_K::ChunkToken of(const std::int8_t* xq, int k) { return Q6_K::token(xq, k); }
};

// A super-block of eight rows: its integer group sums and its parameters.
template <typename T>
struct SuperBlock {
  __m256i sums[T::kGroups];
  typename T::Params params;
};

template <typename T>
[[gnu::always_inline]] inline void chunk_sums(const std::uint8_t* const* block, const std::int8_t* xq, int c,
                                              SuperBlock<T>& to) {
  const typename TokenOf<T>::Type xv = TokenOf<T>::of(xq, c);
  __m256i v[kRows];
  for (int i = 0; i < kRows; ++i) v[i] = T::chunk_dot(block[i], xv, c);
  const HalfSums h = half_sums(v);
  to.sums[2 * c] = first_halves(h);
  to.sums[2 * c + 1] = second_halves(h);
}

template <typename T>
[[gnu::always_inline]] inline __m256 chunk_steps(__m256 total, const SuperBlock<T>& from, const QuantTokens& x, int b,
                                                 int c) {
  for (int g = 2 * c; g < 2 * c + 2; ++g) {
    __m256 s, o;
    T::scales(from.params, g, s, o);
    total = step(total, from.sums[g], s, o, x, static_cast<std::size_t>(b) * T::kGroups + g);
  }
  return total;
}

// Super-block b's integer work interleaved with super-block b - 1's f32
// steps: each row's steps are a chain of dependent fused multiply-adds (two
// per group, in order), which run beside independent work rather than after it.
template <typename T>
void stored_k_rows(const std::uint8_t* rows, std::size_t row_bytes, int blocks, const QuantTokens& x, float* out) {
  __m256 total = _mm256_setzero_ps();
  const std::uint8_t* block[kRows];
  for (int i = 0; i < kRows; ++i) block[i] = rows + i * row_bytes;
  NextRows next(rows, row_bytes, blocks);
  SuperBlock<T> both[2];
  for (int b = 0; b < blocks; ++b) {
    next.fetch_share();
    SuperBlock<T>& now = both[b % 2];
    const SuperBlock<T>& last = both[1 - b % 2];
    T::params(block, now.params);
    const std::int8_t* xq = x.quants + 256 * static_cast<std::size_t>(b);
#pragma GCC unroll 8
    for (int c = 0; c < T::kChunks; ++c) {
      chunk_sums<T>(block, xq, c, now);
      if (b > 0) total = chunk_steps<T>(total, last, x, b - 1, c);
    }
    for (int i = 0; i < kRows; ++i) block[i] += T::kBytes;
  }
  for (int c = 0; c < T::kChunks; ++c) total = chunk_steps<T>(total, both[(blocks - 1) % 2], x, blocks - 1, c);
  _mm256_storeu_ps(out, total);
}

}  // namespace

StoredRowKernel SNAPKV_AVX2_SET_STORED_ROWS(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return {stored_block_rows<Q4_0, Avx2Rows>, kRows};
    case GgmlType::Q4_1: return {stored_block_rows<Q4_1, Avx2Rows>, kRows};
    case GgmlType::Q5_0: return {stored_block_rows<Q5_0, Avx2Rows>, kRows};
    case GgmlType::Q5_1: return {stored_block_rows<Q5_1, Avx2Rows>, kRows};
    case GgmlType::Q8_0: return {stored_block_rows<Q8_0, Avx2Rows>, kRows};
    case GgmlType::Q4_K: return {stored_k_rows<Q4_K>, kRows};
    case GgmlType::Q5_K: return {stored_k_rows<Q5_K>, kRows};
    case GgmlType::Q6_K: return {stored_k_rows<Q6_K>, kRows};
    default: return {nullptr, kRows};
  }
}

}  // namespace snapkv

#else

namespace snapkv {
StoredRowKernel SNAPKV_AVX2_SET_STORED_ROWS(GgmlType) { return {nullptr, 8}; }
}  // namespace snapkv

#endif
