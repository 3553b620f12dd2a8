#include "cpu/quant_prep.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/number_formats.h"

namespace snapkv {

void QuantizedTokens::resize(int tokens, int cols, int group_size) {
  cols_ = cols;
  group_size_ = group_size;
  const auto values = static_cast<std::size_t>(tokens) * cols;
  quants_.resize(values);
  block_scales_.resize(values / 32);
  group_scales_.resize(values / group_size);
  group_sums_.resize(values / group_size);
}

void QuantizedTokens::quantize(const float* in, int first, int last) {
  const int blocks = cols_ / 32;
  const int groups_per_block = 32 / group_size_;
  for (int t = first; t < last; ++t) {
    const float* x = in + static_cast<std::size_t>(t) * cols_;
    std::int8_t* q = quants_.data() + static_cast<std::size_t>(t) * cols_;
    float* scales = block_scales_.data() + static_cast<std::size_t>(t) * blocks;
    float* group_scales = group_scales_.data() + static_cast<std::size_t>(t) * blocks * groups_per_block;
    float* group_sums = group_sums_.data() + static_cast<std::size_t>(t) * blocks * groups_per_block;
    for (int b = 0; b < blocks; ++b) {
      const float* xb = x + 32 * b;
      // The largest |x| compared as bit patterns (monotone for non-NaN
      // floats): an integer max the compiler vectorizes.
      std::uint32_t largest_bits = 0;
      for (int j = 0; j < 32; ++j) {
        std::uint32_t bits;
        std::memcpy(&bits, xb + j, sizeof bits);
        largest_bits = std::max(largest_bits, bits & 0x7fffffffu);
      }
      std::int8_t* qb = q + 32 * b;
      if (largest_bits >= 0x7f800000u) {
        // An infinity or NaN in the block (a broken model's weights): the
        // exact product is not finite either, so the block's scale is NaN,
        // which every product through it carries; rounding it to int8 would
        // be undefined.
        std::fill(qb, qb + 32, std::int8_t{0});
        scales[b] = std::nanf("");
        for (int g = 0; g < groups_per_block; ++g) {
          group_scales[b * groups_per_block + g] = scales[b];
          group_sums[b * groups_per_block + g] = scales[b];
        }
        continue;
      }
      float largest;
      std::memcpy(&largest, &largest_bits, sizeof largest);
      const float scale = largest / 127.0f;
      const float inverse = largest > 0 ? 127.0f / largest : 0.0f;
      // Round to nearest (even) by the 1.5 * 2^23 trick: |x * inverse| <= 127,
      // and the loop vectorizes where a call to nearbyint would not.
      constexpr float kRound = 12582912.0f;
      // Each half summed as it is rounded, in registers: reading the stored bytes back waited on the stores.
      int sums[2] = {0, 0};
      for (int half = 0; half < 2; ++half) {
        int sum = 0;
        for (int j = 16 * half; j < 16 * half + 16; ++j) {
          const int q = static_cast<int>((xb[j] * inverse + kRound) - kRound);
          qb[j] = static_cast<std::int8_t>(q);
          sum += q;
        }
        sums[half] = sum;
      }
      scales[b] = scale;
      for (int g = 0; g < groups_per_block; ++g) {
        const int sum = groups_per_block == 1 ? sums[0] + sums[1] : sums[g];
        group_scales[b * groups_per_block + g] = scale;
        group_sums[b * groups_per_block + g] = scale * static_cast<float>(sum);
      }
    }
  }
}

QuantTokens QuantizedTokens::view(int first_token) const {
  const int groups = cols_ / group_size_;
  const auto g0 = static_cast<std::size_t>(first_token) * groups;
  return {quants_.data() + static_cast<std::size_t>(first_token) * cols_, group_scales_.data() + g0,
          group_sums_.data() + g0, static_cast<std::size_t>(cols_), static_cast<std::size_t>(groups)};
}

namespace {

#if defined(__AVX512F__)
// Sixteen rows of sixteen 32-bit words (src, src_words apart) to sixteen words
// of sixteen rows (dst, dst_words apart): pairs of words, then pairs of pairs
// within each 128-bit lane, then the lanes.
void transpose_16x16(const std::uint32_t* src, std::size_t src_words, std::uint32_t* dst, std::size_t dst_words) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(src + i * src_words);
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // r[4i + j]: rows 4i..4i+3 at word 4 * lane + j
    r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512i low_lanes_a = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x44);
    const __m512i high_lanes_a = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xEE);
    const __m512i low_lanes_b = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x44);
    const __m512i high_lanes_b = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xEE);
    const __m512i words[4] = {_mm512_shuffle_i32x4(low_lanes_a, low_lanes_b, 0x88), _mm512_shuffle_i32x4(low_lanes_a, low_lanes_b, 0xDD),
                              _mm512_shuffle_i32x4(high_lanes_a, high_lanes_b, 0x88), _mm512_shuffle_i32x4(high_lanes_a, high_lanes_b, 0xDD)};
    for (int lane = 0; lane < 4; ++lane) _mm512_storeu_si512(dst + (4 * lane + j) * dst_words, words[lane]);
  }
}
#endif

