// One-token products of the avx512vnni set, read straight from the stored
// blocks (StoredRowProducts in cpu/quant_kernels.h). A decode step reads every
// weight once; unpacking rows into a buffer first (cpu/weight_unpack.h) costs
// a second pass over them, which set the pace of decode. Here each 32 values
// of eight rows are unpacked in registers and met by _mm256_dpbusd_epi32
// (Q4_K, Q5_K, Q6_K: each 64 values, by _mm512_dpbusd_epi32; Q2_K and Q3_K:
// sixteen rows a call, their bytes transposed; see below).
//
// Same bits as the panels: the quants u, scales and offsets are the unpacker's
// (u8, no bias: this set takes unsigned weights), a group's integer sum is
// exact in any order, and each row's f32 steps are panel_product's, one row
// per lane: total = fma(sum, scale * token_scale, total), then
// total = fma(offset, token_group_sum, total), group after group.
// Byte layouts as in cpu/block_decoders.cpp, which explains each format.
#include "cpu/quant_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__) && \
    defined(__AVX512VNNI__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>

#include "cpu/stored_rows_x86.h"

namespace snapkv {

namespace {

constexpr int kWideRows = 16;  // one row per lane of a 512-bit register
static_assert(kWideRows <= kMaxStoredRows, "a call's rows fit the callers' buffers");

// 16 bytes of nibbles as 32 values: value j the low nibble of byte j, value
// j + 16 its high nibble.
__m256i nibbles(const std::uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
}

// Adds `value` to byte j where bit j of `bits` is set.
__m256i add_where(__m256i u, std::uint32_t bits, char value) {
  return _mm256_mask_add_epi8(u, static_cast<__mmask32>(bits), u, _mm256_set1_epi8(value));
}

// Each type of 32-value blocks (one group each): kBytes; quants(block) the
// unpacker's u for the block's values; params(blocks, s, o) the unpacker's
// scale and offset of the block in eight rows (lane i row i).

struct Q4_0 {
  static constexpr int kBytes = 18;
  static __m256i quants(const std::uint8_t* b) { return nibbles(b + 2); }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) { symmetric_params(blocks, 8.0f, s, o); }
};

struct Q4_1 {
  static constexpr int kBytes = 20;
  static __m256i quants(const std::uint8_t* b) { return nibbles(b + 4); }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) { affine_params(blocks, s, o); }
};

struct Q5_0 {
  static constexpr int kBytes = 22;
  static __m256i quants(const std::uint8_t* b) { return add_where(nibbles(b + 6), u32_at(b + 2), 16); }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) { symmetric_params(blocks, 16.0f, s, o); }
};

struct Q5_1 {
  static constexpr int kBytes = 24;
  static __m256i quants(const std::uint8_t* b) { return add_where(nibbles(b + 8), u32_at(b + 4), 16); }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) { affine_params(blocks, s, o); }
};

struct Q8_0 {
  static constexpr int kBytes = 34;
  // q + 128: q with its top bit flipped.
  static __m256i quants(const std::uint8_t* b) {
    return _mm256_xor_si256(load32(b + 2), _mm256_set1_epi8(static_cast<char>(0x80)));
  }
  static void params(const std::uint8_t* const* blocks, __m256& s, __m256& o) { symmetric_params(blocks, 128.0f, s, o); }
};

// Lane i: the sum of row i's eight int32 dpbusd results, v[i].
__m256i reduce(const __m256i* v) {
  const __m256i a01 = _mm256_hadd_epi32(v[0], v[1]);
  const __m256i a23 = _mm256_hadd_epi32(v[2], v[3]);
  const __m256i a45 = _mm256_hadd_epi32(v[4], v[5]);
  const __m256i a67 = _mm256_hadd_epi32(v[6], v[7]);
  // Lanes: rows 0-3 of the low 128 bits' values, then of the high 128 bits'.
  const __m256i b0 = _mm256_hadd_epi32(a01, a23);
  const __m256i b1 = _mm256_hadd_epi32(a45, a67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(b0, b1, 0x20), _mm256_permute2x128_si256(b0, b1, 0x31));
}

// The 32-value types' row sums: each row's u against the token in one
// dpbusd, the eight rows reduced together.
struct VnniRows {
  template <typename T>
  static __m256i sums(const std::uint8_t* const* block, __m256i xv) {
    __m256i v[kRows];
    for (int i = 0; i < kRows; ++i) v[i] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), T::quants(block[i]), xv);
    return reduce(v);
  }
};

// The K-quants (256-value super-blocks of 16- or 32-value groups) take two
// chunks per 512-bit register: chunk 2p in the low half, 2p + 1 in the high
// half, so one dpbusd serves two chunks of a row and one reduction the four
// (or two) groups they hold. Their per-group parameters are transposed for a
// whole super-block at once: each row's sixteen parameter bytes widened to
// 32-bit lanes, then moved so that one register holds groups 2j and 2j + 1
// of the eight rows. The f32 values and steps are unchanged. They bound
// Q6_K's 16-value groups: each row's total takes two dependent fused
// multiply-adds per group, in order (panel_product's), and the eight rows
// share one register, so a super-block takes at least 16 x 2 FMA latencies
// however little else there is to do (bench/results/kquant-decode-2026-12-05.md);
// Q2_K and Q3_K, with fewer bytes per group, take sixteen rows (further below).

