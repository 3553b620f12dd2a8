// One-token products of F16 and BF16 weights for the avx512bf16 set, read
// straight from the stored rows (Bf16StoredRowProducts in cpu/quant_kernels.h).
// Packing a bf16 panel per decode step (cpu/quant_prep.h) is a second, scalar
// pass over weights that are read once (four times slower than the f32 path on
// the output matrix); the f32 path (cpu/matmul.cpp) reads them once but gives
// other bits than a prefill, whose products are bf16.
//
// Same bits as bf16_panel_product: there lane i of a 512-bit register is row
// i of one 16-row part of a panel, and row i's sum is one _mm512_dpbf16_ps chain over the
// row's bf16 pairs in order, against the token's pair broadcast. Here 32
// values of each of 16 rows are loaded (F16 widened exactly to f32, then
// rounded to bf16 by _mm512_cvtne2ps_pbh: nearest even, as the panel's packing
// rounds, and f16 holds no value that is subnormal in f32), the 16 x 16 words
// transposed in registers so that word k of row i sits in lane i of register k,
// and the same chain runs lane by lane. The lanes never mix, so a row's bits do
// not depend on the other rows either. Two groups of 16 rows go tile by tile
// side by side: one chain alone waits on the dot product's latency.
#include "cpu/quant_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512BF16__) && \
    defined(__F16C__)
#include <immintrin.h>

#include <algorithm>

namespace snapkv {

namespace {

constexpr int kLanes = 16;  // rows per register: one row per f32 lane
static_assert(kBf16StoredRows == 2 * kLanes, "stored_rows takes one or two groups of 16 rows");
constexpr int kTileValues = 32;  // of each row per step: 16 pairs, 64 stored bytes
constexpr int kTilePairs = kTileValues / 2;

// The rows of a call, read side by side, are as many short streams (an
// 896-value F16 row is 28 cache lines): each step fetches the lines the step
// kAheadTiles later reads, past the last tile those of the next call's rows.
// Past the matrix's end a prefetch is harmless (it never faults).
constexpr int kAheadTiles = 8;

// 32 values of a stored row as 16 bf16 pairs (word k: values 2k and 2k + 1);
// the masked form reads only the values whose bit is set, the rest are zero
// (the panel pairs an odd row's last value with zero too).
struct F16 {
  __attribute__((always_inline)) static __m512i pairs(const std::uint16_t* w) {
    const __m512 low = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)));
    const __m512 high = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16)));
    return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(high, low));
  }
  __attribute__((always_inline)) static __m512i pairs(const std::uint16_t* w, __mmask32 valid) {
    const __m512 low = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(static_cast<__mmask16>(valid), w));
    const __m512 high = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(static_cast<__mmask16>(valid >> 16), w + 16));
    return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(high, low));
  }
};

struct BF16 {
  __attribute__((always_inline)) static __m512i pairs(const std::uint16_t* w) { return _mm512_loadu_si512(w); }
  __attribute__((always_inline)) static __m512i pairs(const std::uint16_t* w, __mmask32 valid) { return _mm512_maskz_loadu_epi16(valid, w); }
};

// v[i] word k -> v[k] word i, for 16 registers of 16 words.
// Inlined, so that the 16 registers stay registers.
__attribute__((always_inline)) inline void transpose(__m512i* v) {
  __m512i t[kLanes];
#pragma GCC unroll 16
  for (int j = 0; j < kLanes; j += 2) {  // in each 128-bit lane: words of rows j, j + 1 interleaved
    t[j] = _mm512_unpacklo_epi32(v[j], v[j + 1]);
    t[j + 1] = _mm512_unpackhi_epi32(v[j], v[j + 1]);
  }
#pragma GCC unroll 16
  for (int j = 0; j < kLanes; j += 4) {  // 128-bit lane L of v[j + m]: word 4L + m of rows j..j + 3
    v[j] = _mm512_unpacklo_epi64(t[j], t[j + 2]);
    v[j + 1] = _mm512_unpackhi_epi64(t[j], t[j + 2]);
    v[j + 2] = _mm512_unpacklo_epi64(t[j + 1], t[j + 3]);
    v[j + 3] = _mm512_unpackhi_epi64(t[j + 1], t[j + 3]);
  }
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m) {  // the four row quartets' lane L side by side
    t[m] = _mm512_shuffle_i32x4(v[m], v[4 + m], 0x88);        // lanes 0, 2 of each
    t[4 + m] = _mm512_shuffle_i32x4(v[m], v[4 + m], 0xdd);    // lanes 1, 3
    t[8 + m] = _mm512_shuffle_i32x4(v[8 + m], v[12 + m], 0x88);
    t[12 + m] = _mm512_shuffle_i32x4(v[8 + m], v[12 + m], 0xdd);
  }
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m) {
    v[m] = _mm512_shuffle_i32x4(t[m], t[8 + m], 0x88);            // word m
    v[8 + m] = _mm512_shuffle_i32x4(t[m], t[8 + m], 0xdd);        // word 8 + m
    v[4 + m] = _mm512_shuffle_i32x4(t[4 + m], t[12 + m], 0x88);   // word 4 + m
    v[12 + m] = _mm512_shuffle_i32x4(t[4 + m], t[12 + m], 0xdd);  // word 12 + m
  }
}

