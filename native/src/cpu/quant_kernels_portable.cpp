// The fast path's kernels in plain C++: correct on any CPU, and the yardstick
// the vector kernels are read against. Compiled for a baseline target.
#include "cpu/quant_kernels.h"

namespace snapkv {

namespace {

constexpr int kRows = 8;

void panel_product(const QuantPanel& p, const QuantTokens& x, int token_count, float* out, std::size_t out_stride,
                   int valid_rows) {
  const int size = p.group_size;
  for (int t = 0; t < token_count; ++t) {
    const std::int8_t* xq = x.quants + t * x.quant_stride;
    const float* xs = x.group_scales + t * x.group_stride;
    const float* xm = x.group_sums + t * x.group_stride;
    for (int r = 0; r < valid_rows; ++r) {
      float total = 0;
      for (int g = 0; g < p.groups; ++g) {
        const std::uint8_t* wq = p.quants + static_cast<std::size_t>(g) * size * kRows + 4 * r;
        int products = 0;
        for (int j = 0; j < size; ++j) products += wq[(j / 4) * kRows * 4 + j % 4] * xq[g * size + j];
        total += p.scales[g * kRows + r] * (xs[g] * static_cast<float>(products)) + p.offsets[g * kRows + r] * xm[g];
      }
      out[t * out_stride + r] = total;
    }
  }
}

void row_products(const std::uint8_t* quants, const float* scales, const float* offsets, int row_count, int groups,
                  int group_size, const QuantTokens& x, float* out) {
  for (int i = 0; i < row_count; ++i) {
    const std::uint8_t* row = quants + static_cast<std::size_t>(i) * groups * group_size;
    const float* s = scales + static_cast<std::size_t>(i) * groups;
    const float* o = offsets + static_cast<std::size_t>(i) * groups;
    float total = 0;
    for (int g = 0; g < groups; ++g) {
      const std::uint8_t* wq = row + static_cast<std::size_t>(g) * group_size;
      const std::int8_t* xq = x.quants + static_cast<std::size_t>(g) * group_size;
      int products = 0;
      for (int j = 0; j < group_size; ++j) products += wq[j] * xq[j];
      total += s[g] * (x.group_scales[g] * static_cast<float>(products)) + o[g] * x.group_sums[g];
    }
    out[i] = total;
  }
}

const QuantKernels kPortable{"portable", kRows, false, panel_product, row_products, nullptr, nullptr, nullptr};

}  // namespace

const QuantKernels* portable_quant_kernels() { return &kPortable; }

}  // namespace snapkv
