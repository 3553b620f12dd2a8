#pragma once
// What the x86 stored-row files (stored_rows_avx2.cpp, compiled twice, and
// stored_rows_avx512vnni.cpp) share: reading a block's bytes and f16 fields
// in eight rows, the 32-value types' scales and offsets, panel_product's f32
// steps on eight rows, the prefetch of the next rows, and the loop over the
// blocks of the 32-value types.
//
// Include only from a file compiled for AVX2, FMA and F16C or above.
// Everything here has internal linkage, as in cpu/quant_kernels_x86.h: each
// including file is compiled for its own instruction set, and a copy shared at
// link time could run one set's instructions on a CPU that has only the other's.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cpu/quant_kernels.h"

namespace snapkv {
namespace {

constexpr int kRows = 8;  // one row per lane of a 256-bit register

inline std::uint16_t u16_at(const std::uint8_t* p) {
  std::uint16_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

inline std::uint32_t u32_at(const std::uint8_t* p) {
  std::uint32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The f16 at byte `offset` of each row's block, as eight f32 lanes (exact).
inline __m256 halves(const std::uint8_t* const* blocks, int offset) {
  const __m128i bits = _mm_setr_epi16(
      static_cast<short>(u16_at(blocks[0] + offset)), static_cast<short>(u16_at(blocks[1] + offset)),
      static_cast<short>(u16_at(blocks[2] + offset)), static_cast<short>(u16_at(blocks[3] + offset)),
      static_cast<short>(u16_at(blocks[4] + offset)), static_cast<short>(u16_at(blocks[5] + offset)),
      static_cast<short>(u16_at(blocks[6] + offset)), static_cast<short>(u16_at(blocks[7] + offset)));
  return _mm256_cvtph_ps(bits);
}

// The unpacker's scale and offset of a 32-value block in eight rows (lane i
// row i): the symmetric types (Q4_0, Q5_0, Q8_0) store d and subtract `zero`
// from u, so o = -zero * d; the affine ones (Q4_1, Q5_1) store d and the minimum.
inline void symmetric_params(const std::uint8_t* const* blocks, float zero, __m256& s, __m256& o) {
  s = halves(blocks, 0);
  o = _mm256_mul_ps(_mm256_set1_ps(-zero), s);
}
inline void affine_params(const std::uint8_t* const* blocks, __m256& s, __m256& o) {
  s = halves(blocks, 0);
  o = halves(blocks, 2);
}

// panel_product's steps for group g of eight rows (lane i row i).
[[gnu::always_inline]] inline __m256 step(__m256 total, __m256i sums, __m256 s, __m256 o, const QuantTokens& x,
                                          std::size_t g) {
  total = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(s, _mm256_set1_ps(x.group_scales[g])), total);
  return _mm256_fmadd_ps(o, _mm256_set1_ps(x.group_sums[g]), total);
}

// Rows read side by side are short streams, too short for the hardware
// prefetcher to follow (a 896-value Q8_0 row is 15 cache lines): the next
// `count` rows' bytes are fetched while these are computed, a share per
// block. Past the matrix's end a prefetch is harmless (it never faults).
class NextRows {
 public:
  NextRows(const std::uint8_t* rows, std::size_t row_bytes, int blocks, int count = kRows)
      : next_(rows + count * row_bytes), share_((count * row_bytes + blocks - 1) / blocks) {}
  void fetch_share() {
    for (until_ += share_; fetched_ < until_; fetched_ += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(next_ + fetched_), _MM_HINT_T0);
    }
  }

 private:
  const std::uint8_t* next_;
  std::size_t share_, fetched_ = 0, until_ = 0;
};

// Eight rows of a 32-value block type (one group a block), read straight from
// the stored blocks: T::kBytes, T::params(blocks, s, o); Rows::sums<T>(blocks,
// xv) lane i the integer sum of row i's block against the token's 32 values
// (each set multiplies and reduces its own way).
template <typename T, typename Rows>
void stored_block_rows(const std::uint8_t* rows, std::size_t row_bytes, int blocks, const QuantTokens& x, float* out) {
  __m256 total = _mm256_setzero_ps();
  const std::uint8_t* block[kRows];
  for (int i = 0; i < kRows; ++i) block[i] = rows + i * row_bytes;
  NextRows next(rows, row_bytes, blocks);
  for (int b = 0; b < blocks; ++b) {
    next.fetch_share();
    __m256 s, o;
    T::params(block, s, o);
    const __m256i xv = load32(x.quants + 32 * static_cast<std::size_t>(b));
    total = step(total, Rows::template sums<T>(block, xv), s, o, x, static_cast<std::size_t>(b));
    for (int i = 0; i < kRows; ++i) block[i] += T::kBytes;
  }
  _mm256_storeu_ps(out, total);
}

}  // namespace
}  // namespace snapkv