__attribute__((always_inline)) inline __m512 step(__m512 total, __m512i weights, std::uint32_t token_pair) {
  return _mm512_dpbf16_ps(total, reinterpret_cast<__m512bh>(weights),
                          reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(token_pair))));
}

// One tile (kTileValues values) of 16 rows into their lanes of `total`: the
// first `pairs` pairs (all 16 where valid is all ones).
template <typename Row, bool Whole>
__attribute__((always_inline)) inline __m512 tile_step(__m512 total, const std::uint16_t* const* row, int tile,
                                                       const std::uint32_t* pair, __mmask32 valid, int pairs) {
  __m512i v[kLanes];
#pragma GCC unroll 16
  for (int i = 0; i < kLanes; ++i) {
    v[i] = Whole ? Row::pairs(row[i] + tile * kTileValues) : Row::pairs(row[i] + tile * kTileValues, valid);
  }
  transpose(v);
#pragma GCC unroll 16
  for (int k = 0; k < kTilePairs; ++k) {
    if (k < pairs) total = step(total, v[k], pair[k]);
  }
  return total;
}

template <typename Row, int G>
void row_groups(const std::uint8_t* rows, std::size_t row_bytes, int row_count, int cols, const Bf16Tokens& x,
                float* out) {
  constexpr int kRows = G * kLanes;
  // Rows past row_count repeat the last one: their lanes are computed and not stored.
  const std::uint16_t* row[kRows];
  for (int i = 0; i < kRows; ++i) {
    row[i] = reinterpret_cast<const std::uint16_t*>(rows + static_cast<std::size_t>(std::min(i, row_count - 1)) * row_bytes);
  }
  const int full_tiles = cols / kTileValues;
  const int tiles = (cols + kTileValues - 1) / kTileValues;
  const std::uint8_t* next = rows + kRows * row_bytes;
  auto prefetch = [&](int tile) __attribute__((always_inline)) {
    const int ahead = tile + kAheadTiles;
    const std::uint8_t* at = ahead < tiles ? rows + 2 * kTileValues * ahead : next + 2 * kTileValues * (ahead - tiles);
#pragma GCC unroll 32
    for (int i = 0; i < kRows; ++i) _mm_prefetch(reinterpret_cast<const char*>(at + i * row_bytes), _MM_HINT_T0);
  };
  __m512 total[G];
  for (auto& t : total) t = _mm512_setzero_ps();
  for (int tile = 0; tile < full_tiles; ++tile) {
    prefetch(tile);
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g) total[g] = tile_step<Row, true>(total[g], row + g * kLanes, tile, x.pairs + tile * kTilePairs, 0, kTilePairs);
  }
  if (full_tiles < tiles) {
    const int rest = cols - full_tiles * kTileValues;
    const auto valid = static_cast<__mmask32>((1u << rest) - 1u);
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g) {
      total[g] = tile_step<Row, false>(total[g], row + g * kLanes, full_tiles, x.pairs + full_tiles * kTilePairs, valid, (rest + 1) / 2);
    }
  }
  for (int g = 0; g < G; ++g) {
    const int valid_rows = std::min(kLanes, row_count - g * kLanes);
    _mm512_mask_storeu_ps(out + g * kLanes, static_cast<__mmask16>((1u << valid_rows) - 1u), total[g]);
  }
}

template <typename Row>
void stored_rows(const std::uint8_t* rows, std::size_t row_bytes, int row_count, int cols, const Bf16Tokens& x,
                 float* out) {
  if (row_count > kLanes) return row_groups<Row, 2>(rows, row_bytes, row_count, cols, x, out);
  row_groups<Row, 1>(rows, row_bytes, row_count, cols, x, out);
}

}  // namespace

Bf16StoredRowProducts avx512bf16_stored_row_products(GgmlType type) {
  switch (type) {
    case GgmlType::F16: return stored_rows<F16>;
    case GgmlType::BF16: return stored_rows<BF16>;
    default: return nullptr;
  }
}

}  // namespace snapkv

#else

namespace snapkv {
Bf16StoredRowProducts avx512bf16_stored_row_products(GgmlType) { return nullptr; }
}  // namespace snapkv

#endif
