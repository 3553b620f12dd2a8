#pragma once
// The model shapes snapkv-write-model knows, and the tensors (names, shapes,
// initial value ranges) that the engine's qwen2 loader binds for a shape.
#include <cstdint>
#include <string>
#include <vector>

namespace shape_writer {

struct ModelShape {
  std::string name;
  int hidden = 0;
  int layers = 0;
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int ffn = 0;
  int vocab = 0;
  int context_length = 0;
  float rope_freq_base = 0;
  float rms_eps = 0;
  bool tied_embeddings = false;
};

// The shape of that name, or an std::invalid_argument listing the known names.
ModelShape find_shape(const std::string& name);
std::vector<std::string> shape_names();

// How a tensor's random values are drawn: mean + std * (approximately normal).
struct ValueRange {
  float mean = 0;
  float std = 0;
};

struct TensorPlan {
  std::string name;
  // dims[0] is the contiguous dimension (a matrix's columns), as GGUF stores it.
  std::vector<std::uint64_t> dims;
  // Matrices take the file's weight type; vectors (norms, biases) stay F32, as
  // llama.cpp's converter keeps them.
  bool is_matrix = false;
  ValueRange values;

  std::uint64_t element_count() const;
};

// Every tensor of a qwen2 file of this shape, in the order they are written.
std::vector<TensorPlan> plan_tensors(const ModelShape& shape);

}  // namespace shape_writer
