#include "shape_writer/file_types.h"

#include <cstdlib>
#include <stdexcept>

namespace shape_writer {

namespace {

bool uses_more_bits(int layer, int layers) {
  const int eighth = layers / 8;
  return layer < eighth || layer >= 7 * layers / 8 || (layer - eighth) % 3 == 2;
}

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// N of "blk.N.…", or -1.
int layer_of(const std::string& tensor) {
  if (tensor.rfind("blk.", 0) != 0) return -1;
  return std::atoi(tensor.c_str() + 4);
}

}  // namespace

FileType parse_file_type(const std::string& name) {
  if (name == "Q4_K_M") return FileType{name, 15, WeightType::Q4_K, true};
  try {
    const WeightType type = parse_weight_type(name);
    return FileType{name, type_info(type).llama_ftype, type, false};
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("unknown weight type '" + name + "'; choose one of: " + weight_type_names() + ", Q4_K_M");
  }
}

WeightType matrix_type(const FileType& file, const std::string& tensor, std::uint64_t row_length, int layers, bool tied) {
  if (!file.q4_k_m) return file.matrices;
  WeightType type = WeightType::Q4_K;
  if (tensor == "output.weight" || (tied && tensor == "token_embd.weight")) {
    type = WeightType::Q6_K;
  } else if ((ends_with(tensor, ".attn_v.weight") || ends_with(tensor, ".ffn_down.weight")) &&
             uses_more_bits(layer_of(tensor), layers)) {
    type = WeightType::Q6_K;
  }
  if (row_length % 256 != 0) type = type == WeightType::Q6_K ? WeightType::Q8_0 : WeightType::Q5_0;
  return type;
}

}  // namespace shape_writer