// The same 32 bytes in both halves of a register.
__m512i both_halves(const std::uint8_t* p) { return _mm512_broadcast_i64x4(load32(p)); }

__m512i halves_epi32(int low, int high) {
  return _mm512_inserti64x4(_mm512_set1_epi32(low), _mm256_set1_epi32(high), 1);
}

__m512i halves_epi8(int low, int high) {
  return _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(low)), _mm256_set1_epi8(static_cast<char>(high)), 1);
}

// Bytes of both halves shifted right by `low` and `high` bits, masked.
__m512i bits_of_halves(__m512i bytes, int low, int high, int mask) {
  return _mm512_and_si512(_mm512_srlv_epi32(bytes, halves_epi32(low, high)), _mm512_set1_epi8(static_cast<char>(mask)));
}

// Adds `value` to the bytes whose `flags` byte has bit `low` (low half) or
// bit `high` (high half) set.
__m512i add_where_bits(__m512i u, __m512i flags, int low, int high, int value) {
  const __mmask64 set = _mm512_test_epi8_mask(flags, halves_epi8(1 << low, 1 << high));
  return _mm512_mask_add_epi8(u, set, u, _mm512_set1_epi8(static_cast<char>(value)));
}

__m512 twice(__m256 v) { return _mm512_broadcast_f32x8(v); }

__m512 negated(__m512 v) { return _mm512_xor_ps(v, _mm512_set1_ps(-0.0f)); }

// rows[i] holds row i's sixteen per-group values in its 32-bit lanes; pairs[j]
// gets groups 2j (lanes 0-7, row i in lane i) and 2j + 1 (lanes 8-15). A
// transpose of 64-bit pairs (two stages within and across the 128-bit
// quarters), whose last stage also splits each pair.
[[gnu::always_inline]] inline void group_pairs(const __m512i* rows, __m512i* pairs) {
  __m512i a[2][4];  // [pair parity within a quarter][row pair]: quarter q holds pair 2q + parity of both rows
  for (int m = 0; m < 4; ++m) {
    a[0][m] = _mm512_unpacklo_epi64(rows[2 * m], rows[2 * m + 1]);
    a[1][m] = _mm512_unpackhi_epi64(rows[2 * m], rows[2 * m + 1]);
  }
  // c[e][k]: k = 0 quarters (0, 2) of rows 0-1, then of rows 2-3; k = 1
  // quarters (1, 3); k = 2, 3 the same for rows 4-7.
  __m512i c[2][4];
  for (int e = 0; e < 2; ++e) {
    c[e][0] = _mm512_shuffle_i64x2(a[e][0], a[e][1], _MM_SHUFFLE(2, 0, 2, 0));
    c[e][1] = _mm512_shuffle_i64x2(a[e][0], a[e][1], _MM_SHUFFLE(3, 1, 3, 1));
    c[e][2] = _mm512_shuffle_i64x2(a[e][2], a[e][3], _MM_SHUFFLE(2, 0, 2, 0));
    c[e][3] = _mm512_shuffle_i64x2(a[e][2], a[e][3], _MM_SHUFFLE(3, 1, 3, 1));
  }
  for (int j = 0; j < 8; ++j) {
    const int e = j % 2, quarter = j / 2, at = 4 * (quarter / 2);
    // Rows 0, 1 at quarter `quarter / 2` of the first source, rows 2, 3 two
    // quarters on; rows 4-7 alike in the second (indexes 16 on).
    const __m512i index = _mm512_setr_epi32(at, at + 2, at + 8, at + 10, 16 + at, 18 + at, 24 + at, 26 + at,  //
                                            at + 1, at + 3, at + 9, at + 11, 17 + at, 19 + at, 25 + at, 27 + at);
    pairs[j] = _mm512_permutex2var_epi32(c[e][quarter % 2], index, c[e][2 + quarter % 2]);
  }
}

// A super-block's parameters in eight rows: the integer per-group values as
// group_pairs lays them out, and the f16 factors as f32 (both halves alike).
struct Params {
  __m512i pairs[8];
  __m512 d, dmin;
};

// Each type: kBytes, kGroupSize; quants(block, p) the unpacker's u for chunk
// 2p (values [64p, 64p + 32)) in the low half and chunk 2p + 1 in the high
// half; params(blocks, params) reads the blocks' parameters; scales(params,
// j, s, o) gives the unpacker's scales and offsets of groups 2j (low half)
// and 2j + 1 (high half), computed only where the steps use them, so that
// few registers hold values at once.

// Sixteen bytes at `offset` of each row's block: rows 0-3 in the 128-bit
// quarters of `low`, rows 4-7 in those of `high`, so that the packed 6-bit
// scales of four rows unpack at once.
struct RowBytes {
  __m512i low, high;
};

