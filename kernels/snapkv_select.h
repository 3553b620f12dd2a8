#pragma once
// SnapKV's choice of positions from the scores (DESIGN.md section 3), and the
// gather of the kept keys and values into a compact cache.
#include <cuda_runtime_api.h>

#include "gpu_types.h"

namespace snapkv::gpu {

enum class PoolKind { Max, Avg };

// pooled[h][j] over `heads` rows of `length` f32: window `kernel` (odd),
// stride 1, padding kernel / 2; max pads with -infinity, avg counts the
// padding as zeros (divides by `kernel`). Same loop order as the CPU's
// pool_scores, so the same input gives the same bits.
void snapkv_pool(const float* scores, int heads, int length, int kernel, PoolKind pooling, float* pooled,
                 cudaStream_t stream);

// For each of `heads` rows of `scored` pooled scores: the `budget - window`
// highest (ties: the lower position), ascending, then the window positions
// scored .. scored + window - 1. positions / kept_scores: heads rows of
// `budget` entries (row stride `budget`); window positions score +infinity.
// Needs scored + window >= budget (else use snapkv_keep_all). One block of
// 1024 threads per head: a radix select of the threshold, then an ordered
// compaction. CPU reference: snapkv/selection top_positions (and select_positions).
void snapkv_select_top(const float* pooled, int heads, int scored, int budget, int window, int* positions,
                       float* kept_scores, cudaStream_t stream);

// Prompt shorter than the budget: positions 0 .. length - 1 in every row, scores NaN.
void snapkv_keep_all(int heads, int length, int* positions, float* kept_scores, cudaStream_t stream);

// compact: cache_heads heads of `count` slots; slot i of cache head c gets key
// and value positions[c * position_stride + i] of source cache head
// c * source.heads / cache_heads (the CPU's rule for Mean and Repeat caches).
// Keys and values are copied 16 bytes at a time. CPU reference:
// engine/compact_cache gather_kept.
struct CompactTarget {
  void* keys = nullptr;
  void* values = nullptr;
  std::size_t head_stride = 0;  // elements between cache heads (capacity x head_dim)
  int heads = 0;
};
void snapkv_gather(const KvView& source, const int* positions, int position_stride, int count,
                   const CompactTarget& compact, cudaStream_t stream);

}  // namespace snapkv::gpu
