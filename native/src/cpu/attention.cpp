#include "cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu/fast_exp.h"
#include "cpu/thread_pool.h"
#include "kv/kv_cache.h"
#include "kv/kv_rows.h"

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
    const KvCache* base = base_length ? source.base : nullptr;
    const std::uint8_t* base_keys = base ? base->key_rows(source.base_layer, cache_head) : nullptr;
    const std::uint8_t* base_values = base ? base->value_rows(source.base_layer, cache_head) : nullptr;
    const std::uint8_t* keys = own.key_rows(source.own_layer, cache_head);
    const std::uint8_t* values = own.value_rows(source.own_layer, cache_head);
    const int t_end = std::min(tokens, (block + 1) * kQueriesPerTask);
    for (int t = block * kQueriesPerTask; t < t_end; ++t) {
      const float* query = q + static_cast<std::size_t>(t) * row + static_cast<std::size_t>(h) * d;
      float* result = out + static_cast<std::size_t>(t) * row + static_cast<std::size_t>(h) * d;
      const int own_visible = past + t + 1;
      const int visible = base_length + own_visible;
      scores.resize(static_cast<std::size_t>(visible));
      // One contiguous score row over both segments: the softmax and the
      // weighted sum see the same sequence as for a single cache. The rows
      // are read in their stored type, converted in registers.
      if (base) score_kv_rows(base->type(), query, base_keys, base->row_bytes(), base_length, d, scale, scores.data());
      score_kv_rows(own.type(), query, keys, own.row_bytes(), own_visible, d, scale, scores.data() + base_length);
      float max_score = -INFINITY;
      for (int j = 0; j < visible; ++j) max_score = std::max(max_score, scores[j]);
      const float total = exp_shifted_in_place(scores.data(), visible, max_score);
      std::fill(result, result + d, 0.0f);
      if (base) accumulate_kv_rows(base->type(), scores.data(), base_values, base->row_bytes(), base_length, d, result);
      accumulate_kv_rows(own.type(), scores.data() + base_length, values, own.row_bytes(), own_visible, d, result);
      const float inverse = 1.0f / total;
      for (int i = 0; i < d; ++i) result[i] *= inverse;
    }
  });
}

}  // namespace snapkv
