#include "unit_test_fast_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "common/engine_error.h"
#include "cpu/block_decoders.h"
#include "cpu/kernel_choice.h"
#include "cpu/matmul.h"
#include "cpu/matmul_quantized.h"
#include "cpu/number_formats.h"
#include "cpu/quant_prep.h"
#include "cpu/thread_pool.h"
#include "cpu/weight_unpack.h"

namespace snapkv_unit {

namespace {

using namespace snapkv;

const GgmlType kBlockTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                                GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

struct Case {
  std::vector<std::uint8_t> bytes;
  WeightMatrix w;
  std::vector<float> x;
  int tokens;
};

// Rows that fill no panel evenly (8, 16 and 32 rows: for 32, a whole panel and
// one whose second register is partly rows), an odd number of blocks, and
// activations drawn from a normal distribution (never zero), with a few large
// values so that blocks have different scales.
Case make_case(GgmlType type, int tokens, unsigned seed) {
  std::mt19937 random(seed);
  const BlockFormat& format = *block_format(type);
  const int blocks = format.values == 32 ? 7 : 3;
  Case c;
  c.tokens = tokens;
  c.w.type = type;
  c.w.rows = 53;
  c.w.cols = blocks * format.values;
  c.w.row_bytes = static_cast<std::size_t>(blocks) * format.bytes;
  c.bytes = random_blocks(type, c.w.rows * blocks, random);
  c.w.data = c.bytes.data();
  std::normal_distribution<float> normal;
  c.x.resize(static_cast<std::size_t>(tokens) * c.w.cols);
  for (auto& v : c.x) v = normal(random) * (random() % 17 == 0 ? 8.0f : 1.0f);
  return c;
}

// |fast - exact| <= sum_c |w_c| * |x_c - round(x_c)|, each activation rounded
// by at most half its block's step (max |x| / 127 / 2), plus f32 rounding.
void check_against_exact(const Case& c, const std::vector<float>& fast, const std::string& what) {
  ThreadPool pool(1);
  WeightMatrix exact = c.w;
  exact.exact = true;
  std::vector<float> expected(static_cast<std::size_t>(c.tokens) * c.w.rows);
  matmul(exact, c.x.data(), expected.data(), c.tokens, pool);
  std::vector<float> decoded(c.w.cols);
  bool differs = false;
  for (int r = 0; r < c.w.rows; ++r) {
    convert_row_to_f32(c.w.type, c.w.row(r), decoded.data(), c.w.cols);
    for (int t = 0; t < c.tokens; ++t) {
      const float* x = c.x.data() + static_cast<std::size_t>(t) * c.w.cols;
      double bound = 0, magnitude = 0;
      for (int b = 0; b < c.w.cols / 32; ++b) {
        float largest = 0;
        for (int j = 0; j < 32; ++j) largest = std::max(largest, std::abs(x[32 * b + j]));
        for (int j = 0; j < 32; ++j) {
          bound += std::abs(decoded[32 * b + j]) * largest / 127.0 * 0.5;
          magnitude += std::abs(static_cast<double>(decoded[32 * b + j]) * x[32 * b + j]);
        }
      }
      const std::size_t at = static_cast<std::size_t>(t) * c.w.rows + r;
      const double error = std::abs(static_cast<double>(fast[at]) - expected[at]);
      if (!(error <= bound * 1.001 + 1e-5 * magnitude)) {
        throw std::runtime_error(what + ": token " + std::to_string(t) + " row " + std::to_string(r) + ": fast " +
                                 std::to_string(fast[at]) + ", exact " + std::to_string(expected[at]) + ", error " +
                                 std::to_string(error) + " above the bound " + std::to_string(bound));
      }
      if (error > 0) differs = true;
    }
  }
  // The fast path ran, not the exact one: the activations' rounding shows.
  if (!differs) throw std::runtime_error(what + ": every output equals the exact path's");
}

// Per output, the sum of |scale * u * x| + |offset * x| over the row: the size
// of the terms that f32 rounding acts on in any kernel's order.
std::vector<double> term_magnitudes(const Case& c) {
  const WeightUnpacker& unpacker = *weight_unpacker(c.w.type);
  std::vector<std::uint8_t> u(c.w.cols);
  std::vector<float> scales(c.w.cols / unpacker.group_size), offsets(scales.size());
  std::vector<double> magnitudes(static_cast<std::size_t>(c.tokens) * c.w.rows);
  for (int r = 0; r < c.w.rows; ++r) {
    unpacker.unpack(c.w.row(r), blocks_in_row(c.w.type, c.w.cols), u.data(), scales.data(), offsets.data());
    for (int t = 0; t < c.tokens; ++t) {
      double total = 0;
      for (int k = 0; k < c.w.cols; ++k) {
        const int g = k / unpacker.group_size;
        total += (std::abs(static_cast<double>(scales[g]) * u[k]) + std::abs(offsets[g])) *
                 std::abs(c.x[static_cast<std::size_t>(t) * c.w.cols + k]);
      }
      magnitudes[static_cast<std::size_t>(t) * c.w.rows + r] = total;
    }
  }
  return magnitudes;
}

// The f16 nearest to a normal value of |value| in [2^-14, 65504] (ties to even).
std::uint16_t to_f16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  const std::uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u);  // drop 13 mantissa bits
  return static_cast<std::uint16_t>(sign | ((rounded >> 13) - (112u << 10)));
}

