// The fast path's kernels in plain C++: correct on any CPU, and the yardstick
// the vector kernels are read against. Compiled for a baseline target.
#include <cstring>

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

float half_to_float(const std::uint8_t* p) {
  std::uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  float magnitude;
  if (exponent == 0) {
    magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
  } else {
    std::uint32_t wide = (static_cast<std::uint32_t>(exponent == 31 ? 255 : exponent + 112) << 23) |
                         (static_cast<std::uint32_t>(mantissa) << 13);
    std::memcpy(&magnitude, &wide, sizeof magnitude);
  }
  return (bits & 0x8000u) ? -magnitude : magnitude;
}

void q8_0_rows(const std::uint8_t* const* rows, int row_count, int blocks, const std::int8_t* x_quants,
               const float* x_scales, float* out) {
  for (int i = 0; i < row_count; ++i) {
    float total = 0;
    for (int b = 0; b < blocks; ++b) {
      const std::uint8_t* block = rows[i] + 34 * b;
      int products = 0;
      for (int j = 0; j < 32; ++j) products += static_cast<std::int8_t>(block[2 + j]) * x_quants[32 * b + j];
      total += (half_to_float(block) * x_scales[b]) * static_cast<float>(products);
    }
    out[i] = total;
  }
}

const QuantKernels kPortable{"portable", kRows, false, panel_product, q8_0_rows, nullptr};

}  // namespace

const QuantKernels* portable_quant_kernels() { return &kPortable; }

}  // namespace snapkv
