#pragma once
// SnapKV's scoring pass (DESIGN.md section 3) on the device: how much the
// last `window` prompt queries attend to each earlier prompt position.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "gpu_types.h"

namespace snapkv::gpu {

enum class GqaCombine { Mean, Repeat };

struct SnapKvScoreJob {
  // The last `window` prompt queries: window rows of heads x head_dim in
  // keys.type, row t at window_queries + t * query_row_stride (RoPE applied).
  const void* window_queries = nullptr;
  std::size_t query_row_stride = 0;
  int window = 0;
  int heads = 0;
  // The whole prompt's keys, L = keys.length() >= window; the window's own
  // keys are the last `window`.
  KvView keys;
  GqaCombine gqa = GqaCombine::Mean;
  // Output: cache_heads rows of L - window f32 (row stride L - window), where
  // cache_heads = keys.heads for Mean and heads for Repeat. Entry j: the sum
  // over the window queries of their softmax probability on key j (softmax
  // over all keys each query sees, fp32, causal inside the window), averaged
  // over the query heads of the group (Mean) or of one query head (Repeat).
  float* scores = nullptr;
  void* workspace = nullptr;  // snapkv_score_workspace_bytes(heads, window)
};

// Three launches: row statistics per key split (each window query's max and
// exponential sum over all keys it sees, online), their combination, then
// column sums with the exact normalisation. Scores are recomputed in the
// second pass by the same code, so both passes see identical values.
// CPU reference: snapkv/selection select_positions (snapkv/window_attention).
void snapkv_scores(const SnapKvScoreJob& job, cudaStream_t stream);

std::size_t snapkv_score_workspace_bytes(int heads, int window);

}  // namespace snapkv::gpu