// F16 or BF16 weights (normal values, an odd row length) against the exact
// path: each product rounds both factors to bf16 (8 significant bits, at most
// 2^-9 relative each), so |fast - exact| <= sum |w x| * (2^-8 + 2^-17) plus f32 rounding.
void check_bf16(const QuantKernels& kernels, GgmlType type) {
  std::mt19937 random(static_cast<unsigned>(type) * 17u);
  std::normal_distribution<float> normal;
  const int rows = 53, cols = 77;  // as make_case's: a whole 32-row panel and a partial one
  WeightMatrix w;
  w.type = type;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = 2u * cols;
  std::vector<std::uint8_t> bytes(w.row_bytes * rows);
  for (int i = 0; i < rows * cols; ++i) {
    float value = normal(random);
    if (std::abs(value) < 1.0f / 16384) value = std::copysign(1.0f / 16384, value);  // normal in f16, never zero
    std::uint16_t bits;
    if (type == GgmlType::F16) {
      bits = to_f16(value);
    } else {
      std::uint32_t wide;
      std::memcpy(&wide, &value, sizeof wide);
      bits = static_cast<std::uint16_t>(wide >> 16);
    }
    std::memcpy(bytes.data() + 2 * i, &bits, sizeof bits);
  }
  w.data = bytes.data();
  ThreadPool pool(2);
  std::vector<float> decoded(cols);
  for (int tokens : {1, 2, 9, 19}) {  // one token: the decode products read from the stored rows
    std::vector<float> x(static_cast<std::size_t>(tokens) * cols);
    for (auto& v : x) v = normal(random);
    std::vector<float> fast(static_cast<std::size_t>(tokens) * rows), exact(fast.size());
    matmul_quantized(w, x.data(), fast.data(), tokens, pool, kernels);
    matmul(w, x.data(), exact.data(), tokens, pool);
    bool differs = false;
    for (int r = 0; r < rows; ++r) {
      convert_row_to_f32(type, w.row(r), decoded.data(), cols);
      for (int t = 0; t < tokens; ++t) {
        double magnitude = 0;
        for (int c = 0; c < cols; ++c) magnitude += std::abs(static_cast<double>(decoded[c]) * x[t * cols + c]);
        const std::size_t at = static_cast<std::size_t>(t) * rows + r;
        const double error = std::abs(static_cast<double>(fast[at]) - exact[at]);
        if (!(error <= magnitude * (1.0 / 256 + 1.0 / 131072 + 1e-5))) {
          throw std::runtime_error(std::string(kernels.name) + " " + ggml_type_name(type) + ": token " +
                                   std::to_string(t) + " row " + std::to_string(r) + " error " + std::to_string(error) +
                                   " above " + std::to_string(magnitude / 256));
        }
        if (error > 0) differs = true;
      }
    }
    if (!differs) throw std::runtime_error(ggml_type_name(type) + ": the bf16 products equal the exact ones");
  }
}

