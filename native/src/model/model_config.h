#pragma once
// The numbers that define a model's shape, read from GGUF metadata.
#include <cstdint>
#include <string>

namespace snapkv {

class GgufFile;

// How RoPE pairs up the dimensions of a head. GGUF `llama` files rotate adjacent
// pairs (x[2i], x[2i+1]); `qwen2`/`qwen3` files rotate halves (x[i], x[i + d/2]).
// Mixing them up gives garbage without any error, so it is explicit here.
enum class RopeLayout { AdjacentPairs, Halves };

// How positions are stretched past the context a model was trained for.
// Linear divides every frequency by the factor; YaRN interpolates the slow
// dimensions, keeps the fast ones, blends in between and scales the rotated
// vectors' magnitude (see model/rope_frequencies.h).
enum class RopeScalingKind { None, Linear, Yarn };

struct RopeScaling {
  RopeScalingKind kind = RopeScalingKind::None;
  double factor = 1.0;
  int original_context = 0;  // the trained context that `factor` stretches (YaRN)
  double attn_factor = 1.0;  // the file's extra magnitude factor (YaRN)
  double beta_fast = 32.0;   // YaRN: dimensions turning more often than this over the trained context keep their frequency
  double beta_slow = 1.0;    // ... and those turning less often than this are fully interpolated
};

// Scaling asked for by the user (a setting or a flag) rather than the file:
// YaRN on a Qwen2.5 file that carries none, so a 32K model serves 128K.
struct RopeScalingRequest {
  bool set = false;
  RopeScalingKind kind = RopeScalingKind::None;
  double factor = 1.0;
};

const char* rope_scaling_name(RopeScalingKind kind);

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
  // The longest prompt the model serves: the file's context length, stretched
  // by RoPE scaling when the scaling extends past it.
  int context_length = 0;
  int file_context_length = 0;  // <arch>.context_length as written
  float rms_eps = 1e-6f;
  float rope_freq_base = 10000.0f;
  RopeLayout rope_layout = RopeLayout::AdjacentPairs;
  RopeScaling rope_scaling;
  bool rope_freq_factors = false;  // rope_freqs.weight divides each pair's frequency (Llama 3.1/3.2)
  bool qkv_bias = false;           // q, k and v biases (all three, in every layer)
  bool partial_bias = false;       // some of q/k/v/o biases, not exactly q, k and v (llama files may)
  bool qk_norm = false;            // per-head RMSNorm of q and k before RoPE (qwen3)
  bool tied_embeddings = false;

  int q_dim() const { return heads * head_dim; }
  int kv_dim() const { return kv_heads * head_dim; }
  // True when RoPE is the plain rotation by position * base^(-2i/d).
  bool plain_rope() const { return rope_scaling.kind == RopeScalingKind::None && !rope_freq_factors; }
};

// Reads and validates the configuration; throws for unknown architectures,
// inconsistent numbers and metadata keys that change the math but are not
// implemented, naming the file and the key. `request` overrides the file's
// RoPE scaling.
ModelConfig read_model_config(const GgufFile& file, const RopeScalingRequest& request = {});

}  // namespace snapkv
