#include "model/model_config.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/engine_error.h"
#include "gguf/gguf_file.h"
#include "model/math_keys.h"

namespace snapkv {

namespace {

// GgufValue's conversions do not know the file they came from: an error they
// raise (a key of the wrong type) is raised again naming the file.
template <typename Read>
auto in_file(const GgufFile& file, Read read) -> decltype(read()) {
  try {
    return read();
  } catch (const EngineError& error) {
    fail(error.code(), "'", file.path(), "': ", error.what());
  }
}

int positive_int(const GgufFile& file, const std::string& key) {
  const GgufValue& stored = file.require(key);
  if (stored.type == GgufValueType::Array) {
    fail(ErrorCode::UnsupportedModel, "'", file.path(), "' gives ", key,
         " per layer (an array); this engine runs models whose layers all have one shape");
  }
  std::int64_t value = in_file(file, [&] { return stored.as_int(key); });
  if (value <= 0 || value > (1LL << 31) - 1) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "' has ", key, " = ", value,
         ", which should be a positive 32-bit integer");
  }
  return static_cast<int>(value);
}

double number_or(const GgufFile& file, const std::string& key, double fallback) {
  const GgufValue* value = file.find(key);
  return value ? in_file(file, [&] { return value->as_double(key); }) : fallback;
}

struct Architecture {
  RopeLayout rope_layout;
  bool qkv_bias;  // q, k and v biases required
  bool qk_norm;   // per-head q and k norms required
};

Architecture architecture_of(const GgufFile& file, const std::string& arch) {
  if (arch == "llama") return {RopeLayout::AdjacentPairs, false, false};
  if (arch == "qwen2") return {RopeLayout::Halves, true, false};
  if (arch == "qwen3") return {RopeLayout::Halves, false, true};
  fail(ErrorCode::UnsupportedModel, "'", file.path(), "' has architecture '", arch,
       "', which this engine does not run yet (supported: llama, qwen2, qwen3)");
}

RopeScalingKind scaling_kind(const GgufFile& file, const std::string& key, const std::string& name) {
  if (name == "none") return RopeScalingKind::None;
  if (name == "linear") return RopeScalingKind::Linear;
  if (name == "yarn") return RopeScalingKind::Yarn;
  fail(ErrorCode::UnsupportedModel, "'", file.path(), "' has ", key, " = '", name,
       "', a RoPE scaling this engine does not implement (it does none, linear and yarn)");
}

// The file's RoPE scaling keys, or the user's request in their place.
RopeScaling read_rope_scaling(const GgufFile& file, const std::string& arch, int file_context,
                              const RopeScalingRequest& request) {
  const std::string p = arch + ".rope.";
  RopeScaling scaling;
  if (const GgufValue* type = file.find(p + "scaling.type")) {
    scaling.kind = scaling_kind(file, p + "scaling.type", in_file(file, [&] { return type->as_string(p + "scaling.type"); }));
    scaling.factor = number_or(file, p + "scaling.factor", 1.0);
  } else if (file.find(p + "scale_linear")) {  // the key older converters wrote for linear scaling
    scaling.kind = RopeScalingKind::Linear;
    scaling.factor = number_or(file, p + "scale_linear", 1.0);
  }
  scaling.original_context = file.find(p + "scaling.original_context_length")
                                 ? positive_int(file, p + "scaling.original_context_length")
                                 : file_context;
  scaling.attn_factor = number_or(file, p + "scaling.attn_factor", 1.0);
  scaling.beta_fast = number_or(file, p + "scaling.yarn_beta_fast", 32.0);
  scaling.beta_slow = number_or(file, p + "scaling.yarn_beta_slow", 1.0);
  if (request.set) {
    scaling.kind = request.kind;
    scaling.factor = request.kind == RopeScalingKind::None ? 1.0 : request.factor;
    scaling.attn_factor = 1.0;
  }
  if (scaling.kind == RopeScalingKind::None) return RopeScaling{};
  if (!(scaling.factor >= 1.0 && scaling.factor <= 1024.0)) {
    fail(ErrorCode::InvalidArgument, "'", file.path(), "': a RoPE scaling factor of ", scaling.factor,
         " is outside 1..1024");
  }
  if (!(scaling.attn_factor > 0) || !(scaling.beta_fast > 0) || !(scaling.beta_slow > 0) ||
      scaling.beta_fast <= scaling.beta_slow) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "' has YaRN parameters out of range (attn_factor ",
         scaling.attn_factor, ", beta_fast ", scaling.beta_fast, ", beta_slow ", scaling.beta_slow, ")");
  }
  return scaling;
}

}  // namespace

