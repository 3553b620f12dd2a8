#include "unit_test_bf16_rows.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "cpu/kernel_choice.h"
#include "cpu/matmul_quantized.h"
#include "cpu/quant_prep.h"
#include "cpu/thread_pool.h"

namespace snapkv_unit {

namespace {

using namespace snapkv;

// Rows of `cols` values drawn as bit patterns, never zero: a random sign and mantissa, exponents over about 2^-10
// .. 2^5, and every 37th value subnormal in its own format (an F16 subnormal
// is normal in f32 and bf16; a BF16 one meets the dot-product unit as is).
struct Matrix {
  std::vector<std::uint8_t> bytes;
  WeightMatrix w;
};

Matrix random_matrix(GgmlType type, int rows, int cols, std::mt19937& random) {
  Matrix m;
  m.w.type = type;
  m.w.rows = rows;
  m.w.cols = cols;
  m.w.row_bytes = 2u * cols;
  m.bytes.resize(m.w.row_bytes * rows);
  const bool f16 = type == GgmlType::F16;
  const int mantissa_bits = f16 ? 10 : 7, bias = f16 ? 15 : 127;
  for (int i = 0; i < rows * cols; ++i) {
    const std::uint32_t sign = random() & 1u;
    std::uint32_t mantissa = random() & ((1u << mantissa_bits) - 1u);
    std::uint32_t exponent = static_cast<std::uint32_t>(bias - 10 + static_cast<int>(random() % 16));
    if (i % 37 == 0) {
      exponent = 0;
      mantissa |= 1u;
    }
    const auto bits = static_cast<std::uint16_t>((sign << 15) | (exponent << mantissa_bits) | mantissa);
    std::memcpy(m.bytes.data() + 2 * i, &bits, sizeof bits);
  }
  m.w.data = m.bytes.data();
  return m;
}

std::vector<float> random_tokens(int tokens, int cols, std::mt19937& random) {
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<std::size_t>(tokens) * cols);
  for (auto& v : x) {
    v = normal(random) * (random() % 17 == 0 ? 8.0f : 1.0f);
    if (v == 0.0f) v = 1.0f;
  }
  return x;
}

std::string bits_differ(const std::string& what, int token, int row, float got, float expected) {
  return what + ": token " + std::to_string(token) + " row " + std::to_string(row) + " gives " + std::to_string(got) +
         ", the panel " + std::to_string(expected);
}

// The kernel itself, up to kBf16StoredRows rows a call (a whole call and one
// that ends inside a group of 16), against bf16_panel_product on the same rows
// packed into panels, with each token of a 9-token batch: the same bits; the
// outputs past row_count are not written.
void check_kernel(const QuantKernels& kernels, GgmlType type, int cols) {
  const Bf16StoredRowProducts stored = kernels.bf16_stored_row_products(type);
  std::mt19937 random(static_cast<unsigned>(type) * 1009u + cols);
  const int rows = kBf16StoredRows + 37, tokens = 9, panel_rows = kernels.panel_rows;
  const Matrix m = random_matrix(type, rows, cols, random);
  const std::vector<float> x = random_tokens(tokens, cols, random);
  Bf16TokenPairs pairs;
  pairs.convert(x.data(), tokens, cols);
  PackedBf16Panel panel;
  std::vector<float> batch(static_cast<std::size_t>(tokens) * rows);
  for (int first = 0; first < rows; first += panel_rows) {
    panel.pack(m.w, panel_rows, first);
    kernels.bf16_panel_product(panel.view(), pairs.view(0), tokens, batch.data() + first, rows,
                               std::min(panel_rows, rows - first));
  }
  const std::string what = std::string(kernels.name) + " " + ggml_type_name(type) + " " + std::to_string(cols) + " cols";
  for (int first = 0; first < rows; first += kBf16StoredRows) {
    const int count = std::min(kBf16StoredRows, rows - first);
    for (int t = 0; t < tokens; ++t) {
      float alone[kBf16StoredRows];
      std::fill(alone, alone + kBf16StoredRows, -7.0f);
      stored(m.w.row(first), m.w.row_bytes, count, cols, pairs.view(t), alone);
      for (int i = 0; i < kBf16StoredRows; ++i) {
        const float expected = i < count ? batch[static_cast<std::size_t>(t) * rows + first + i] : -7.0f;
        if (std::memcmp(&alone[i], &expected, sizeof expected) != 0) {
          throw std::runtime_error(bits_differ(what, t, first + i, alone[i], expected));
        }
      }
    }
  }
}

// Through matmul_quantized, as the engine calls it: each token decoded alone
// (one-token products, two threads) has the bits it gets in a prefill batch.
void check_decode(const QuantKernels& kernels, GgmlType type, int cols) {
  std::mt19937 random(static_cast<unsigned>(type) * 2003u + cols);
  const int rows = kBf16StoredRows + 37, tokens = 7;  // two tasks of two threads
  const Matrix m = random_matrix(type, rows, cols, random);
  const std::vector<float> x = random_tokens(tokens, cols, random);
  ThreadPool pool(2);
  std::vector<float> batch(static_cast<std::size_t>(tokens) * rows), alone(rows);
  matmul_quantized(m.w, x.data(), batch.data(), tokens, pool, kernels);
  const std::string what = std::string(kernels.name) + " " + ggml_type_name(type) + " " + std::to_string(cols) + " cols, decode";
  for (int t = 0; t < tokens; ++t) {
    matmul_quantized(m.w, x.data() + static_cast<std::size_t>(t) * cols, alone.data(), 1, pool, kernels);
    for (int r = 0; r < rows; ++r) {
      const float expected = batch[static_cast<std::size_t>(t) * rows + r];
      if (std::memcmp(&alone[r], &expected, sizeof expected) != 0) throw std::runtime_error(bits_differ(what, t, r, alone[r], expected));
    }
  }
}

// A NaN weight (a broken file) makes its row's product NaN, decoded or
// prefilled, and leaves the other rows finite: rounding it to bf16 must not
// carry it into an infinity or a zero.
void check_nan_weight(const QuantKernels& kernels, GgmlType type) {
  std::mt19937 random(static_cast<unsigned>(type) * 3001u);
  const int rows = 20, cols = 45;
  Matrix m = random_matrix(type, rows, cols, random);
  const std::uint16_t nan_bits = 0x7fff;  // a NaN in both formats, the largest payload (F16's rounded up once overflowed to -0)
  std::memcpy(m.bytes.data() + m.w.row_bytes * 3 + 2 * 17, &nan_bits, sizeof nan_bits);
  const std::vector<float> x = random_tokens(2, cols, random);
  ThreadPool pool(1);
  for (int tokens : {1, 2}) {
    std::vector<float> out(static_cast<std::size_t>(tokens) * rows);
    matmul_quantized(m.w, x.data(), out.data(), tokens, pool, kernels);
    for (int t = 0; t < tokens; ++t) {
      for (int r = 0; r < rows; ++r) {
        const float value = out[static_cast<std::size_t>(t) * rows + r];
        if (std::isnan(value) != (r == 3)) {
          throw std::runtime_error(std::string(ggml_type_name(type)) + " x " + std::to_string(tokens) + " tokens: row " +
                                   std::to_string(r) + " gives " + std::to_string(value));
        }
      }
    }
  }
}

}  // namespace

std::vector<Check> bf16_row_checks() {
  std::vector<Check> checks;
  for (const std::string& name : quant_kernel_names()) {
    const QuantKernels* kernels = quant_kernels_named(name);
    if (kernels == nullptr || kernels->bf16_stored_row_products == nullptr) continue;
    for (GgmlType type : {GgmlType::F16, GgmlType::BF16}) {
      if (kernels->bf16_stored_row_products(type) == nullptr) continue;
      const std::string prefix = name + " kernels, " + ggml_type_name(type);
      checks.emplace_back(prefix + ": rows read from the stored rows give the bf16 panels' bits, token by token", [kernels, type] {
        for (int cols : {5, 32, 77, 203}) check_kernel(*kernels, type, cols);
      });
      checks.emplace_back(prefix + ": a token decoded alone gets its bits in a prefill batch", [kernels, type] {
        for (int cols : {77, 896}) check_decode(*kernels, type, cols);
      });
      checks.emplace_back(prefix + ": a NaN weight gives a NaN row, decoded and prefilled",
                          [kernels, type] { check_nan_weight(*kernels, type); });
    }
  }
  return checks;
}

}  // namespace snapkv_unit