__m128i load16(const std::uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

[[gnu::always_inline]] inline RowBytes row_bytes_at(const std::uint8_t* const* blocks, int offset) {
  const auto four = [blocks, offset](int first) {
    __m512i z = _mm512_castsi128_si512(load16(blocks[first] + offset));
    z = _mm512_inserti32x4(z, load16(blocks[first + 1] + offset), 1);
    z = _mm512_inserti32x4(z, load16(blocks[first + 2] + offset), 2);
    return _mm512_inserti32x4(z, load16(blocks[first + 3] + offset), 3);
  };
  return {four(0), four(4)};
}

// Each row's sixteen (unpacked) bytes widened to the 32-bit lanes of rows[i].
[[gnu::always_inline]] inline void widened_rows(const RowBytes& bytes, __m512i* rows) {
  rows[0] = _mm512_cvtepu8_epi32(_mm512_castsi512_si128(bytes.low));
  rows[1] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes.low, 1));
  rows[2] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes.low, 2));
  rows[3] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes.low, 3));
  rows[4] = _mm512_cvtepu8_epi32(_mm512_castsi512_si128(bytes.high));
  rows[5] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes.high, 1));
  rows[6] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes.high, 2));
  rows[7] = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes.high, 3));
}

// The same sixteen bytes (a shuffle's indexes) in each 128-bit quarter.
__m512i per_quarter(__m128i bytes) { return _mm512_broadcast_i32x4(bytes); }

constexpr int kTernaryA = 0xF0, kTernaryB = 0xCC, kTernaryC = 0xAA;  // _mm512_ternarylogic_epi32's operands
constexpr int kLowOrTop = (kTernaryA & kTernaryC) | kTernaryB;        // (a & c) | b

// Q3_K's sixteen 6-bit scales (stored + 32) from its 12 packed bytes, here
// at bytes 2-13 of each quarter: the low four bits of scale i are byte i's
// low nibble (i < 8) or byte i - 8's high one, the top two bits are bits
// 2 * (i / 4) of byte 8 + i % 4, rotated within their 32-bit lane to bits
// 4-5 of their byte (a rotation by 4 - shift moves bit shift of each byte to
// bit 4 of the same byte, either way).
[[gnu::always_inline]] inline __m512i q3_k_scales(__m512i packed) {
  const __m512i nibble_bytes = _mm512_shuffle_epi8(packed, per_quarter(_mm_setr_epi8(2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6, 7, 8, 9)));
  const __m512i low = _mm512_srlv_epi64(nibble_bytes, _mm512_set_epi64(4, 0, 4, 0, 4, 0, 4, 0));
  const __m512i top_bytes = _mm512_shuffle_epi8(packed, per_quarter(_mm_setr_epi8(10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13)));
  const __m512i top = _mm512_and_si512(_mm512_rolv_epi32(top_bytes, per_quarter(_mm_setr_epi32(4, 2, 0, 30))), _mm512_set1_epi8(0x30));
  return _mm512_ternarylogic_epi32(low, top, _mm512_set1_epi8(0x0F), kLowOrTop);
}

// Q4_K and Q5_K's eight 6-bit scales and minimums from their 12 packed bytes
// (cpu/block_decoders.cpp), at bytes 0-11 of each quarter: j < 4 from the
// low six bits of bytes j and j + 4; j >= 4 a nibble of byte j + 4 and the
// top two bits of bytes j - 4 and j. As bytes: the scales 0-7, then the
// minimums.
__m512i q4_q5_k_scales(__m512i packed) {
  constexpr char kNone = static_cast<char>(0x80);  // a shuffle index that gives zero
  // Bytes 0-3 scales 0-3, 4-7 the nibbles of scales 4-7, 8-11 minimums 0-3,
  // 12-15 the nibbles of minimums 4-7 (high ones: shifted down by 4).
  const __m512i nibble_bytes = _mm512_shuffle_epi8(packed, per_quarter(_mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11)));
  const __m512i low = _mm512_srlv_epi32(nibble_bytes, per_quarter(_mm_setr_epi32(0, 0, 0, 4)));
  // The top two bits of scales and minimums 4-7, moved to bits 4-5.
  const __m512i top_bytes = _mm512_shuffle_epi8(
      packed, per_quarter(_mm_setr_epi8(kNone, kNone, kNone, kNone, 0, 1, 2, 3, kNone, kNone, kNone, kNone, 4, 5, 6, 7)));
  const __m512i top = _mm512_and_si512(_mm512_srli_epi32(top_bytes, 2), _mm512_set1_epi8(0x30));
  const __m512i low_bits = per_quarter(_mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
  return _mm512_ternarylogic_epi32(low, top, low_bits, kLowOrTop);
}

