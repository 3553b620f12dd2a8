// One-token products of the avx512vnni set, read straight from the stored
// blocks (StoredRowProducts in cpu/quant_kernels.h). A decode step reads every
// weight once; unpacking rows into a buffer first (cpu/weight_unpack.h) costs
// a second pass over them, which set the pace of decode. Here each 32 values
// of eight rows are unpacked in registers and met by _mm256_dpbusd_epi32.
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

#include <cstring>

namespace snapkv {

namespace {

constexpr int kRows = kStoredRows;
static_assert(kRows == 8, "one row per lane of a 256-bit register");

std::uint16_t u16_at(const std::uint8_t* p) {
  std::uint16_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

std::uint32_t u32_at(const std::uint8_t* p) {
  std::uint32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

float half_at(const std::uint8_t* p) { return _cvtsh_ss(u16_at(p)); }

// The f16 at byte `offset` of each row's block, as eight f32 lanes (exact).
__m256 halves(const std::uint8_t* const* blocks, int offset) {
  const __m128i bits = _mm_setr_epi16(
      static_cast<short>(u16_at(blocks[0] + offset)), static_cast<short>(u16_at(blocks[1] + offset)),
      static_cast<short>(u16_at(blocks[2] + offset)), static_cast<short>(u16_at(blocks[3] + offset)),
      static_cast<short>(u16_at(blocks[4] + offset)), static_cast<short>(u16_at(blocks[5] + offset)),
      static_cast<short>(u16_at(blocks[6] + offset)), static_cast<short>(u16_at(blocks[7] + offset)));
  return _mm256_cvtph_ps(bits);
}

__m256i load32(const std::uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

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

// Adds `value` to byte j where byte j of `flags` has the bit `bit`.
__m256i add_where_bit(__m256i u, __m256i flags, int bit, char value) {
  const __mmask32 set = _mm256_test_epi8_mask(flags, _mm256_set1_epi8(static_cast<char>(1 << bit)));
  return _mm256_mask_add_epi8(u, set, u, _mm256_set1_epi8(value));
}

// Bytes shifted right by `shift` bits (a multiple of 2 below 8), masked.
__m256i bits_of(__m256i bytes, int shift, char mask) {
  return _mm256_and_si256(_mm256_srli_epi16(bytes, shift), _mm256_set1_epi8(mask));
}

// Each type: kBytes, kValues per block, kGroupSize (16 or 32); quants(block,
// k) the unpacker's u for values [32k, 32k + 32) of the block; params(blocks,
// s, o) the unpacker's scale and offset of each group of a block in eight
// rows (lane i row i).

struct Q4_0 {
  static constexpr int kBytes = 18, kValues = 32, kGroupSize = 32;
  static __m256i quants(const std::uint8_t* b, int) { return nibbles(b + 2); }
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) {
    s[0] = halves(blocks, 0);
    o[0] = _mm256_mul_ps(_mm256_set1_ps(-8.0f), s[0]);
  }
};

struct Q4_1 {
  static constexpr int kBytes = 20, kValues = 32, kGroupSize = 32;
  static __m256i quants(const std::uint8_t* b, int) { return nibbles(b + 4); }
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) {
    s[0] = halves(blocks, 0);
    o[0] = halves(blocks, 2);
  }
};

struct Q5_0 {
  static constexpr int kBytes = 22, kValues = 32, kGroupSize = 32;
  static __m256i quants(const std::uint8_t* b, int) { return add_where(nibbles(b + 6), u32_at(b + 2), 16); }
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) {
    s[0] = halves(blocks, 0);
    o[0] = _mm256_mul_ps(_mm256_set1_ps(-16.0f), s[0]);
  }
};

struct Q5_1 {
  static constexpr int kBytes = 24, kValues = 32, kGroupSize = 32;
  static __m256i quants(const std::uint8_t* b, int) { return add_where(nibbles(b + 8), u32_at(b + 4), 16); }
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) {
    s[0] = halves(blocks, 0);
    o[0] = halves(blocks, 2);
  }
};

struct Q8_0 {
  static constexpr int kBytes = 34, kValues = 32, kGroupSize = 32;
  // q + 128: q with its top bit flipped.
  static __m256i quants(const std::uint8_t* b, int) {
    return _mm256_xor_si256(load32(b + 2), _mm256_set1_epi8(static_cast<char>(0x80)));
  }
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) {
    s[0] = halves(blocks, 0);
    o[0] = _mm256_mul_ps(_mm256_set1_ps(-128.0f), s[0]);
  }
};