const char* rope_scaling_name(RopeScalingKind kind) {
  switch (kind) {
    case RopeScalingKind::Linear: return "linear";
    case RopeScalingKind::Yarn: return "yarn";
    default: return "none";
  }
}

ModelConfig read_model_config(const GgufFile& file, const RopeScalingRequest& request) {
  ModelConfig config;
  const GgufValue& architecture = file.require("general.architecture");
  config.architecture = in_file(file, [&] { return architecture.as_string("general.architecture"); });
  const std::string& arch = config.architecture;
  const Architecture traits = architecture_of(file, arch);
  config.rope_layout = traits.rope_layout;
  config.qkv_bias = traits.qkv_bias;
  config.qk_norm = traits.qk_norm;
  refuse_unimplemented_keys(file, arch);

  if (const GgufValue* name = file.find("general.name")) {
    if (name->type == GgufValueType::String) config.name = name->string_value;
  }
  config.layers = positive_int(file, arch + ".block_count");
  config.hidden = positive_int(file, arch + ".embedding_length");
  config.ffn = positive_int(file, arch + ".feed_forward_length");
  config.heads = positive_int(file, arch + ".attention.head_count");
  config.kv_heads = file.find(arch + ".attention.head_count_kv")
                        ? positive_int(file, arch + ".attention.head_count_kv")
                        : config.heads;
  config.file_context_length = positive_int(file, arch + ".context_length");
  // The head size may differ from hidden / heads (Qwen3 writes it explicitly).
  config.head_dim = file.find(arch + ".attention.key_length")
                        ? positive_int(file, arch + ".attention.key_length")
                        : config.hidden / config.heads;
  if (file.find(arch + ".attention.value_length")) {
    const int value_length = positive_int(file, arch + ".attention.value_length");
    if (value_length != config.head_dim) {
      fail(ErrorCode::UnsupportedModel, "'", file.path(), "' has ", arch, ".attention.value_length = ", value_length,
           " and key_length ", config.head_dim, "; this engine needs keys and values of one head size");
    }
  }
  if (file.find(arch + ".rope.dimension_count")) {
    const int rotated = positive_int(file, arch + ".rope.dimension_count");
    if (rotated != config.head_dim) {
      fail(ErrorCode::UnsupportedModel, "'", file.path(), "' has ", arch, ".rope.dimension_count = ", rotated,
           " (RoPE on part of each head) but a head size of ", config.head_dim,
           "; this engine rotates whole heads only");
    }
  }
  config.rms_eps = static_cast<float>(number_or(file, arch + ".attention.layer_norm_rms_epsilon", 1e-6));
  config.rope_freq_base = static_cast<float>(number_or(file, arch + ".rope.freq_base", 10000.0));
  config.rope_scaling = read_rope_scaling(file, arch, config.file_context_length, request);
  config.context_length = config.file_context_length;
  if (config.rope_scaling.kind != RopeScalingKind::None) {
    const double stretched = std::floor(config.rope_scaling.original_context * config.rope_scaling.factor);
    if (stretched > config.context_length) config.context_length = static_cast<int>(std::min(stretched, 1073741824.0));
  }

  if (config.heads % config.kv_heads != 0) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "' has ", config.heads,
         " attention heads, not a multiple of its ", config.kv_heads, " KV heads");
  }
  if (config.head_dim == 0) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "' has ", config.heads, " attention heads for an embedding length of ",
         config.hidden, ": a head size of 0");
  }
  // Projection widths are ints throughout the engine (ModelConfig::q_dim, kv_dim):
  // a file whose heads x head size does not fit one is refused before they are used.
  const std::int64_t widest = std::int64_t{std::max(config.heads, config.kv_heads)} * config.head_dim;
  if (widest > std::numeric_limits<int>::max()) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "' has ", std::max(config.heads, config.kv_heads),
         " attention heads of size ", config.head_dim, ", a projection wider than 2^31 values");
  }
  if (config.head_dim % 2 != 0) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "' has an odd head dimension ",
         config.head_dim, "; RoPE needs an even one");
  }
  if (!(config.rope_freq_base > 0) || !(config.rms_eps > 0)) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "' has a non-positive RoPE base or RMS epsilon");
  }
  return config;
}

}  // namespace snapkv