// Pairs 0-3 the scales, 4-7 the minimums.
struct Q4_Q5_K_Params {
  static void params(const std::uint8_t* const* blocks, Params& p) {
    const RowBytes packed = row_bytes_at(blocks, 4);
    __m512i rows[kRows];
    widened_rows({q4_q5_k_scales(packed.low), q4_q5_k_scales(packed.high)}, rows);
    group_pairs(rows, p.pairs);
    p.d = twice(halves(blocks, 0));
    p.dmin = twice(halves(blocks, 2));
  }
  static void scales(const Params& p, int j, __m512& s, __m512& o) {
    s = _mm512_mul_ps(p.d, _mm512_cvtepi32_ps(p.pairs[j]));
    o = negated(_mm512_mul_ps(p.dmin, _mm512_cvtepi32_ps(p.pairs[j + 4])));
  }
};

struct Q4_K : Q4_Q5_K_Params {
  static constexpr int kBytes = 144, kGroupSize = 32;
  static __m512i quants(const std::uint8_t* b, int p) { return bits_of_halves(both_halves(b + 16 + 32 * p), 0, 4, 0x0F); }
};

struct Q5_K : Q4_Q5_K_Params {
  static constexpr int kBytes = 176, kGroupSize = 32;
  static __m512i quants(const std::uint8_t* b, int p) {
    return add_where_bits(bits_of_halves(both_halves(b + 48 + 32 * p), 0, 4, 0x0F), both_halves(b + 16), 2 * p, 2 * p + 1, 16);
  }
};

struct Q6_K {
  static constexpr int kBytes = 210, kGroupSize = 16;
  // Chunks 2p and 2p + 1 take their low nibbles from 64 consecutive bytes of
  // ql, shifted alike; their top two bits from the same 32 bytes of qh, bits
  // 2p' and 2p' + 2 (p' = 2 * (p % 2)), rotated within 32-bit lanes to bits
  // 4-5 of their byte (a rotation by 4 - shift moves bit shift of each byte
  // to bit 4 of the same byte, either way).
  static __m512i quants(const std::uint8_t* b, int p) {
    const int half = p / 2, shift = 4 * (p % 2);
    const __m512i low = _mm512_srli_epi32(_mm512_loadu_si512(b + 64 * half), static_cast<unsigned>(shift));
    const __m512i rotated = _mm512_rolv_epi32(both_halves(b + 128 + 32 * half), halves_epi32((4 - shift) & 31, (2 - shift) & 31));
    const __m512i top = _mm512_and_si512(rotated, _mm512_set1_epi8(0x30));
    return _mm512_ternarylogic_epi32(low, top, _mm512_set1_epi8(0x0F), kLowOrTop);
  }
  // Sixteen signed 8-bit scales.
  static void params(const std::uint8_t* const* blocks, Params& p) {
    __m512i rows[kRows];
    for (int i = 0; i < kRows; ++i) {
      rows[i] = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[i] + 192)));
    }
    group_pairs(rows, p.pairs);
    p.d = twice(halves(blocks, 208));
  }
  static void scales(const Params& p, int j, __m512& s, __m512& o) {
    s = _mm512_mul_ps(p.d, _mm512_cvtepi32_ps(p.pairs[j]));
    o = _mm512_mul_ps(_mm512_set1_ps(-32.0f), s);
  }
};

// Eight rows' dpbusd results over two chunks, summed per 16 values: quarter
// q (128 bits) of rows0123 holds rows 0-3's sums of quarter q of their
// registers, rows4567 rows 4-7's.
struct QuarterSums {
  __m512i rows0123, rows4567;
};

[[gnu::always_inline]] inline QuarterSums quarter_sums(const __m512i* v) {
  // Per quarter: [a0 + a2, b0 + b2, a1 + a3, b1 + b3], then [a, b, c, d].
  const auto two = [](__m512i a, __m512i b) { return _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b)); };
  const auto four = [](__m512i ab, __m512i cd) {
    return _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
  };
  return {four(two(v[0], v[1]), two(v[2], v[3])), four(two(v[4], v[5]), two(v[6], v[7]))};
}

// Quarter `low`'s sums of rows 0-7 in lanes 0-7, quarter `high`'s in 8-15.
[[gnu::always_inline]] inline __m512i quarters(const QuarterSums& q, int low, int high) {
  const int l = 4 * low, h = 4 * high;
  const __m512i index = _mm512_setr_epi32(l, l + 1, l + 2, l + 3, 16 + l, 17 + l, 18 + l, 19 + l,  //
                                          h, h + 1, h + 2, h + 3, 16 + h, 17 + h, 18 + h, 19 + h);
  return _mm512_permutex2var_epi32(q.rows0123, index, q.rows4567);
}