// The K-quants' per-group scales and minimums, for eight rows at once: each
// row's packed bytes gathered into one 64-bit lane (a word per row), then
// group g's byte of every lane widened to f32. The products are the
// unpacker's, in the same f32 steps, so the values have its bits.

std::uint64_t u64_at(const std::uint8_t* p) {
  std::uint64_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// One 64-bit word per row: word(row) in lane i.
template <typename Word>
__m512i lanes_of(const std::uint8_t* const* blocks, Word word) {
  return _mm512_setr_epi64(static_cast<long long>(word(blocks[0])), static_cast<long long>(word(blocks[1])),
                           static_cast<long long>(word(blocks[2])), static_cast<long long>(word(blocks[3])),
                           static_cast<long long>(word(blocks[4])), static_cast<long long>(word(blocks[5])),
                           static_cast<long long>(word(blocks[6])), static_cast<long long>(word(blocks[7])));
}

// Byte k of each lane (unsigned, or bits [shift, shift + width) of it), as f32.
__m256 byte_of(__m512i words, int k, int shift = 0, int width = 8) {
  const __m512i bits = _mm512_srli_epi64(words, 8 * k + shift);
  return _mm512_cvtepi64_ps(_mm512_and_si512(bits, _mm512_set1_epi64((1 << width) - 1)));
}

// Byte k of each lane as a signed value, as f32.
__m256 signed_byte_of(__m512i words, int k) {
  return _mm512_cvtepi64_ps(_mm512_srai_epi64(_mm512_slli_epi64(words, 56 - 8 * k), 56));
}

__m256 negated(__m256 v) { return _mm256_xor_ps(v, _mm256_set1_ps(-0.0f)); }

struct Q2_K {
  static constexpr int kBytes = 84, kValues = 256, kGroupSize = 16;
  static __m256i quants(const std::uint8_t* b, int k) { return bits_of(load32(b + 16 + 32 * (k / 4)), 2 * (k % 4), 3); }
  // Group g's byte: scale in the low nibble, minimum in the high one.
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) {
    const __m256 d = halves(blocks, 80);
    const __m256 dmin = halves(blocks, 82);
    for (int half = 0; half < 2; ++half) {
      const __m512i packed = lanes_of(blocks, [half](const std::uint8_t* b) { return u64_at(b + 8 * half); });
      for (int k = 0; k < 8; ++k) {
        s[8 * half + k] = _mm256_mul_ps(d, byte_of(packed, k, 0, 4));
        o[8 * half + k] = negated(_mm256_mul_ps(dmin, byte_of(packed, k, 4, 4)));
      }
    }
  }
};

// Q3_K's sixteen 6-bit scales (stored + 32) from its 12 packed bytes: the low
// four bits of scale i are byte i's low nibble (i < 8) or byte i - 8's high
// one, the top two bits are bits 2 * (i / 4) of byte 8 + i % 4. As words:
// scales 0-3, 4-7, 8-11, 12-15 each in one 32-bit word.
std::uint64_t q3_k_scales(const std::uint8_t* packed, int half) {
  const std::uint32_t w0 = u32_at(packed), w1 = u32_at(packed + 4), w2 = u32_at(packed + 8);
  constexpr std::uint32_t kLow = 0x0F0F0F0Fu, kTop = 0x03030303u;
  const int shift = 4 * half;  // scales 8-15 take the high nibbles and the top bits 4-7
  const std::uint32_t first = ((w0 >> shift) & kLow) | (((w2 >> shift) & kTop) << 4);
  const std::uint32_t second = ((w1 >> shift) & kLow) | (((w2 >> (shift + 2)) & kTop) << 4);
  return first | (static_cast<std::uint64_t>(second) << 32);
}

struct Q3_K {
  static constexpr int kBytes = 110, kValues = 256, kGroupSize = 16;
  static __m256i quants(const std::uint8_t* b, int k) {
    return add_where_bit(bits_of(load32(b + 32 + 32 * (k / 4)), 2 * (k % 4), 3), load32(b), k, 4);
  }
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) {
    const __m256 d = halves(blocks, 108);
    const __m256 bias = _mm256_set1_ps(32.0f);
    for (int half = 0; half < 2; ++half) {
      const __m512i scales = lanes_of(blocks, [half](const std::uint8_t* b) { return q3_k_scales(b + 96, half); });
      for (int k = 0; k < 8; ++k) {
        // (q - 32) is exact in f32 either side of the conversion.
        s[8 * half + k] = _mm256_mul_ps(d, _mm256_sub_ps(byte_of(scales, k), bias));
        o[8 * half + k] = _mm256_mul_ps(_mm256_set1_ps(-4.0f), s[8 * half + k]);
      }
    }
  }
};

