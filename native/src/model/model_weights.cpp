#include "model/model_weights.h"

#include <set>
#include <string>

#include "common/engine_error.h"
#include "cpu/number_formats.h"
#include "gguf/gguf_file.h"

namespace snapkv {

namespace {

class WeightBinder {
 public:
  WeightBinder(const GgufFile& file, BindMode mode) : file_(file), mode_(mode) {}

  const GgufTensor& tensor(const std::string& name) {
    const GgufTensor* found = file_.find_tensor(name);
    if (found == nullptr) {
      fail(ErrorCode::InvalidFile, "'", file_.path(), "' lacks the tensor '", name,
           "'; the file is incomplete or not a supported model");
    }
    bound_.insert(name);
    return *found;
  }

  // The tensor's values when the file has it, else an empty vector.
  std::vector<float> optional_vector(const std::string& name, int length) {
    return has(name) ? vector(name, length) : std::vector<float>{};
  }

  // Throws naming the first tensor that nothing computes with.
  void refuse_unbound() const {
    for (const GgufTensor& t : file_.tensors()) {
      if (bound_.count(t.name) == 0) {
        fail(ErrorCode::UnsupportedModel, "'", file_.path(), "' has the tensor '", t.name,
             "', which this engine does not use for its architecture; running without it would compute "
             "something else than the model, so the file is refused");
      }
    }
  }

  bool has(const std::string& name) const { return file_.find_tensor(name) != nullptr; }

  WeightMatrix matrix(const std::string& name, int rows, int cols) {
    const GgufTensor& t = tensor(name);
    if (t.dims.size() != 2 || t.dims[0] != static_cast<std::uint64_t>(cols) ||
        t.dims[1] != static_cast<std::uint64_t>(rows)) {
      fail(ErrorCode::InvalidFile, "'", file_.path(), "': tensor '", name, "' has shape ",
           shape(t), " but the model's metadata implies [", cols, ", ", rows, "]");
    }
    if (!engine_supports_weight_type(t.type)) {
      fail(ErrorCode::UnsupportedModel, "'", file_.path(), "': tensor '", name, "' is ",
           ggml_type_name(t.type),
           ", a weight type this engine does not support yet (supported: ", supported_weight_type_names(),
           "); choose a file quantized as one of those (Q4_K_M, Q5_K_M, Q6_K and Q8_0 files are)");
    }
    WeightMatrix m;
    m.type = t.type;
    m.rows = rows;
    m.cols = cols;
    m.row_bytes = static_cast<std::size_t>(t.byte_size / static_cast<std::uint64_t>(rows));
    m.data = t.data;
    total_bytes_ += t.byte_size;
    return m;
  }

  std::vector<float> vector(const std::string& name, int length) {
    const GgufTensor& t = tensor(name);
    if (t.element_count != static_cast<std::uint64_t>(length) || t.dims[0] != t.element_count) {
      fail(ErrorCode::InvalidFile, "'", file_.path(), "': tensor '", name, "' has shape ",
           shape(t), " but the model's metadata implies [", length, "]");
    }
    if (mode_ == BindMode::Check) {
      if (t.type != GgmlType::F32 && t.type != GgmlType::F16 && t.type != GgmlType::BF16) {
        fail(ErrorCode::UnsupportedModel, "'", file_.path(), "': vector tensor '", name, "' is ",
             ggml_type_name(t.type), "; only F32, F16 and BF16 vectors are supported");
      }
      return {};
    }
    std::vector<float> values(static_cast<std::size_t>(length));
    switch (t.type) {
      case GgmlType::F32: convert_row_to_f32(GgmlType::F32, t.data, values.data(), length); break;
      case GgmlType::F16: convert_row_to_f32(GgmlType::F16, t.data, values.data(), length); break;
      case GgmlType::BF16: convert_row_to_f32(GgmlType::BF16, t.data, values.data(), length); break;
      default:
        fail(ErrorCode::UnsupportedModel, "'", file_.path(), "': vector tensor '", name, "' is ",
             ggml_type_name(t.type), "; only F32, F16 and BF16 vectors are supported");
    }
    return values;
  }

  std::size_t total_bytes() const { return total_bytes_; }

