#include "unit_test_weight_blocks.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include "cpu/block_decoders.h"
#include "cpu/matmul.h"
#include "cpu/number_formats.h"
#include "cpu/thread_pool.h"
#include "cpu/weight_unpack.h"
#include "gguf/ggml_type.h"

namespace snapkv_unit {

namespace {

using namespace snapkv;

const GgmlType kBlockTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                                GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// One token alone, a batch of tokens and dot_row give each output the same bits.
void check_batching(GgmlType type) {
  std::mt19937 random(static_cast<unsigned>(type) * 7919u);
  const BlockFormat& format = *block_format(type);
  const int rows = 13, cols = 2 * 256 + (format.values == 32 ? 64 : 0), tokens = 6;
  const std::vector<std::uint8_t> bytes = random_blocks(type, rows * cols / format.values, random);
  WeightMatrix w;
  w.type = type;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = static_cast<std::size_t>(cols / format.values) * format.bytes;
  w.data = bytes.data();
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<std::size_t>(tokens) * cols);
  for (auto& v : x) v = normal(random);
  ThreadPool pool(2);
  std::vector<float> batch(static_cast<std::size_t>(tokens) * rows), single(rows);
  matmul(w, x.data(), batch.data(), tokens, pool);
  std::vector<float> decoded(cols);
  for (int t = 0; t < tokens; ++t) {
    matmul(w, x.data() + static_cast<std::size_t>(t) * cols, single.data(), 1, pool);
    for (int r = 0; r < rows; ++r) {
      const float batched = batch[static_cast<std::size_t>(t) * rows + r];
      if (!same_bits(single[r], batched) || !same_bits(dot_row(w, r, x.data() + static_cast<std::size_t>(t) * cols), batched)) {
        throw std::runtime_error(ggml_type_name(type) + ": token " + std::to_string(t) + " row " + std::to_string(r) +
                                 " differs between one token, a batch and dot_row");
      }
      // And the sum is the dot product of the decoded row (up to f32 rounding).
      convert_row_to_f32(type, w.row(r), decoded.data(), cols);
      double expected = 0, scale = 0;
      for (int c = 0; c < cols; ++c) {
        expected += static_cast<double>(decoded[c]) * x[static_cast<std::size_t>(t) * cols + c];
        scale += std::abs(static_cast<double>(decoded[c]) * x[static_cast<std::size_t>(t) * cols + c]);
      }
      if (std::abs(expected - batched) > 1e-5 * scale + 1e-30) {
        throw std::runtime_error(ggml_type_name(type) + ": row " + std::to_string(r) + " is not the decoded row's dot product");
      }
    }
  }
}

// The fast path's unpacked weights (cpu/weight_unpack.h): scale * u + offset is
// the decoder's value (a zero may differ in sign, as d * 0 and
// d * 8 - 8 * d do, which no sum tells apart), and u stays within the type's max_quant.
void check_unpacked(GgmlType type) {
  std::mt19937 random(static_cast<unsigned>(type) * 104729u);
  const BlockFormat& format = *block_format(type);
  const WeightUnpacker& unpacker = *weight_unpacker(type);
  const int blocks = 5, values = blocks * format.values, groups = values / unpacker.group_size;
  for (int round = 0; round < 20; ++round) {
    const std::vector<std::uint8_t> bytes = random_blocks(type, blocks, random);
    std::vector<float> decoded(values), scales(groups), offsets(groups);
    std::vector<std::uint8_t> u(values);
    format.decode(bytes.data(), blocks, decoded.data());
    unpacker.unpack(bytes.data(), blocks, u.data(), scales.data(), offsets.data());
    for (int k = 0; k < values; ++k) {
      const int g = k / unpacker.group_size;
      const float product = scales[g] * static_cast<float>(u[k]);
      const float value = product + offsets[g];
      if (u[k] > unpacker.max_quant || !(value == decoded[k])) {
        throw std::runtime_error(ggml_type_name(type) + ": value " + std::to_string(k) + " unpacks to u " + std::to_string(u[k]) +
                                 " (max " + std::to_string(unpacker.max_quant) + "), " + std::to_string(value) +
                                 ", decoded " + std::to_string(decoded[k]));
      }
    }
  }
}

GgmlType type_named(const std::string& name) {
  for (std::uint32_t id = 0; id < 64; ++id) {
    auto traits = ggml_type_traits(id);
    if (traits && name == traits->name) return static_cast<GgmlType>(id);
  }
  throw std::runtime_error("unknown ggml type '" + name + "'");
}

}  // namespace

// Byte offsets of each format's f16 scales (d, and m or dmin where it has one).
std::vector<int> f16_fields(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0: return {0};
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K: return {0, 2};
    case GgmlType::Q2_K: return {80, 82};
    case GgmlType::Q3_K: return {108};
    case GgmlType::Q6_K: return {208};
    default: throw std::runtime_error("no block format for " + ggml_type_name(type));
  }
}

// Random blocks whose f16 scales are finite, nonzero and of either sign (2^-8 .. 2^-4).
std::vector<std::uint8_t> random_blocks(GgmlType type, int blocks, std::mt19937& random) {
  const BlockFormat& format = *block_format(type);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(blocks) * format.bytes);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
  for (int k = 0; k < blocks; ++k) {
    for (int offset : f16_fields(type)) {
      const auto bits = static_cast<std::uint16_t>((random() & 0x8000u) | ((7u + random() % 5u) << 10) | (random() & 0x3ffu));
      std::memcpy(&bytes[static_cast<std::size_t>(k) * format.bytes + offset], &bits, sizeof bits);
    }
  }
  return bytes;
}

std::vector<Check> weight_block_checks() {
  std::vector<Check> checks;
  for (GgmlType type : kBlockTypes) {
    checks.emplace_back(ggml_type_name(type) + " weights: one token, a batch and dot_row give the same bits",
                        [type] { check_batching(type); });
    checks.emplace_back(ggml_type_name(type) + " weights: the fast path's unpacked values are the decoded ones",
                        [type] { check_unpacked(type); });
  }
  return checks;
}

int decode_blocks_command(int argc, char** argv) {
  try {
    if (argc != 5) throw std::runtime_error("usage: snapkv-unit-test decode TYPE BLOCKS_FILE F32_FILE");
    const GgmlType type = type_named(argv[2]);
    const BlockFormat* format = block_format(type);
    if (format == nullptr) throw std::runtime_error(std::string(argv[2]) + " is not a block format");
    std::ifstream in(argv[3], std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot read ") + argv[3]);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() % static_cast<std::size_t>(format->bytes) != 0) {
      throw std::runtime_error(std::string(argv[3]) + " is not whole " + argv[2] + " blocks");
    }
    const int count = static_cast<int>(bytes.size() / format->bytes) * format->values;
    std::vector<float> out(static_cast<std::size_t>(count));
    convert_row_to_f32(type, bytes.data(), out.data(), count);
    std::ofstream file(argv[4], std::ios::binary);
    file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(float)));
    if (!file) throw std::runtime_error(std::string("cannot write ") + argv[4]);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 2;
  }
}

}  // namespace snapkv_unit