// Q4_K and Q5_K's eight 6-bit scales and minimums from their 12 packed bytes
// (cpu/block_decoders.cpp): j < 4 from the low six bits of bytes j and j + 4;
// j >= 4 a nibble of byte j + 4 and the top two bits of bytes j - 4 and j.
// As words: the scales in one 64-bit word, the minimums in another.
void q4_q5_k_scales(const std::uint8_t* packed, std::uint64_t& scales, std::uint64_t& mins) {
  const std::uint32_t w0 = u32_at(packed), w1 = u32_at(packed + 4), w2 = u32_at(packed + 8);
  constexpr std::uint32_t kSix = 0x3F3F3F3Fu, kLow = 0x0F0F0F0Fu, kTop = 0x03030303u;
  const std::uint32_t high_scales = (w2 & kLow) | (((w0 >> 6) & kTop) << 4);
  const std::uint32_t high_mins = ((w2 >> 4) & kLow) | (((w1 >> 6) & kTop) << 4);
  scales = (w0 & kSix) | (static_cast<std::uint64_t>(high_scales) << 32);
  mins = (w1 & kSix) | (static_cast<std::uint64_t>(high_mins) << 32);
}

void q4_q5_k_params(const std::uint8_t* const* blocks, __m256* s, __m256* o) {
  const __m256 d = halves(blocks, 0);
  const __m256 dmin = halves(blocks, 2);
  std::uint64_t scales[kRows], mins[kRows];
  for (int i = 0; i < kRows; ++i) q4_q5_k_scales(blocks[i] + 4, scales[i], mins[i]);
  const __m512i scale_lanes = _mm512_loadu_si512(scales);
  const __m512i min_lanes = _mm512_loadu_si512(mins);
  for (int j = 0; j < 8; ++j) {
    s[j] = _mm256_mul_ps(d, byte_of(scale_lanes, j));
    o[j] = negated(_mm256_mul_ps(dmin, byte_of(min_lanes, j)));
  }
}

struct Q4_K {
  static constexpr int kBytes = 144, kValues = 256, kGroupSize = 32;
  static __m256i quants(const std::uint8_t* b, int k) { return bits_of(load32(b + 16 + 32 * (k / 2)), 4 * (k % 2), 0xF); }
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) { q4_q5_k_params(blocks, s, o); }
};

struct Q5_K {
  static constexpr int kBytes = 176, kValues = 256, kGroupSize = 32;
  static __m256i quants(const std::uint8_t* b, int k) {
    return add_where_bit(bits_of(load32(b + 48 + 32 * (k / 2)), 4 * (k % 2), 0xF), load32(b + 16), k, 16);
  }
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) { q4_q5_k_params(blocks, s, o); }
};

struct Q6_K {
  static constexpr int kBytes = 210, kValues = 256, kGroupSize = 16;
  static __m256i quants(const std::uint8_t* b, int k) {
    const int half = k / 4, p = k % 4;
    const __m256i low = bits_of(load32(b + 64 * half + 32 * (p % 2)), 4 * (p / 2), 0xF);
    const __m256i top = bits_of(load32(b + 128 + 32 * half), 2 * p, 3);
    return _mm256_or_si256(low, _mm256_slli_epi16(top, 4));
  }
  // Sixteen signed 8-bit scales.
  static void params(const std::uint8_t* const* blocks, __m256* s, __m256* o) {
    const __m256 d = halves(blocks, 208);
    for (int half = 0; half < 2; ++half) {
      const __m512i scales = lanes_of(blocks, [half](const std::uint8_t* b) { return u64_at(b + 192 + 8 * half); });
      for (int k = 0; k < 8; ++k) {
        s[8 * half + k] = _mm256_mul_ps(d, signed_byte_of(scales, k));
        o[8 * half + k] = _mm256_mul_ps(_mm256_set1_ps(-32.0f), s[8 * half + k]);
      }
    }
  }
};

