#include "cpu/quant_prep.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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
      float largest = 0;
      for (int j = 0; j < 32; ++j) largest = std::max(largest, std::abs(x[32 * b + j]));
      const float scale = largest / 127.0f;
      const float inverse = largest > 0 ? 127.0f / largest : 0.0f;
      int sums[2] = {0, 0};
      for (int j = 0; j < 32; ++j) {
        const int value = static_cast<int>(std::nearbyint(x[32 * b + j] * inverse));
        q[32 * b + j] = static_cast<std::int8_t>(std::clamp(value, -127, 127));
        sums[j / 16] += q[32 * b + j];
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

void PackedPanel::pack(const WeightMatrix& w, const WeightUnpacker& unpacker, const QuantKernels& kernels, int first) {
  const int rows = kernels.panel_rows;
  const int size = unpacker.group_size;
  groups_ = w.cols / size;
  group_size_ = size;
  quants_.assign(static_cast<std::size_t>(groups_) * size * rows, 0);
  scales_.assign(static_cast<std::size_t>(groups_) * rows, 0.0f);
  offsets_.assign(static_cast<std::size_t>(groups_) * rows, 0.0f);
  row_quants_.resize(static_cast<std::size_t>(w.cols));
  row_scales_.resize(static_cast<std::size_t>(groups_));
  row_offsets_.resize(static_cast<std::size_t>(groups_));
  const std::uint8_t bias = kernels.signed_weights && unpacker.max_quant > 127 ? 128 : 0;
  for (int r = 0; r < rows && first + r < w.rows; ++r) {
    unpacker.unpack(w.row(first + r), w.cols / unpacker.block_values, row_quants_.data(), row_scales_.data(),
                    row_offsets_.data());
    for (int g = 0; g < groups_; ++g) {
      std::uint8_t* group = quants_.data() + static_cast<std::size_t>(g) * size * rows;
      const std::uint8_t* source = row_quants_.data() + static_cast<std::size_t>(g) * size;
      for (int run = 0; run < size / 4; ++run) {
        std::uint8_t* dest = group + (run * rows + r) * 4;
        for (int k = 0; k < 4; ++k) dest[k] = static_cast<std::uint8_t>(source[4 * run + k] - bias);
      }
      // The bias moves into the offset: s * u + o = s * (u - bias) + (o + bias * s).
      scales_[static_cast<std::size_t>(g) * rows + r] = row_scales_[g];
      offsets_[static_cast<std::size_t>(g) * rows + r] = row_offsets_[g] + static_cast<float>(bias) * row_scales_[g];
    }
  }
}

QuantPanel PackedPanel::view() const { return {quants_.data(), scales_.data(), offsets_.data(), groups_, group_size_}; }

}  // namespace snapkv
