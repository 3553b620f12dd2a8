#pragma once
// snapkv-unit-test's checks of the block-quantized weight formats, through the
// engine's own entry points (convert_row_to_f32, matmul, dot_row), and its
// `decode` command, which test/weight-decoders.test.ts uses to compare the
// engine's decoders with the independent TypeScript ones bit for bit.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace snapkv_unit {

using Check = std::pair<std::string, std::function<void()>>;

// Checks that throw std::runtime_error with what went wrong.
std::vector<Check> weight_block_checks();

// snapkv-unit-test decode TYPE BLOCKS_FILE F32_FILE: decodes whole blocks of
// TYPE (a ggml type name, e.g. Q4_K) to little-endian f32. Returns the exit code.
int decode_blocks_command(int argc, char** argv);

}  // namespace snapkv_unit