// panel_product's steps for groups g (low halves) and g + 1 (high halves).
inline __m256 pair_steps(__m256 total, __m512i sums, __m512 s, __m512 o, const float* x_scales, const float* x_sums) {
  const __m512 scales = _mm512_insertf32x8(_mm512_set1_ps(x_scales[0]), _mm256_set1_ps(x_scales[1]), 1);
  const __m512 products = _mm512_mul_ps(s, scales);
  const __m512 f = _mm512_cvtepi32_ps(sums);
  total = _mm256_fmadd_ps(_mm512_castps512_ps256(f), _mm512_castps512_ps256(products), total);
  total = _mm256_fmadd_ps(_mm512_castps512_ps256(o), _mm256_set1_ps(x_sums[0]), total);
  total = _mm256_fmadd_ps(_mm512_extractf32x8_ps(f, 1), _mm512_extractf32x8_ps(products, 1), total);
  return _mm256_fmadd_ps(_mm512_extractf32x8_ps(o, 1), _mm256_set1_ps(x_sums[1]), total);
}

// A super-block of eight rows: its integer group sums (groups 2j and 2j + 1
// in sums[j]) and its parameters.
struct SuperBlock {
  __m512i sums[8];
  Params params;
};

// The integer sums of chunks 2p and 2p + 1.
template <typename T>
inline void sum_pair(const std::uint8_t* const* block, const std::int8_t* xq, int p, SuperBlock& to) {
  const __m512i xv = _mm512_loadu_si512(xq + 64 * p);
  __m512i v[kRows];
  for (int i = 0; i < kRows; ++i) v[i] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), T::quants(block[i], p), xv);
  const QuarterSums q = quarter_sums(v);
  if constexpr (T::kGroupSize == 32) {
    to.sums[p] = _mm512_add_epi32(quarters(q, 0, 2), quarters(q, 1, 3));
  } else {
    to.sums[2 * p] = quarters(q, 0, 1);
    to.sums[2 * p + 1] = quarters(q, 2, 3);
  }
}

// panel_product's steps for the groups of chunks 2p and 2p + 1 of super-block b.
template <typename T>
inline __m256 steps_of_pair(__m256 total, const SuperBlock& from, const QuantTokens& x, int b, int p) {
  constexpr int kGroups = 256 / T::kGroupSize, kGroupPairs = kGroups / 8;  // pairs of groups per pair of chunks
  for (int k = 0; k < kGroupPairs; ++k) {
    const int j = kGroupPairs * p + k;
    const std::size_t g = static_cast<std::size_t>(b) * kGroups + 2 * j;
    __m512 s, o;
    T::scales(from.params, j, s, o);
    total = pair_steps(total, from.sums[j], s, o, x.group_scales + g, x.group_sums + g);
  }
  return total;
}

// Super-block b's integer work (into `next`) interleaved with super-block b
// - 1's f32 steps (from `last`), then b's parameters; the rows move on.
// Each row's f32 steps are a chain of dependent fused multiply-adds, two per
// group; interleaved in program order with independent work, the processor
// runs them side by side, where a super-block's steps at once filled its
// window of waiting instructions and stalled the next block's loads.
template <typename T>
inline __m256 overlapped(__m256 total, const std::uint8_t** block, NextRows& rows, const QuantTokens& x, int b,
                         SuperBlock& next, const SuperBlock& last) {
  rows.fetch_share();
  const std::int8_t* xq = x.quants + static_cast<std::size_t>(b) * 256;
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {
    sum_pair<T>(block, xq, p, next);
    total = steps_of_pair<T>(total, last, x, b - 1, p);
  }
  T::params(block, next.params);
  for (int i = 0; i < kRows; ++i) block[i] += T::kBytes;
  return total;
}

template <typename T>
void stored_k_rows(const std::uint8_t* rows, std::size_t row_bytes, int blocks, const QuantTokens& x, float* out) {
  __m256 total = _mm256_setzero_ps();
  const std::uint8_t* block[kRows];
  for (int i = 0; i < kRows; ++i) block[i] = rows + i * row_bytes;
  NextRows next(rows, row_bytes, blocks);
  SuperBlock a, c;
  next.fetch_share();
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) sum_pair<T>(block, x.quants, p, a);
  T::params(block, a.params);
  for (int i = 0; i < kRows; ++i) block[i] += T::kBytes;
  // Two super-blocks a step, so that a and c keep their places (registers).
  for (int b = 1;; b += 2) {
    if (b == blocks) {
      for (int p = 0; p < 4; ++p) total = steps_of_pair<T>(total, a, x, b - 1, p);
      break;
    }
    total = overlapped<T>(total, block, next, x, b, c, a);
    if (b + 1 == blocks) {
      for (int p = 0; p < 4; ++p) total = steps_of_pair<T>(total, c, x, b, p);
      break;
    }
    total = overlapped<T>(total, block, next, x, b + 1, a, c);
  }
  _mm256_storeu_ps(out, total);
}


// Q2_K and Q3_K take sixteen rows a call, one per lane of a 512-bit register.
// With eight rows a call and the rows' dot products reduced per group, their
// f32 steps (two dependent fused multiply-adds per 16-value group and row, in
// order) and the reductions held them below the Q8_0 path's bytes per second
// (bench/results/kquant-decode-2026-12-05.md). Here the stored bytes are
// transposed instead, four bytes of each row per 32-bit lane: a byte holds
// four 2-bit quants, so moving bytes costs a quarter of moving dot products.
// Each lane then meets four values of one group of its row (dpbusd against the
// token's four values, broadcast), a group's four lanes accumulate in place,
// and the sums come out one row per lane, as the f32 steps want them: each
// f32 operation of a group serves all sixteen rows, and one chain of
// dependent steps twice the rows that eight-row calls gave it.

