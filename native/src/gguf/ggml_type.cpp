#include "gguf/ggml_type.h"

namespace snapkv {

std::optional<GgmlTypeTraits> ggml_type_traits(std::uint32_t type_id) {
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::F32: return GgmlTypeTraits{"F32", 1, 4};
    case GgmlType::F16: return GgmlTypeTraits{"F16", 1, 2};
    case GgmlType::BF16: return GgmlTypeTraits{"BF16", 1, 2};
    case GgmlType::Q4_0: return GgmlTypeTraits{"Q4_0", 32, 18};
    case GgmlType::Q4_1: return GgmlTypeTraits{"Q4_1", 32, 20};
    case GgmlType::Q5_0: return GgmlTypeTraits{"Q5_0", 32, 22};
    case GgmlType::Q5_1: return GgmlTypeTraits{"Q5_1", 32, 24};
    case GgmlType::Q8_0: return GgmlTypeTraits{"Q8_0", 32, 34};
    case GgmlType::Q8_1: return GgmlTypeTraits{"Q8_1", 32, 36};
    case GgmlType::Q2_K: return GgmlTypeTraits{"Q2_K", 256, 84};
    case GgmlType::Q3_K: return GgmlTypeTraits{"Q3_K", 256, 110};
    case GgmlType::Q4_K: return GgmlTypeTraits{"Q4_K", 256, 144};
    case GgmlType::Q5_K: return GgmlTypeTraits{"Q5_K", 256, 176};
    case GgmlType::Q6_K: return GgmlTypeTraits{"Q6_K", 256, 210};
    case GgmlType::Q8_K: return GgmlTypeTraits{"Q8_K", 256, 292};
  }
  return std::nullopt;
}

std::string ggml_type_name(GgmlType type) {
  auto traits = ggml_type_traits(static_cast<std::uint32_t>(type));
  return traits ? traits->name : "type " + std::to_string(static_cast<std::uint32_t>(type));
}

namespace {

// The matrix types the CPU backend multiplies (cpu/matmul.cpp, cpu/block_decoders.cpp):
// what llama.cpp's quantization recipes write, Q4_K_M's mix included.
constexpr GgmlType kWeightTypes[] = {
    GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1,
    GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
    GgmlType::Q6_K,
};

}  // namespace

bool engine_supports_weight_type(GgmlType type) {
  for (GgmlType supported : kWeightTypes) {
    if (supported == type) return true;
  }
  return false;
}

std::string supported_weight_type_names() {
  std::string names;
  for (GgmlType type : kWeightTypes) names += (names.empty() ? "" : ", ") + ggml_type_name(type);
  return names;
}

}  // namespace snapkv
