#pragma once
// A file's weight types: one type for every matrix (--type Q8_0), or
// llama.cpp's Q4_K_M mix, chosen per tensor as llama.cpp's quantizer does:
// Q4_K, with Q6_K for the output (the token embedding when tied) and for
// attn_v / ffn_down of the layers that "use more bits" (i < n/8, i >= 7n/8, or
// (i - n/8) % 3 == 2); rows that are not whole 256-value blocks fall back to
// Q5_0 (for Q4_K) or Q8_0 (for Q6_K). Norms and biases stay F32.
#include <cstdint>
#include <string>

#include "shape_writer/weight_encoding.h"

namespace shape_writer {

struct FileType {
  std::string name;
  std::uint32_t llama_ftype;  // general.file_type
  WeightType matrices;        // the type of every matrix, or the mix's main type
  bool q4_k_m = false;
};

// F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K or Q4_K_M; std::invalid_argument otherwise.
FileType parse_file_type(const std::string& name);

// The stored type of a matrix of the file.
WeightType matrix_type(const FileType& file, const std::string& tensor, std::uint64_t row_length, int layers, bool tied);

}  // namespace shape_writer
