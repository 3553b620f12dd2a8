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

void causal_attention(const float* q, const KvCache& cache, int layer, int past, int tokens, int heads,
                      float* out, ThreadPool& pool) {
  const int d = cache.head_dim();
  const int row = heads * d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int query_blocks = (tokens + kQueriesPerTask - 1) / kQueriesPerTask;

  pool.parallel_for(heads * query_blocks, [&](int task, int) {
    thread_local std::vector<float> scores;
    const int h = task / query_blocks;
    const int block = task % query_blocks;
    const int cache_head = h * cache.heads() / heads;
    const float* keys = cache.keys(layer, cache_head);
    const float* values = cache.values(layer, cache_head);
    const int t_end = std::min(tokens, (block + 1) * kQueriesPerTask);
    for (int t = block * kQueriesPerTask; t < t_end; ++t) {
      const float* query = q + static_cast<std::size_t>(t) * row + static_cast<std::size_t>(h) * d;
      float* result = out + static_cast<std::size_t>(t) * row + static_cast<std::size_t>(h) * d;
      const int visible = past + t + 1;
      scores.resize(static_cast<std::size_t>(visible));
      float max_score = -INFINITY;
      for (int j = 0; j < visible; ++j) {
        scores[j] = simd::dot(query, keys + static_cast<std::size_t>(j) * d, d) * scale;
        max_score = std::max(max_score, scores[j]);
      }
      const float total = exp_shifted_in_place(scores.data(), visible, max_score);
      std::fill(result, result + d, 0.0f);
      for (int j = 0; j < visible; ++j) simd::axpy(scores[j], values + static_cast<std::size_t>(j) * d, result, d);
      const float inverse = 1.0f / total;
      for (int i = 0; i < d; ++i) result[i] *= inverse;
    }
  });
}

}  // namespace snapkv