// Sixteen rows' 32 bytes at `offset` of their blocks, one row per lane:
// dwords[j] lane r holds bytes 4j to 4j + 3 of row r.
[[gnu::always_inline]] inline void transposed_rows(const std::uint8_t* const* blocks, int offset, __m512i* dwords) {
  __m512i pair[kRows];  // rows i and i + 8: quarters 0-1 and 2-3
  for (int i = 0; i < kRows; ++i) {
    pair[i] = _mm512_inserti64x4(_mm512_castsi256_si512(load32(blocks[i] + offset)), load32(blocks[i + kRows] + offset), 1);
  }
  // Within the quarters, four rows' four dwords: quad[m][k] quarter q holds
  // dword k of quarter q of rows 4m to 4m + 3 (q = 0, 1) or 4m + 8 on (q = 2, 3).
  __m512i quad[2][4];
  for (int m = 0; m < 2; ++m) {
    const __m512i* row = pair + 4 * m;
    const __m512i lo01 = _mm512_unpacklo_epi32(row[0], row[1]), hi01 = _mm512_unpackhi_epi32(row[0], row[1]);
    const __m512i lo23 = _mm512_unpacklo_epi32(row[2], row[3]), hi23 = _mm512_unpackhi_epi32(row[2], row[3]);
    quad[m][0] = _mm512_unpacklo_epi64(lo01, lo23);
    quad[m][1] = _mm512_unpackhi_epi64(lo01, lo23);
    quad[m][2] = _mm512_unpacklo_epi64(hi01, hi23);
    quad[m][3] = _mm512_unpackhi_epi64(hi01, hi23);
  }
  // Rows 0-3, 4-7, 8-11, 12-15 in order: quarter 0 (dwords 0-3) or 1 (4-7) of each quad.
  const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), second = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  for (int k = 0; k < 4; ++k) {
    dwords[k] = _mm512_permutex2var_epi64(quad[0][k], first, quad[1][k]);
    dwords[4 + k] = _mm512_permutex2var_epi64(quad[0][k], second, quad[1][k]);
  }
}

// Rows 4m to 4m + 3 of sixteen rows' bytes in quarters 0-3 of quads[m] (as
// row_bytes_at lays them) turned to one row per lane: dwords[k] lane r holds
// bytes 4k to 4k + 3 of row r.
[[gnu::always_inline]] inline void row_dwords(const __m512i* quads, __m512i* dwords) {
  for (int k = 0; k < 4; k += 2) {
    // Lanes 0-7: dword k of the eight rows of two quads; lanes 8-15 dword k + 1.
    const __m512i index = _mm512_setr_epi32(k, k + 4, k + 8, k + 12, k + 16, k + 20, k + 24, k + 28,  //
                                            k + 1, k + 5, k + 9, k + 13, k + 17, k + 21, k + 25, k + 29);
    const __m512i rows0_7 = _mm512_permutex2var_epi32(quads[0], index, quads[1]);
    const __m512i rows8_15 = _mm512_permutex2var_epi32(quads[2], index, quads[3]);
    dwords[k] = _mm512_shuffle_i64x2(rows0_7, rows8_15, _MM_SHUFFLE(1, 0, 1, 0));
    dwords[k + 1] = _mm512_shuffle_i64x2(rows0_7, rows8_15, _MM_SHUFFLE(3, 2, 3, 2));
  }
}

// Sixteen rows' per-group bytes and f16 factors.
struct WideParams {
  __m512i bytes[4];  // bytes[k] lane r: the bytes of groups 4k to 4k + 3 of row r
  __m512 d, dmin;
};

// Lane r: the u32 at `offset` of row r's block; row_offsets lane r is r * row_bytes.
[[gnu::always_inline]] inline __m512i row_u32(const std::uint8_t* const* blocks, __m512i row_offsets, int offset) {
  return _mm512_i32gather_epi32(row_offsets, blocks[0] + offset, 1);
}

// The f16 in the low (high) 16 bits of each lane, as f32 (exact).
[[gnu::always_inline]] inline __m512 low_halves(__m512i u32) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(u32)); }
[[gnu::always_inline]] inline __m512 high_halves(__m512i u32) { return low_halves(_mm512_srli_epi32(u32, 16)); }

// Group g's byte in the low 8 bits of each lane (more bits above it).
[[gnu::always_inline]] inline __m512i group_byte(const WideParams& p, int g) {
  return _mm512_srli_epi32(p.bytes[g / 4], 8 * (g % 4));
}

