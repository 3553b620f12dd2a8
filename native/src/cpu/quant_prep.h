#pragma once
// The portable preparation of the fast matmul path's operands (the layouts
// cpu/quant_kernels.h describes): tokens quantized per block of 32, and
// weight rows unpacked and interleaved into panels.
#include <cstdint>
#include <vector>

#include "cpu/quant_kernels.h"
#include "cpu/weight_unpack.h"
#include "model/model_weights.h"

namespace snapkv {

// Tokens quantized to int8 per block of 32 values: scale = max |x| / 127,
// q = x / scale rounded to nearest. cols is a multiple of 32.
class QuantizedTokens {
 public:
  // Quantizes rows [first, last) of `in` (tokens x cols, row-major); group_size
  // (16 or 32) is the weight type's, for the per-group sums.
  void resize(int tokens, int cols, int group_size);
  void quantize(const float* in, int first, int last);
  QuantTokens view(int first_token) const;

  const std::int8_t* quants(int token) const { return quants_.data() + static_cast<std::size_t>(token) * cols_; }
  const float* block_scales(int token) const { return block_scales_.data() + static_cast<std::size_t>(token) * (cols_ / 32); }

 private:
  int cols_ = 0;
  int group_size_ = 32;
  std::vector<std::int8_t> quants_;
  std::vector<float> block_scales_;  // cols / 32 per token
  std::vector<float> group_scales_;  // cols / group_size per token
  std::vector<float> group_sums_;
};

// A panel of `kernels.panel_rows` weight rows in the kernels' layout, owning its memory.
class PackedPanel {
 public:
  // Packs rows [first, first + panel_rows) of w (rows past the end are zeros).
  void pack(const WeightMatrix& w, const WeightUnpacker& unpacker, const QuantKernels& kernels, int first);
  QuantPanel view() const;

 private:
  int groups_ = 0;
  int group_size_ = 0;
  std::vector<std::uint32_t> quants_;      // four quants a word, word-major (cpu/quant_kernels.h)
  std::vector<float> scales_;
  std::vector<float> offsets_;
  std::vector<std::uint32_t> row_words_;  // the panel's rows unpacked, row-major, before the transposition
  std::vector<float> row_scales_, row_offsets_;  // one row's
};

// f32 tokens as bf16 pairs (rounded to nearest even; an odd last column
// pairs with zero), for the bf16 products of F16 and BF16 weights.
class Bf16TokenPairs {
 public:
  void convert(const float* in, int tokens, int cols);
  Bf16Tokens view(int first_token) const;

 private:
  int pairs_per_token_ = 0;
  std::vector<std::uint32_t> pairs_;
};

// A panel of F16 or BF16 weight rows as bf16 pairs in the kernels' layout.
class PackedBf16Panel {
 public:
  void pack(const WeightMatrix& w, int panel_rows, int first);
  Bf16Panel view() const { return {pairs_.data(), pair_count_}; }

 private:
  int pair_count_ = 0;
  std::vector<std::uint32_t> pairs_;
  std::vector<float> row_;
};

}  // namespace snapkv
