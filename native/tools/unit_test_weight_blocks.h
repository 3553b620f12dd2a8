#pragma once
// snapkv-unit-test's checks of the block-quantized weight formats, through the
// engine's own entry points (convert_row_to_f32, matmul, dot_row), and its
// `decode` command, which test/weight-decoders.test.ts uses to compare the
// engine's decoders with the independent TypeScript ones bit for bit.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gguf/ggml_type.h"

namespace snapkv_unit {

using Check = std::pair<std::string, std::function<void()>>;

// Random blocks of a block-quantized type whose f16 scales are finite,
// nonzero and of either sign (2^-8 .. 2^-4).
std::vector<std::uint8_t> random_blocks(snapkv::GgmlType type, int blocks, std::mt19937& random);

// Checks that throw std::runtime_error with what went wrong.
std::vector<Check> weight_block_checks();

// snapkv-unit-test decode TYPE BLOCKS_FILE F32_FILE: decodes whole blocks of
// TYPE (a ggml type name, e.g. Q4_K) to little-endian f32. Returns the exit code.
int decode_blocks_command(int argc, char** argv);

}  // namespace snapkv_unit
