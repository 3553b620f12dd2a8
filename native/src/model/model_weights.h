#pragma once
// Views of a model's weights inside the mapped GGUF file, shapes checked
// against the configuration. Matrices stay in their file type; vectors (norms,
// biases) are small and converted to f32 once.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gguf/ggml_type.h"
#include "model/model_config.h"

namespace snapkv {

class GgufFile;

// A row-major matrix of `rows` rows with `cols` values each, as stored in the
// file: a PyTorch Linear weight [out, in] has rows = out, cols = in.
struct WeightMatrix {
  GgmlType type = GgmlType::F32;
  int rows = 0;
  int cols = 0;
  std::size_t row_bytes = 0;
  const std::uint8_t* data = nullptr;
  // Products with this matrix on the CPU: the exact f32 path (the float64
  // checks), or the fast int8 path (cpu/matmul_quantized.h) where it applies.
  // The model's load option sets it (ModelLoadOptions::exact).
  bool exact = true;

  const std::uint8_t* row(int r) const { return data + static_cast<std::size_t>(r) * row_bytes; }
  std::size_t bytes() const { return row_bytes * static_cast<std::size_t>(rows); }
};

struct LayerWeights {
  std::vector<float> attn_norm;
  WeightMatrix wq, wk, wv, wo;
  std::vector<float> bq, bk, bv, bo;  // each empty when the file has none
  std::vector<float> q_norm, k_norm;   // head_dim each (qwen3), else empty
  std::vector<float> ffn_norm;
  WeightMatrix w_gate, w_up, w_down;
};

struct ModelWeights {
  WeightMatrix token_embedding;  // rows = vocab, cols = hidden
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;
  WeightMatrix output;  // the token embedding itself when tied
  std::vector<float> rope_freqs;  // head_dim / 2 frequency divisors (rope_freqs.weight), or empty
  std::size_t matrix_bytes = 0;
};

// How far binding goes: Check reads only the tensor directory (shapes, types,
// every tensor bound to a use) and leaves the vectors empty: what
// inspecting a file needs without touching its weights.
enum class BindMode { Load, Check };

// Binds every tensor of the file to its use; throws UnsupportedModel naming
// any tensor left over, so nothing in a file is silently ignored.
ModelWeights bind_model_weights(const GgufFile& file, ModelConfig& config, BindMode mode = BindMode::Load);

}  // namespace snapkv
