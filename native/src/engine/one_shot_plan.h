#pragma once
// What one-shot compression needs in memory at a prompt length, part by
// part: the longest prompt a GPU takes is known before an hour-long run finds
// it by running out of memory, and the server knows before a question whether
// a repository too large for a prefix cache can still be answered one-shot.
// The parts mirror each backend's allocations (CpuBackend::compress,
// CudaBackend::compress); sizes that only a backend knows come in through
// OneShotSizes, so these rules stay free of CUDA and are tested without a GPU.
#include <cstddef>

#include "model/model_config.h"
#include "snapkv/snapkv_params.h"

namespace snapkv {

struct OneShotSizes {
  std::size_t chunk_scratch = 0;    // the layer runner's buffers for a chunk of rows
  std::size_t score_workspace = 0;  // snapkv_scores' workspace
  int chunk_rows = 2048;            // prompts up to this length reuse the backend's row buffers (0: none does)
  std::size_t kv_row_bytes = 256;   // one stored row of head_dim keys or values (128 bf16)
  // The window's queries: how many layers' of them are held at once, and the bytes of one value.
  int window_query_layers = 1;
  std::size_t window_query_value_bytes = 2;
  // f32 score rows of the scored columns held per query head before the GQA
  // mean (the CPU's selection holds every head's; the GPU's reduces in place).
  int score_rows_per_query_head = 0;
  // f32 rows of the prompt's length that attention holds while a chunk runs (one per CPU thread).
  int attention_rows = 0;
};

struct OneShotMemory {
  std::size_t hidden = 0;     // the whole prompt's hidden states (f32) with its token ids and positions
  std::size_t layer_kv = 0;   // one layer's keys and values of the whole prompt
  std::size_t selection = 0;  // SnapKV scores, pooled scores, kept positions, the window's queries
  std::size_t compact = 0;    // the compact cache (kept entries and room to generate)
  std::size_t working = 0;    // chunk scratch and the logits
  std::size_t total() const { return hidden + layer_kv + selection + compact + working; }
};

OneShotMemory one_shot_memory(const ModelConfig& config, const SnapKvParams& params, int reserve_tokens,
                              long long length, const OneShotSizes& sizes);

// The longest prompt, at most `limit` tokens, whose one-shot memory fits in
// `available` bytes; 0 when not even one token does.
long long longest_one_shot(const ModelConfig& config, const SnapKvParams& params, int reserve_tokens,
                           const OneShotSizes& sizes, std::size_t available, long long limit);

}  // namespace snapkv