void check_set(const QuantKernels& kernels, GgmlType type) {
  const QuantKernels& portable = *portable_quant_kernels();
  ThreadPool pool(2);
  for (int tokens : {1, 2, 9, 19}) {
    const Case c = make_case(type, tokens, static_cast<unsigned>(type) * 131u + tokens);
    if (!quantized_matmul_applies(c.w, tokens, kernels)) continue;
    const std::string what = std::string(kernels.name) + " " + ggml_type_name(type) + " x " + std::to_string(tokens) + " tokens";
    std::vector<float> fast(static_cast<std::size_t>(tokens) * c.w.rows), reference(fast.size());
    matmul_quantized(c.w, c.x.data(), fast.data(), tokens, pool, kernels);
    check_against_exact(c, fast, what);
    // A token's result does not depend on the other tokens of its batch (of two or more).
    if (tokens >= 4) {
      std::vector<float> split(fast.size());
      const int head = tokens / 2;
      matmul_quantized(c.w, c.x.data(), split.data(), head, pool, kernels);
      matmul_quantized(c.w, c.x.data() + static_cast<std::size_t>(head) * c.w.cols,
                       split.data() + static_cast<std::size_t>(head) * c.w.rows, tokens - head, pool, kernels);
      if (std::memcmp(split.data(), fast.data(), fast.size() * sizeof(float)) != 0) {
        throw std::runtime_error(what + ": two batches give other bits than one");
      }
    }
    // Decoding a token alone gives the bits it gets inside the batch.
    for (int t = 0; tokens > 1 && t < tokens; ++t) {
      std::vector<float> alone(static_cast<std::size_t>(c.w.rows));
      matmul_quantized(c.w, c.x.data() + static_cast<std::size_t>(t) * c.w.cols, alone.data(), 1, pool, kernels);
      if (std::memcmp(alone.data(), fast.data() + static_cast<std::size_t>(t) * c.w.rows, alone.size() * sizeof(float)) != 0) {
        throw std::runtime_error(what + ": token " + std::to_string(t) + " alone gives other bits than in its batch");
      }
    }
    // The same integer sums as the portable kernels; only the f32 order differs.
    matmul_quantized(c.w, c.x.data(), reference.data(), tokens, pool, portable);
    const std::vector<double> magnitudes = term_magnitudes(c);
    for (std::size_t i = 0; i < fast.size(); ++i) {
      if (!(std::abs(fast[i] - reference[i]) <= 1e-6 * magnitudes[i])) {
        throw std::runtime_error(what + ": output " + std::to_string(i) + " is " + std::to_string(fast[i]) +
                                 ", the portable kernels give " + std::to_string(reference[i]));
      }
    }
  }
}

// A set's StoredRowKernel (8 or 16 rows read from the stored blocks) against
// the same rows unpacked (cpu/weight_unpack.h) and met by its row_products:
// the same bits, on three calls' rows of a random token and `blocks` blocks.
void check_stored_rows(const QuantKernels& kernels, GgmlType type, int blocks) {
  const StoredRowKernel stored = kernels.stored_row_products(type);
  if (stored.products == nullptr) return;
  if (stored.rows % kRowProductRows != 0 || stored.rows > kMaxStoredRows) {
    throw std::runtime_error(ggml_type_name(type) + ": " + std::to_string(stored.rows) + " stored rows per call");
  }
  std::mt19937 random(static_cast<unsigned>(type) * 7919u + static_cast<unsigned>(blocks));
  const BlockFormat& format = *block_format(type);
  const WeightUnpacker& unpacker = *weight_unpacker(type);
  const int rows = 3 * stored.rows, cols = blocks * format.values;
  const std::size_t row_bytes = static_cast<std::size_t>(blocks) * format.bytes;
  const std::vector<std::uint8_t> bytes = random_blocks(type, rows * blocks, random);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<std::size_t>(cols));
  for (auto& v : x) v = normal(random) * (random() % 13 == 0 ? 6.0f : 1.0f);
  QuantizedTokens token;
  token.resize(1, cols, unpacker.group_size);
  token.quantize(x.data(), 0, 1);
  const int groups = cols / unpacker.group_size;
  std::vector<std::uint8_t> quants(static_cast<std::size_t>(cols) * kRowProductRows);
  std::vector<float> scales(static_cast<std::size_t>(groups) * kRowProductRows), offsets(scales.size());
  for (int r0 = 0; r0 < rows; r0 += stored.rows) {
    float direct[kMaxStoredRows], unpacked[kMaxStoredRows];
    stored.products(bytes.data() + r0 * row_bytes, row_bytes, blocks, token.view(0), direct);
    for (int part = 0; part < stored.rows; part += kRowProductRows) {
      for (int i = 0; i < kRowProductRows; ++i) {
        unpack_row_for_kernels(type, kernels.signed_weights, bytes.data() + (r0 + part + i) * row_bytes, cols,
                               quants.data() + i * cols, scales.data() + i * groups, offsets.data() + i * groups);
      }
      kernels.row_products(quants.data(), scales.data(), offsets.data(), kRowProductRows, groups, unpacker.group_size,
                           token.view(0), unpacked + part);
    }
    if (std::memcmp(direct, unpacked, sizeof(float) * stored.rows) != 0) {
      for (int i = 0; i < stored.rows; ++i) {
        if (std::memcmp(&direct[i], &unpacked[i], sizeof(float)) != 0) {
          throw std::runtime_error(std::string(kernels.name) + " " + ggml_type_name(type) + ": row " +
                                   std::to_string(r0 + i) + " of " + std::to_string(blocks) + " blocks read from the blocks gives " + std::to_string(direct[i]) +
                                   ", unpacked " + std::to_string(unpacked[i]));
        }
      }
    }
  }
}

