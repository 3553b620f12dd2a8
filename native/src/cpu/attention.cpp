#include "cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/fast_exp.h"
#include "cpu/simd.h"
#include "cpu/thread_pool.h"
#include "kv/kv_cache.h"

namespace snapkv {

namespace {
constexpr int kQueriesPerTask = 4;
}

void causal_attention(const float* q, const AttentionSource& source, int past, int tokens, int heads, float* out,
                      ThreadPool& pool) {
  const KvCache& own = *source.own;
  const int d = own.head_dim();
  const int row = heads * d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int query_blocks = (tokens + kQueriesPerTask - 1) / kQueriesPerTask;
  const int base_length = source.base ? source.base_length : 0;

  pool.parallel_for(heads * query_blocks, [&](int task, int) {
    thread_local std::vector<float> scores;
    const int h = task / query_blocks;
    const int block = task % query_blocks;
    const int cache_head = h * own.heads() / heads;
    const float* base_keys = base_length ? source.base->keys(source.base_layer, cache_head) : nullptr;
    const float* base_values = base_length ? source.base->values(source.base_layer, cache_head) : nullptr;
    const float* keys = own.keys(source.own_layer, cache_head);
    const float* values = own.values(source.own_layer, cache_head);
    const int t_end = std::min(tokens, (block + 1) * kQueriesPerTask);
    for (int t = block * kQueriesPerTask; t < t_end; ++t) {
      const float* query = q + static_cast<std::size_t>(t) * row + static_cast<std::size_t>(h) * d;
      float* result = out + static_cast<std::size_t>(t) * row + static_cast<std::size_t>(h) * d;
      const int own_visible = past + t + 1;
      const int visible = base_length + own_visible;
      scores.resize(static_cast<std::size_t>(visible));
      // One contiguous score row over both segments: the softmax and the
      // weighted sum see the same sequence as for a single cache.
      float max_score = -INFINITY;
      for (int j = 0; j < base_length; ++j) {
        scores[j] = simd::dot(query, base_keys + static_cast<std::size_t>(j) * d, d) * scale;
        max_score = std::max(max_score, scores[j]);
      }
      for (int j = 0; j < own_visible; ++j) {
        float& s = scores[base_length + j];
        s = simd::dot(query, keys + static_cast<std::size_t>(j) * d, d) * scale;
        max_score = std::max(max_score, s);
      }
      const float total = exp_shifted_in_place(scores.data(), visible, max_score);
      std::fill(result, result + d, 0.0f);
      for (int j = 0; j < base_length; ++j) simd::axpy(scores[j], base_values + static_cast<std::size_t>(j) * d, result, d);
      for (int j = 0; j < own_visible; ++j) {
        simd::axpy(scores[base_length + j], values + static_cast<std::size_t>(j) * d, result, d);
      }
      const float inverse = 1.0f / total;
      for (int i = 0; i < d; ++i) result[i] *= inverse;
    }
  });
}

}  // namespace snapkv
