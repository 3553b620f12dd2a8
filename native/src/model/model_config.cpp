#include "model/model_config.h"

#include "common/engine_error.h"
#include "gguf/gguf_file.h"

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
  std::int64_t value = in_file(file, [&] { return stored.as_int(key); });
  if (value <= 0 || value > (1LL << 31) - 1) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "' has ", key, " = ", value,
         ", which should be a positive 32-bit integer");
  }
  return static_cast<int>(value);
}

}  // namespace

ModelConfig read_model_config(const GgufFile& file) {
  ModelConfig config;
  const GgufValue& architecture = file.require("general.architecture");
  config.architecture = in_file(file, [&] { return architecture.as_string("general.architecture"); });
  const std::string& arch = config.architecture;
  if (arch == "llama") {
    config.rope_layout = RopeLayout::AdjacentPairs;
    config.qkv_bias = false;
  } else if (arch == "qwen2") {
    config.rope_layout = RopeLayout::Halves;
    config.qkv_bias = true;
  } else {
    fail(ErrorCode::UnsupportedModel, "'", file.path(), "' has architecture '", arch,
         "', which this engine does not run yet (supported: llama, qwen2)");
  }
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
  config.context_length = positive_int(file, arch + ".context_length");
  config.head_dim = file.find(arch + ".attention.key_length")
                        ? positive_int(file, arch + ".attention.key_length")
                        : config.hidden / config.heads;
  if (const GgufValue* eps = file.find(arch + ".attention.layer_norm_rms_epsilon")) {
    config.rms_eps = static_cast<float>(
        in_file(file, [&] { return eps->as_double(arch + ".attention.layer_norm_rms_epsilon"); }));
  }
  if (const GgufValue* base = file.find(arch + ".rope.freq_base")) {
    config.rope_freq_base =
        static_cast<float>(in_file(file, [&] { return base->as_double(arch + ".rope.freq_base"); }));
  }
  if (const GgufValue* scaling = file.find(arch + ".rope.scaling.type")) {
    if (scaling->type == GgufValueType::String && scaling->string_value != "none") {
      fail(ErrorCode::UnsupportedModel, "'", file.path(), "' uses RoPE scaling '",
           scaling->string_value, "', which this engine does not implement yet");
    }
  }
  if (config.heads % config.kv_heads != 0) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "' has ", config.heads,
         " attention heads, not a multiple of its ", config.kv_heads, " KV heads");
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
