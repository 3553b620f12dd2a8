#include "shape_writer/model_shapes.h"

#include <stdexcept>

namespace shape_writer {

namespace {

// Qwen2.5-Coder's published configurations. Their vocabularies are padded
// beyond the tokenizer's 151,665 tokens, so the embedding rows differ.
std::vector<ModelShape> known_shapes() {
  ModelShape small;
  small.name = "qwen2.5-coder-1.5b";
  small.hidden = 1536;
  small.layers = 28;
  small.heads = 12;
  small.kv_heads = 2;
  small.head_dim = 128;
  small.ffn = 8960;
  small.vocab = 151936;
  small.context_length = 32768;
  small.rope_freq_base = 1e6f;
  small.rms_eps = 1e-6f;
  small.tied_embeddings = true;

  ModelShape large = small;
  large.name = "qwen2.5-coder-7b";
  large.hidden = 3584;
  large.heads = 28;
  large.kv_heads = 4;
  large.ffn = 18944;
  large.vocab = 152064;
  large.tied_embeddings = false;

  // Seconds to write and load: for tests and CPU smoke runs. Every row is a
  // multiple of 32 values, so Q8_0 blocks fit; untied as the 7B, so
  // output.weight is exercised too.
  ModelShape tiny = large;
  tiny.name = "tiny";
  tiny.hidden = 128;
  tiny.layers = 2;
  tiny.heads = 4;
  tiny.kv_heads = 2;
  tiny.head_dim = 32;
  tiny.ffn = 256;
  tiny.vocab = 2048;
  tiny.context_length = 8192;

  return {small, large, tiny};
}

}  // namespace

std::vector<std::string> shape_names() {
  std::vector<std::string> names;
  for (const ModelShape& shape : known_shapes()) names.push_back(shape.name);
  return names;
}

ModelShape find_shape(const std::string& name) {
  for (const ModelShape& shape : known_shapes()) {
    if (shape.name == name) return shape;
  }
  std::string known;
  for (const std::string& n : shape_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown shape '" + name + "'; choose one of: " + known);
}

std::uint64_t TensorPlan::element_count() const {
  std::uint64_t count = 1;
  for (std::uint64_t d : dims) count *= d;
  return count;
}

std::vector<TensorPlan> plan_tensors(const ModelShape& shape) {
  // Weights ~ N(0, 0.02) as the models were initialised; norms near 1 and
  // small biases keep activations finite through every layer.
  const ValueRange weight{0.0f, 0.02f};
  const ValueRange norm{1.0f, 0.02f};
  const ValueRange bias{0.0f, 0.02f};
  const std::uint64_t hidden = static_cast<std::uint64_t>(shape.hidden);
  const std::uint64_t q_dim = static_cast<std::uint64_t>(shape.heads) * shape.head_dim;
  const std::uint64_t kv_dim = static_cast<std::uint64_t>(shape.kv_heads) * shape.head_dim;
  const std::uint64_t ffn = static_cast<std::uint64_t>(shape.ffn);
  const std::uint64_t vocab = static_cast<std::uint64_t>(shape.vocab);

  std::vector<TensorPlan> plan;
  auto matrix = [&](const std::string& name, std::uint64_t rows, std::uint64_t cols) {
    plan.push_back({name, {cols, rows}, true, weight});
  };
  auto vector = [&](const std::string& name, std::uint64_t length, ValueRange values) {
    plan.push_back({name, {length}, false, values});
  };

  matrix("token_embd.weight", vocab, hidden);
  for (int l = 0; l < shape.layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    vector(p + "attn_norm.weight", hidden, norm);
    matrix(p + "attn_q.weight", q_dim, hidden);
    matrix(p + "attn_k.weight", kv_dim, hidden);
    matrix(p + "attn_v.weight", kv_dim, hidden);
    vector(p + "attn_q.bias", q_dim, bias);
    vector(p + "attn_k.bias", kv_dim, bias);
    vector(p + "attn_v.bias", kv_dim, bias);
    matrix(p + "attn_output.weight", hidden, q_dim);
    vector(p + "ffn_norm.weight", hidden, norm);
    matrix(p + "ffn_gate.weight", ffn, hidden);
    matrix(p + "ffn_up.weight", ffn, hidden);
    matrix(p + "ffn_down.weight", hidden, ffn);
  }
  vector("output_norm.weight", hidden, norm);
  // Tied models project onto token_embd.weight: the loader decides by the
  // absence of output.weight.
  if (!shape.tied_embeddings) matrix("output.weight", vocab, hidden);
  return plan;
}

}  // namespace shape_writer