// One block, an odd number, and the 4864 values of ffn_down's rows in the
// 0.5B shape (19 blocks of 256, 152 of 32).
void check_stored_rows(const QuantKernels& kernels, GgmlType type) {
  const int values = block_format(type)->values;
  for (const int blocks : {1, values == 32 ? 29 : 5, 4864 / values}) check_stored_rows(kernels, type, blocks);
}

// A panel as cpu/quant_kernels.h lays it out, from the rows unpacked one by
// one: quant word k of row r at word k * panel_rows + r (less the signed sets'
// bias), scales and offsets per group and row, zeros for rows past the matrix.
// Rows that fill a panel and one that does not, words past a multiple of 16.
void check_panel_layout(const QuantKernels& kernels, GgmlType type) {
  std::mt19937 random(static_cast<unsigned>(type) * 131u + static_cast<unsigned>(kernels.panel_rows));
  const BlockFormat& format = *block_format(type);
  const WeightUnpacker& unpacker = *weight_unpacker(type);
  const int rows = 2 * kernels.panel_rows - 3, blocks = format.values == 32 ? 9 : 3;
  const std::vector<std::uint8_t> bytes = random_blocks(type, rows * blocks, random);
  WeightMatrix w;
  w.type = type;
  w.rows = rows;
  w.cols = blocks * format.values;
  w.row_bytes = static_cast<std::size_t>(blocks) * format.bytes;
  w.data = bytes.data();
  const int groups = w.cols / unpacker.group_size;
  const std::uint8_t bias = signed_weight_bias(unpacker, kernels.signed_weights);
  std::vector<std::uint8_t> u(w.cols);
  std::vector<float> scales(groups), offsets(groups);
  PackedPanel panel;
  for (int first = 0; first < rows; first += kernels.panel_rows) {
    panel.pack(w, unpacker, kernels, first);
    const QuantPanel view = panel.view();
    for (int r = 0; r < kernels.panel_rows; ++r) {
      const bool inside = first + r < rows;
      if (inside) unpacker.unpack(w.row(first + r), blocks, u.data(), scales.data(), offsets.data());
      for (int k = 0; k < w.cols; ++k) {
        const std::uint8_t expected = inside ? static_cast<std::uint8_t>(u[k] - bias) : 0;
        const std::uint8_t got = view.quants[(static_cast<std::size_t>(k / 4) * kernels.panel_rows + r) * 4 + k % 4];
        if (got != expected) {
          throw std::runtime_error("row " + std::to_string(first + r) + " value " + std::to_string(k) + ": panel " +
                                   std::to_string(got) + ", unpacked " + std::to_string(expected));
        }
      }
      for (int g = 0; g < groups; ++g) {
        const std::size_t at = static_cast<std::size_t>(g) * kernels.panel_rows + r;
        const float scale = inside ? scales[g] : 0.0f;
        const float offset = inside ? biased_offset(offsets[g], scales[g], static_cast<float>(bias)) : 0.0f;
        if (view.scales[at] != scale || view.offsets[at] != offset) {
          throw std::runtime_error("row " + std::to_string(first + r) + " group " + std::to_string(g) + ": scale or offset differs");
        }
      }
    }
  }
}

}  // namespace

