#include "model/math_keys.h"

#include <set>

#include "common/engine_error.h"
#include "gguf/gguf_file.h"

namespace snapkv {

namespace {

// Suffixes after "<arch>." that model_config.cpp reads (and checks) or that
// do not change what the model computes.
const std::set<std::string>& known_suffixes() {
  static const std::set<std::string> keys = {
      "context_length",
      "embedding_length",
      "block_count",
      "feed_forward_length",
      "vocab_size",
      "attention.head_count",
      "attention.head_count_kv",
      "attention.key_length",
      "attention.value_length",  // must equal key_length
      "attention.layer_norm_rms_epsilon",
      "attention.causal",  // must be true
      "rope.freq_base",
      "rope.dimension_count",  // must equal the head size
      "rope.scale_linear",
      "rope.scaling.type",
      "rope.scaling.factor",
      "rope.scaling.original_context_length",
      "rope.scaling.attn_factor",
      "rope.scaling.yarn_beta_fast",
      "rope.scaling.yarn_beta_slow",
      "rope.scaling.finetuned",  // a note about training, not the math
      "expert_count",            // must be 0
      "expert_used_count",       // must be 0
  };
  return keys;
}

}  // namespace

void refuse_unimplemented_keys(const GgufFile& file, const std::string& arch) {
  const std::string prefix = arch + ".";
  for (const auto& [key, value] : file.metadata()) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string suffix = key.substr(prefix.size());
    if (known_suffixes().count(suffix) == 0) {
      fail(ErrorCode::UnsupportedModel, "'", file.path(), "' has the metadata key '", key,
           "', which changes how the model computes in a way this engine does not implement");
    }
    if ((suffix == "expert_count" || suffix == "expert_used_count") && value.is_integer() &&
        value.as_int(key) != 0) {
      fail(ErrorCode::UnsupportedModel, "'", file.path(), "' has ", key, " = ", value.as_int(key),
           ": a mixture-of-experts model, which this engine does not run");
    }
    if (suffix == "attention.causal" && value.type == GgufValueType::Bool && !value.as_bool(key)) {
      fail(ErrorCode::UnsupportedModel, "'", file.path(), "' has ", key,
           " = false (bidirectional attention); this engine runs causal language models only");
    }
  }
}

}  // namespace snapkv