// dst[k * rows + r] = src[r * words + k]: rows of words to the panels'
// word-major order (cpu/quant_kernels.h), sixteen by sixteen where the CPU can.
void transpose_words(const std::uint32_t* src, std::size_t words, int rows, std::uint32_t* dst) {
  std::size_t k = 0;
#if defined(__AVX512F__)
  if (rows % 16 == 0) {
    for (; k + 16 <= words; k += 16) {
      for (int r = 0; r < rows; r += 16) transpose_16x16(src + r * words + k, words, dst + k * rows + r, rows);
    }
  }
#endif
  for (; k < words; ++k) {
    for (int r = 0; r < rows; ++r) dst[k * rows + r] = src[r * words + k];
  }
}

}  // namespace

void PackedPanel::pack(const WeightMatrix& w, const WeightUnpacker& unpacker, const QuantKernels& kernels, int first) {
  const int rows = kernels.panel_rows;
  const int size = unpacker.group_size;
  const int valid = std::min(rows, w.rows - first);
  groups_ = w.cols / size;
  group_size_ = size;
  const std::size_t words = static_cast<std::size_t>(w.cols) / 4;
  quants_.resize(words * rows);
  scales_.resize(static_cast<std::size_t>(groups_) * rows);
  offsets_.resize(static_cast<std::size_t>(groups_) * rows);
  row_words_.resize(words * rows);
  row_scales_.resize(static_cast<std::size_t>(groups_));
  row_offsets_.resize(static_cast<std::size_t>(groups_));
  if (valid < rows) {  // the last panel: rows past the matrix are zeros
    std::fill(row_words_.begin() + static_cast<std::ptrdiff_t>(words * valid), row_words_.end(), 0u);
    std::fill(scales_.begin(), scales_.end(), 0.0f);
    std::fill(offsets_.begin(), offsets_.end(), 0.0f);
  }
  const int groups = groups_;
  // Plain pointers: through the members, every store may alias them, which keeps the loops scalar.
  float* const scales = scales_.data();
  float* const offsets = offsets_.data();
  float* const row_scales = row_scales_.data();
  float* const row_offsets = row_offsets_.data();
  for (int r = 0; r < valid; ++r) {
    auto* row = reinterpret_cast<std::uint8_t*>(row_words_.data() + words * r);
    unpack_row_for_kernels(w.type, kernels.signed_weights, w.row(first + r), w.cols, row, row_scales, row_offsets);
    for (int g = 0; g < groups; ++g) {
      scales[static_cast<std::size_t>(g) * rows + r] = row_scales[g];
      offsets[static_cast<std::size_t>(g) * rows + r] = row_offsets[g];
    }
  }
  transpose_words(row_words_.data(), words, rows, quants_.data());
}

QuantPanel PackedPanel::view() const {
  return {reinterpret_cast<const std::uint8_t*>(quants_.data()), scales_.data(), offsets_.data(), groups_, group_size_};
}

namespace {

// Nearest, ties to even, as _mm512_cvtne2ps_pbh rounds (the decode kernels
// convert F16 weights with it); a NaN stays a NaN, quieted as it quiets them,
// where the rounding would carry it into an infinity or past the sign bit.
std::uint32_t bf16_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (bits >> 16) | 0x40u;
  return (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
}

std::uint32_t bf16_pair(const float* values, int k, int cols) {
  const std::uint32_t low = bf16_bits(values[k]);
  const std::uint32_t high = k + 1 < cols ? bf16_bits(values[k + 1]) : 0u;
  return low | (high << 16);
}

}  // namespace

void Bf16TokenPairs::convert(const float* in, int tokens, int cols) {
  pairs_per_token_ = (cols + 1) / 2;
  pairs_.resize(static_cast<std::size_t>(tokens) * pairs_per_token_);
  for (int t = 0; t < tokens; ++t) {
    const float* x = in + static_cast<std::size_t>(t) * cols;
    std::uint32_t* out = pairs_.data() + static_cast<std::size_t>(t) * pairs_per_token_;
    for (int k = 0; k < pairs_per_token_; ++k) out[k] = bf16_pair(x, 2 * k, cols);
  }
}

Bf16Tokens Bf16TokenPairs::view(int first_token) const {
  return {pairs_.data() + static_cast<std::size_t>(first_token) * pairs_per_token_,
          static_cast<std::size_t>(pairs_per_token_)};
}

void PackedBf16Panel::pack(const WeightMatrix& w, int panel_rows, int first) {
  pair_count_ = (w.cols + 1) / 2;
  pairs_.resize(static_cast<std::size_t>(pair_count_) * panel_rows);
  if (first + panel_rows > w.rows) std::fill(pairs_.begin(), pairs_.end(), 0u);
  row_.resize(static_cast<std::size_t>(w.cols));
  for (int r = 0; r < panel_rows && first + r < w.rows; ++r) {
    // F16 widens to f32 exactly; BF16 widens and rounds back to itself.
    convert_row_to_f32(w.type, w.row(first + r), row_.data(), w.cols);
    for (int k = 0; k < pair_count_; ++k) {
      pairs_[static_cast<std::size_t>(k) * panel_rows + r] = bf16_pair(row_.data(), 2 * k, w.cols);
    }
  }
}

}  // namespace snapkv