 private:
  static std::string shape(const GgufTensor& t) {
    std::string text = "[";
    for (std::size_t i = 0; i < t.dims.size(); ++i) {
      text += (i ? ", " : "") + std::to_string(t.dims[i]);
    }
    return text + "]";
  }

  const GgufFile& file_;
  BindMode mode_;
  std::set<std::string> bound_;
  std::size_t total_bytes_ = 0;
};

}  // namespace

ModelWeights bind_model_weights(const GgufFile& file, ModelConfig& config, BindMode mode) {
  WeightBinder bind(file, mode);
  ModelWeights weights;

  const GgufTensor& embedding = bind.tensor("token_embd.weight");
  if (embedding.dims.size() != 2 || embedding.dims[0] != static_cast<std::uint64_t>(config.hidden) ||
      embedding.dims[1] > static_cast<std::uint64_t>(1 << 30)) {
    fail(ErrorCode::InvalidFile, "'", file.path(), "': token_embd.weight does not have ",
         config.hidden, " values per token");
  }
  config.vocab = static_cast<int>(embedding.dims[1]);
  weights.token_embedding = bind.matrix("token_embd.weight", config.vocab, config.hidden);

  const int q_dim = config.q_dim();
  bool any_bias = false, all_qkv_only = true;
  const int kv_dim = config.kv_dim();
  for (int l = 0; l < config.layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights layer;
    layer.attn_norm = bind.vector(p + "attn_norm.weight", config.hidden);
    layer.wq = bind.matrix(p + "attn_q.weight", q_dim, config.hidden);
    layer.wk = bind.matrix(p + "attn_k.weight", kv_dim, config.hidden);
    layer.wv = bind.matrix(p + "attn_v.weight", kv_dim, config.hidden);
    layer.wo = bind.matrix(p + "attn_output.weight", config.hidden, q_dim);
    if (config.qkv_bias) {
      layer.bq = bind.vector(p + "attn_q.bias", q_dim);
      layer.bk = bind.vector(p + "attn_k.bias", kv_dim);
      layer.bv = bind.vector(p + "attn_v.bias", kv_dim);
    } else if (config.architecture == "llama") {
      // llama files may carry any of the four biases (llama.cpp applies them).
      layer.bq = bind.optional_vector(p + "attn_q.bias", q_dim);
      layer.bk = bind.optional_vector(p + "attn_k.bias", kv_dim);
      layer.bv = bind.optional_vector(p + "attn_v.bias", kv_dim);
      layer.bo = bind.optional_vector(p + "attn_output.bias", config.hidden);
      for (const char* bias : {"attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.bias"}) {
        if (bind.has(p + bias)) any_bias = true;
      }
      if (bind.has(p + "attn_output.bias") || !bind.has(p + "attn_q.bias") || !bind.has(p + "attn_k.bias") ||
          !bind.has(p + "attn_v.bias")) {
        all_qkv_only = false;
      }
    }
    if (config.qk_norm) {
      layer.q_norm = bind.vector(p + "attn_q_norm.weight", config.head_dim);
      layer.k_norm = bind.vector(p + "attn_k_norm.weight", config.head_dim);
    }
    layer.ffn_norm = bind.vector(p + "ffn_norm.weight", config.hidden);
    layer.w_gate = bind.matrix(p + "ffn_gate.weight", config.ffn, config.hidden);
    layer.w_up = bind.matrix(p + "ffn_up.weight", config.ffn, config.hidden);
    layer.w_down = bind.matrix(p + "ffn_down.weight", config.hidden, config.ffn);
    weights.layers.push_back(std::move(layer));
  }
  weights.output_norm = bind.vector("output_norm.weight", config.hidden);
  config.tied_embeddings = !bind.has("output.weight");
  weights.output = config.tied_embeddings ? weights.token_embedding
                                          : bind.matrix("output.weight", config.vocab, config.hidden);
  if (any_bias) {
    config.qkv_bias = all_qkv_only;
    config.partial_bias = !all_qkv_only;
  }
  if (bind.has("rope_freqs.weight")) {
    weights.rope_freqs = bind.vector("rope_freqs.weight", config.head_dim / 2);
    config.rope_freq_factors = true;
  }
  bind.refuse_unbound();
  weights.matrix_bytes = bind.total_bytes();
  return weights;
}

}  // namespace snapkv