// The eight int32 sums of eight rows' dpbusd results: for 32-value groups
// lane i holds row i's group sum; for 16-value groups `low` holds the first
// group's and `high` the second's.
struct RowSums {
  __m256i low, high;
};

RowSums reduce(const __m256i* v) {
  const __m256i a01 = _mm256_hadd_epi32(v[0], v[1]);
  const __m256i a23 = _mm256_hadd_epi32(v[2], v[3]);
  const __m256i a45 = _mm256_hadd_epi32(v[4], v[5]);
  const __m256i a67 = _mm256_hadd_epi32(v[6], v[7]);
  // Lanes: rows 0-3 of the low 128 bits' values, then of the high 128 bits'.
  const __m256i b0 = _mm256_hadd_epi32(a01, a23);
  const __m256i b1 = _mm256_hadd_epi32(a45, a67);
  return {_mm256_permute2x128_si256(b0, b1, 0x20), _mm256_permute2x128_si256(b0, b1, 0x31)};
}

inline __m256 step(__m256 total, __m256i sums, __m256 s, __m256 o, const QuantTokens& x, int g) {
  total = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(s, _mm256_set1_ps(x.group_scales[g])), total);
  return _mm256_fmadd_ps(o, _mm256_set1_ps(x.group_sums[g]), total);
}

template <typename T>
void stored_rows(const std::uint8_t* rows, std::size_t row_bytes, int blocks, const QuantTokens& x, float* out) {
  constexpr int kChunks = T::kValues / 32;
  constexpr int kGroups = T::kValues / T::kGroupSize;
  __m256 total = _mm256_setzero_ps();
  const std::uint8_t* block[kRows];
  for (int i = 0; i < kRows; ++i) block[i] = rows + i * row_bytes;
  // Eight rows read side by side are eight short streams, too short for the
  // hardware prefetcher to follow (a 896-value Q8_0 row is 15 cache lines):
  // the next eight rows' bytes are fetched while these are computed, a share
  // per block. Past the matrix's end a prefetch is harmless (it never faults).
  const std::uint8_t* next = rows + kRows * row_bytes;
  const std::size_t next_bytes = kRows * row_bytes;
  const std::size_t share = (next_bytes + blocks - 1) / blocks;
  std::size_t fetched = 0, until = 0;
  for (int b = 0; b < blocks; ++b) {
    for (until += share; fetched < until; fetched += 64) _mm_prefetch(reinterpret_cast<const char*>(next + fetched), _MM_HINT_T0);
    __m256 s[kGroups], o[kGroups];
    T::params(block, s, o);
    const std::int8_t* xq = x.quants + static_cast<std::size_t>(b) * T::kValues;
#pragma GCC unroll 8
    for (int k = 0; k < kChunks; ++k) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * k));
      __m256i v[kRows];
      for (int i = 0; i < kRows; ++i) v[i] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), T::quants(block[i], k), xv);
      const RowSums sums = reduce(v);
      if constexpr (T::kGroupSize == 32) {
        total = step(total, _mm256_add_epi32(sums.low, sums.high), s[k], o[k], x, b * kGroups + k);
      } else {
        total = step(total, sums.low, s[2 * k], o[2 * k], x, b * kGroups + 2 * k);
        total = step(total, sums.high, s[2 * k + 1], o[2 * k + 1], x, b * kGroups + 2 * k + 1);
      }
    }
    for (int i = 0; i < kRows; ++i) block[i] += T::kBytes;
  }
  _mm256_storeu_ps(out, total);
}

}  // namespace

StoredRowProducts avx512vnni_stored_row_products(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return stored_rows<Q4_0>;
    case GgmlType::Q4_1: return stored_rows<Q4_1>;
    case GgmlType::Q5_0: return stored_rows<Q5_0>;
    case GgmlType::Q5_1: return stored_rows<Q5_1>;
    case GgmlType::Q8_0: return stored_rows<Q8_0>;
    case GgmlType::Q2_K: return stored_rows<Q2_K>;
    case GgmlType::Q3_K: return stored_rows<Q3_K>;
    case GgmlType::Q4_K: return stored_rows<Q4_K>;
    case GgmlType::Q5_K: return stored_rows<Q5_K>;
    case GgmlType::Q6_K: return stored_rows<Q6_K>;
    default: return nullptr;
  }
}

}  // namespace snapkv

#else

namespace snapkv {
StoredRowProducts avx512vnni_stored_row_products(GgmlType) { return nullptr; }
}  // namespace snapkv

#endif