// The low four bits of each lane as f32: vpermps reads only those bits of its index.
[[gnu::always_inline]] inline __m512 low_nibble_ps(__m512i v) {
  return _mm512_permutexvar_ps(v, _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

// The token's four int8 values from value 4 * index of the super-block, in every lane.
[[gnu::always_inline]] inline __m512i token_quad(const std::int8_t* xq, int index) {
  return _mm512_set1_epi32(static_cast<int>(u32_at(reinterpret_cast<const std::uint8_t*>(xq) + 4 * index)));
}

// Each wide type: kBytes; Bits, what prepare(blocks, bits) reads once a
// super-block for group_sums; group_sums(blocks, bits, xq, h, sums) the
// integer sums of groups 8h to 8h + 7 (sums[i] lane r: row r's group 8h + i);
// params(blocks, row_offsets, params); scales(params, g, s, o) the
// unpacker's scale and offset of group g.

struct Q2_K {
  static constexpr int kBytes = 84;
  struct Bits {};
  static void prepare(const std::uint8_t* const*, Bits&) {}
  // Byte l of the 32 at 16 + 32h holds, at bits 2s, value 128h + 32s + l of
  // the super-block; kept in place (times 4^s), undone on the sums.
  static void group_sums(const std::uint8_t* const* blocks, const Bits&, const std::int8_t* xq, int h, __m512i* sums) {
    __m512i qs[8];
    transposed_rows(blocks, 16 + 32 * h, qs);
    for (int i = 0; i < 8; ++i) sums[i] = _mm512_setzero_si512();
    for (int s = 0; s < 4; ++s) {
      for (int j = 0; j < 8; ++j) {
        const __m512i u = _mm512_and_si512(qs[j], _mm512_set1_epi8(static_cast<char>(3 << (2 * s))));
        __m512i& sum = sums[2 * s + j / 4];
        sum = _mm512_dpbusd_epi32(sum, u, token_quad(xq, 32 * h + 8 * s + j));
      }
    }
    for (int i = 2; i < 8; ++i) sums[i] = _mm512_srai_epi32(sums[i], 2 * (i / 2));
  }
  // Group g's byte: scale in the low nibble, minimum in the high one.
  static void params(const std::uint8_t* const* blocks, __m512i row_offsets, WideParams& p) {
    const RowBytes low = row_bytes_at(blocks, 0), high = row_bytes_at(blocks + kRows, 0);
    const __m512i quads[4] = {low.low, low.high, high.low, high.high};
    row_dwords(quads, p.bytes);
    const __m512i factors = row_u32(blocks, row_offsets, 80);
    p.d = low_halves(factors);
    p.dmin = high_halves(factors);
  }
  static void scales(const WideParams& p, int g, __m512& s, __m512& o) {
    const __m512i byte = group_byte(p, g);
    s = _mm512_mul_ps(p.d, low_nibble_ps(byte));
    o = negated(_mm512_mul_ps(p.dmin, low_nibble_ps(_mm512_srli_epi32(byte, 4))));
  }
};

struct Q3_K {
  static constexpr int kBytes = 110;
  struct Bits {
    __m512i mask[8];  // the high bits, transposed
  };
  static void prepare(const std::uint8_t* const* blocks, Bits& bits) { transposed_rows(blocks, 0, bits.mask); }
  // Byte l of the 32 at 32 + 32h holds, at bits 2s, the two low bits of value
  // 32c + l, c = 4h + s; bit c of mask byte l its third (place value 4). Kept
  // at bits 2s (times 4^s) for s < 3, at bits 2-3 (times 4) for s = 3, so that
  // a value fits a byte; undone on the sums.
  static void group_sums(const std::uint8_t* const* blocks, const Bits& bits, const std::int8_t* xq, int h, __m512i* sums) {
    __m512i qs[8];
    transposed_rows(blocks, 32 + 32 * h, qs);
    for (int i = 0; i < 8; ++i) sums[i] = _mm512_setzero_si512();
    // Shift by shift, so that few constants and sums are live at once.
    for (int s = 0; s < 4; ++s) {
      for (int j = 0; j < 8; ++j) {
        const int c = 4 * h + s, place = s < 3 ? 2 * s : 2;
        const __m512i low = s < 3 ? _mm512_and_si512(qs[j], _mm512_set1_epi8(static_cast<char>(3 << place)))
                                  : _mm512_and_si512(_mm512_srli_epi32(qs[j], 4), _mm512_set1_epi8(0x0C));
        const __mmask64 third = _mm512_test_epi8_mask(bits.mask[j], _mm512_set1_epi8(static_cast<char>(1 << c)));
        const __m512i u = _mm512_mask_add_epi8(low, third, low, _mm512_set1_epi8(static_cast<char>(4 << place)));
        __m512i& sum = sums[2 * s + j / 4];
        sum = _mm512_dpbusd_epi32(sum, u, token_quad(xq, 8 * c + j));
      }
    }
    for (int i = 2; i < 8; ++i) sums[i] = _mm512_srai_epi32(sums[i], i < 6 ? 2 * (i / 2) : 2);
  }
  static void params(const std::uint8_t* const* blocks, __m512i row_offsets, WideParams& p) {
    // From byte 94, as the eight-row types read it.
    const RowBytes low = row_bytes_at(blocks, 94), high = row_bytes_at(blocks + kRows, 94);
    const __m512i quads[4] = {q3_k_scales(low.low), q3_k_scales(low.high), q3_k_scales(high.low), q3_k_scales(high.high)};
    row_dwords(quads, p.bytes);
    p.d = high_halves(row_u32(blocks, row_offsets, 106));  // the u32 ending the block
  }
  static void scales(const WideParams& p, int g, __m512& s, __m512& o) {
    // (q - 32) is exact in f32 either side of the conversion.
    const __m512i q = _mm512_and_si512(group_byte(p, g), _mm512_set1_epi32(0x3F));
    s = _mm512_mul_ps(p.d, _mm512_sub_ps(_mm512_cvtepi32_ps(q), _mm512_set1_ps(32.0f)));
    o = _mm512_mul_ps(_mm512_set1_ps(-4.0f), s);
  }
};

// A super-block's group sums of sixteen rows as f32 (lane r row r) and its parameters.
struct WideSteps {
  __m512 sums[16];
  WideParams params;
};

// panel_product's steps for groups 8h to 8h + 7 of super-block b.
template <typename T>
[[gnu::always_inline]] inline __m512 wide_steps(__m512 total, const WideSteps& from, const QuantTokens& x, int b, int h) {
  for (int i = 0; i < 8; ++i) {
    const std::size_t g = 8 * h + i, k = 16 * static_cast<std::size_t>(b) + g;
    __m512 s, o;
    T::scales(from.params, static_cast<int>(g), s, o);
    total = _mm512_fmadd_ps(from.sums[g], _mm512_mul_ps(s, _mm512_set1_ps(x.group_scales[k])), total);
    total = _mm512_fmadd_ps(o, _mm512_set1_ps(x.group_sums[k]), total);
  }
  return total;
}

// Super-block b's integer work is interleaved with super-block b - 1's f32
// steps (its sums and parameters kept in memory, the other of two
// WideSteps), as in overlapped above, so that the chain runs beside
// independent work.
template <typename T>
void stored_wide_rows(const std::uint8_t* rows, std::size_t row_bytes, int blocks, const QuantTokens& x, float* out) {
  const std::uint8_t* block[kWideRows];
  for (int r = 0; r < kWideRows; ++r) block[r] = rows + r * row_bytes;
  const __m512i row_offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                 _mm512_set1_epi32(static_cast<int>(row_bytes)));
  NextRows next(rows, row_bytes, blocks, kWideRows);
  WideSteps steps[2];
  __m512 total = _mm512_setzero_ps();
  for (int b = 0; b < blocks; ++b) {
    next.fetch_share();
    WideSteps& now = steps[b % 2];
    const WideSteps& last = steps[1 - b % 2];
    T::params(block, row_offsets, now.params);
    typename T::Bits bits;
    T::prepare(block, bits);
    const std::int8_t* xq = x.quants + 256 * static_cast<std::size_t>(b);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m512i sums[8];
      T::group_sums(block, bits, xq, h, sums);
      for (int i = 0; i < 8; ++i) now.sums[8 * h + i] = _mm512_cvtepi32_ps(sums[i]);
      if (b > 0) total = wide_steps<T>(total, last, x, b - 1, h);
    }
    for (int r = 0; r < kWideRows; ++r) block[r] += T::kBytes;
  }
  for (int h = 0; h < 2; ++h) total = wide_steps<T>(total, steps[(blocks - 1) % 2], x, blocks - 1, h);
  _mm512_storeu_ps(out, total);
}

}  // namespace

StoredRowKernel avx512vnni_stored_row_products(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return {stored_block_rows<Q4_0, VnniRows>, kRows};
    case GgmlType::Q4_1: return {stored_block_rows<Q4_1, VnniRows>, kRows};
    case GgmlType::Q5_0: return {stored_block_rows<Q5_0, VnniRows>, kRows};
    case GgmlType::Q5_1: return {stored_block_rows<Q5_1, VnniRows>, kRows};
    case GgmlType::Q8_0: return {stored_block_rows<Q8_0, VnniRows>, kRows};
    case GgmlType::Q2_K: return {stored_wide_rows<Q2_K>, kWideRows};
    case GgmlType::Q3_K: return {stored_wide_rows<Q3_K>, kWideRows};
    case GgmlType::Q4_K: return {stored_k_rows<Q4_K>, kRows};
    case GgmlType::Q5_K: return {stored_k_rows<Q5_K>, kRows};
    case GgmlType::Q6_K: return {stored_k_rows<Q6_K>, kRows};
    default: return {nullptr, kRows};
  }
}

}  // namespace snapkv

#else

namespace snapkv {
StoredRowKernel avx512vnni_stored_row_products(GgmlType) { return {nullptr, 8}; }
}  // namespace snapkv

#endif
