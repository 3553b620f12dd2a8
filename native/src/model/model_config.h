#pragma once
// The numbers that define a model's shape, read from GGUF metadata.
#include <cstdint>
#include <string>

namespace snapkv {

class GgufFile;

// How RoPE pairs up the dimensions of a head. GGUF `llama` files rotate adjacent
// pairs (x[2i], x[2i+1]); `qwen2` files rotate halves (x[i], x[i + d/2]).
// Mixing them up gives garbage without any error, so it is explicit here.
enum class RopeLayout { AdjacentPairs, Halves };

struct ModelConfig {
  std::string architecture;
  std::string name;
  int layers = 0;
  int hidden = 0;
  int ffn = 0;
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int vocab = 0;
  int context_length = 0;
  float rms_eps = 1e-6f;
  float rope_freq_base = 10000.0f;
  RopeLayout rope_layout = RopeLayout::AdjacentPairs;
  bool qkv_bias = false;
  bool tied_embeddings = false;

  int q_dim() const { return heads * head_dim; }
  int kv_dim() const { return kv_heads * head_dim; }
};

// Reads and validates the configuration; throws for unknown architectures and
// inconsistent numbers, naming the file.
ModelConfig read_model_config(const GgufFile& file);

}  // namespace snapkv
