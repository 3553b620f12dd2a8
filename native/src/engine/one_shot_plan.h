#pragma once
// What one-shot compression needs in device memory at a prompt length, part
// by part: the longest prompt a GPU takes is known before an hour-long run
// finds it by running out of memory. The parts mirror the CUDA backend's
// allocations (cuda_backend.cpp compress()); sizes that only the kernels know
// come in through OneShotSizes, so these rules stay free of CUDA and are
// tested without a GPU.
#include <cstddef>

#include "model/model_config.h"
#include "snapkv/snapkv_params.h"

namespace snapkv {

struct OneShotSizes {
  std::size_t chunk_scratch = 0;    // the layer runner's buffers for a chunk of rows
  std::size_t score_workspace = 0;  // snapkv_scores' workspace
  int chunk_rows = 2048;            // prompts up to this length reuse the backend's row buffers
  std::size_t kv_element_bytes = 2; // bf16
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
