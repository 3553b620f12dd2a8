#pragma once
// The tensor element types of the ggml/GGUF format: their ids, names and sizes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace snapkv {

enum class GgmlType : std::uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

struct GgmlTypeTraits {
  const char* name;
  std::size_t block_elements;  // values per block
  std::size_t block_bytes;     // bytes per block
};

// Traits of a type id found in a file, or nothing when the id is unknown.
std::optional<GgmlTypeTraits> ggml_type_traits(std::uint32_t type_id);
std::string ggml_type_name(GgmlType type);

// The types whose matrices the engine multiplies.
bool engine_supports_weight_type(GgmlType type);
// Their names, comma separated, for messages.
std::string supported_weight_type_names();

}  // namespace snapkv