// A NaN or an infinity among the activations (the fuzzer's model with broken
// weights) makes the products through its block NaN, as on the exact path,
// instead of an undefined float-to-int conversion (UBSan stops there).
void check_non_finite(const QuantKernels& kernels, GgmlType type) {
  for (const float bad : {std::nanf(""), INFINITY}) {
    Case c = make_case(type, 3, 17);
    c.x[5] = bad;  // token 0, block 0
    std::vector<float> fast(static_cast<std::size_t>(c.tokens) * c.w.rows);
    ThreadPool pool(1);
    matmul_quantized(c.w, c.x.data(), fast.data(), c.tokens, pool, kernels);
    for (int r = 0; r < c.w.rows; ++r) {
      if (std::isfinite(fast[r])) throw std::runtime_error("row " + std::to_string(r) + " of the token with a non-finite activation is finite");
      if (!std::isfinite(fast[static_cast<std::size_t>(c.w.rows) + r])) throw std::runtime_error("another token's row " + std::to_string(r) + " is not finite");
    }
  }
}

std::vector<Check> fast_kernel_checks() {
  std::vector<Check> checks;
  for (const std::string& name : quant_kernel_names()) {
    const QuantKernels* kernels = quant_kernels_named(name);
    if (kernels == nullptr) {
      std::printf("INFO kernel set %s: not run by this CPU or build\n", name.c_str());
      continue;
    }
    for (GgmlType type : kBlockTypes) {
      checks.emplace_back(name + " kernels, " + ggml_type_name(type) + ": within the activation rounding of the exact path",
                          [kernels, type] { check_set(*kernels, type); });
      checks.emplace_back(name + " kernels, " + ggml_type_name(type) + ": panels hold the unpacked rows in the kernels' layout",
                          [kernels, type] { check_panel_layout(*kernels, type); });
    }
    if (kernels->stored_row_products != nullptr) {
      for (GgmlType type : kBlockTypes) {
        checks.emplace_back(name + " kernels, " + ggml_type_name(type) + ": rows read from the stored blocks give the unpacked rows' bits",
                            [kernels, type] { check_stored_rows(*kernels, type); });
      }
    }
    checks.emplace_back(name + " kernels: a NaN or infinite activation gives non-finite products, not undefined behaviour",
                        [kernels] { check_non_finite(*kernels, GgmlType::Q4_K); check_non_finite(*kernels, GgmlType::Q8_0); });
    if (kernels->bf16_panel_product == nullptr) continue;
    for (GgmlType type : {GgmlType::F16, GgmlType::BF16}) {
      checks.emplace_back(name + " kernels, " + ggml_type_name(type) + ": within bf16 rounding of the exact path",
                          [kernels, type] { check_bf16(*kernels, type); });
    }
  }
  return checks;
}

int kernels_command() {
  try {
    const QuantKernels& active = active_quant_kernels();
    std::string runs;
    for (const std::string& name : quant_kernel_names()) {
      if (quant_kernels_named(name) != nullptr) runs += std::string(runs.empty() ? "" : ",") + "\"" + name + "\"";
    }
    // matmul() on a fast matrix runs the active set.
    const Case c = make_case(GgmlType::Q4_K, 5, 11);
    WeightMatrix fast = c.w;
    fast.exact = false;
    ThreadPool pool(2);
    std::vector<float> through_matmul(static_cast<std::size_t>(c.tokens) * c.w.rows), direct(through_matmul.size());
    matmul(fast, c.x.data(), through_matmul.data(), c.tokens, pool);
    matmul_quantized(c.w, c.x.data(), direct.data(), c.tokens, pool, active);
    const bool same = std::memcmp(through_matmul.data(), direct.data(), direct.size() * sizeof(float)) == 0;
    std::printf("{\"active\":\"%s\",\"runs\":[%s],\"matmulRunsActive\":%s}\n", active.name, runs.c_str(),
                same ? "true" : "false");
    return same ? 0 : 1;
  } catch (const std::exception& error) {
    std::printf("{\"error\":\"%s\"}\n", error.what());
    return 1;
  }
}

}  // namespace snapkv_unit
