#pragma once
// One transformer block applied to a chunk of tokens, and the final norm and
// output projection: the pieces both drivers (token-major prefill and
// layer-by-layer one-shot) are built from.
#include <vector>

#include "cpu/attention.h"

namespace snapkv {

class KvCache;
class Model;
class QueryObserver;
struct ModelConfig;

// Activations of one chunk of tokens, reused by every layer.
struct ChunkBuffers {
  ChunkBuffers(const ModelConfig& config, int max_tokens);
  // What the constructor allocates for `max_tokens` rows: one-shot plans count it.
  static std::size_t bytes(const ModelConfig& config, int max_tokens);
  std::vector<float> x, normed, q, k, v, attended, projected, gate, up;
  std::vector<int> positions;  // RoPE position of each token
};

// Runs block `layer` over `tokens` rows of b.x in place. Their keys and
// values go to slots [first_slot, first_slot + tokens) of layer `cache_layer`
// of `cache`; attention reads `base` (may be null) and then that cache.
void run_layer(const Model& model, int layer, KvCache& cache, int cache_layer, const KvCache* base, int base_length,
               ChunkBuffers& b, int tokens, int first_slot, QueryObserver* observer);

// Final norm and logits of rows [first_row, first_row + rows) of `x`.
void compute_logits(const Model& model, const float* x, float* normed, int rows, float* out);

}  // namespace snapkv
