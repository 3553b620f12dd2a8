#pragma once
// Random tensor values, encoded in the ggml byte layouts the engine reads
// (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K), drawn chunk by chunk so that chunks can be made on
// several threads and the file still depends on the seed alone.
#include <cstddef>
#include <cstdint>
#include <string>

#include "shape_writer/model_shapes.h"

namespace shape_writer {

enum class WeightType { F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K };

struct WeightTypeInfo {
  const char* name;
  std::uint32_t ggml_type;      // the tensor type id in a GGUF file
  std::uint32_t block_values;   // values per block
  std::uint32_t block_bytes;    // bytes per block
  std::uint32_t llama_ftype;    // general.file_type for a file of this type
};

// The type of that name (F32, F16, ..., Q6_K), or std::invalid_argument.
WeightType parse_weight_type(const std::string& name);
// The names, for messages.
std::string weight_type_names();
const WeightTypeInfo& type_info(WeightType type);

// Bytes of `count` values; `count` must be whole blocks.
std::uint64_t encoded_bytes(WeightType type, std::uint64_t count);

// Values per chunk: a chunk is the unit of randomness and of parallel work. A
// multiple of every block size (32, 256), so no block straddles two chunks.
constexpr std::uint64_t kChunkValues = std::uint64_t{1} << 20;

// A 64-bit seed per tensor from the file's seed and the tensor's name.
std::uint64_t tensor_seed(std::uint64_t file_seed, const std::string& tensor_name);

// Encodes values [chunk * kChunkValues, + count) of a tensor into `out`
// (encoded_bytes(type, count) bytes).
void encode_random_chunk(WeightType type, ValueRange range, std::uint64_t seed, std::uint64_t chunk,
                         std::uint64_t count, std::uint8_t* out);

// The conversions, exposed for their own checks.
std::uint16_t f32_to_f16(float value);
std::uint16_t f32_to_bf16(float value);

}  // namespace shape_writer
