#include "snapkv/selection.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/engine_error.h"
#include "cpu/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/model_config.h"
#include "snapkv/window_attention.h"

namespace snapkv {

KvType PromptKeys::type() const {
  if (base && base_length > 0 && base->type() != own->type()) {
    fail(ErrorCode::InvalidArgument, "a prompt's caches must hold one KV type, not ", kv_type_name(base->type()),
         " and ", kv_type_name(own->type()));
  }
  return own->type();
}

std::size_t PromptKeys::row_bytes() const { return own->row_bytes(); }

const std::uint8_t* PromptKeys::key_row(int head, int position) const {
  if (position < base_length) return base->key_rows(base_layer, head) + static_cast<std::size_t>(position) * row_bytes();
  return own->key_rows(own_layer, head) + static_cast<std::size_t>(position - base_length) * row_bytes();
}

const std::uint8_t* PromptKeys::value_row(int head, int position) const {
  if (position < base_length) {
    return base->value_rows(base_layer, head) + static_cast<std::size_t>(position) * row_bytes();
  }
  return own->value_rows(own_layer, head) + static_cast<std::size_t>(position - base_length) * row_bytes();
}

std::vector<float> pool_scores(const std::vector<float>& scores, int kernel, Pooling pooling) {
  const int n = static_cast<int>(scores.size());
  const int half = kernel / 2;
  std::vector<float> pooled(scores.size());
  for (int j = 0; j < n; ++j) {
    const int from = std::max(0, j - half);
    const int to = std::min(n - 1, j + half);
    if (pooling == Pooling::Max) {
      float best = -std::numeric_limits<float>::infinity();
      for (int i = from; i <= to; ++i) best = std::max(best, scores[i]);
      pooled[j] = best;
    } else {
      float total = 0;
      for (int i = from; i <= to; ++i) total += scores[i];
      pooled[j] = total / static_cast<float>(kernel);
    }
  }
  return pooled;
}

std::vector<int> top_positions(const std::vector<float>& scores, int count) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  auto better = [&](int a, int b) { return scores[a] != scores[b] ? scores[a] > scores[b] : a < b; };
  if (count < static_cast<int>(order.size())) {
    std::nth_element(order.begin(), order.begin() + count, order.end(), better);
    order.resize(static_cast<std::size_t>(count));
  }
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<KeptHead> select_positions(const PromptKeys& keys, const float* window_queries, const SnapKvParams& params,
                                       const ModelConfig& c, ThreadPool& pool) {
  const int length = keys.length();
  const int cache_heads = params.gqa == GqaMode::Mean ? c.kv_heads : c.heads;
  std::vector<KeptHead> kept(static_cast<std::size_t>(cache_heads));
  if (length < params.budget) {
    for (KeptHead& head : kept) {
      head.positions.resize(static_cast<std::size_t>(length));
      std::iota(head.positions.begin(), head.positions.end(), 0);
      head.scores.assign(static_cast<std::size_t>(length), std::numeric_limits<float>::quiet_NaN());
    }
    return kept;
  }

  const int group = c.heads / c.kv_heads;
  // Per query head: the window's summed probabilities on each scored column.
  const std::vector<std::vector<float>> per_query_head = window_attention_sums(keys, window_queries, params.window, c, pool);

  const int scored = length - params.window;
  pool.parallel_for(cache_heads, [&](int ch, int) {
    std::vector<float> combined;
    if (params.gqa == GqaMode::Repeat) {
      combined = per_query_head[ch];
    } else {
      combined.assign(static_cast<std::size_t>(scored), 0.0f);
      for (int h = ch * group; h < (ch + 1) * group; ++h) {
        for (int j = 0; j < scored; ++j) combined[j] += per_query_head[h][j];
      }
      for (float& s : combined) s /= static_cast<float>(group);
    }
    const std::vector<float> pooled = pool_scores(combined, params.kernel, params.pooling);
    KeptHead& head = kept[ch];
    head.positions = top_positions(pooled, params.budget - params.window);
    for (int p : head.positions) head.scores.push_back(pooled[p]);
    for (int p = scored; p < length; ++p) {
      head.positions.push_back(p);
      head.scores.push_back(std::numeric_limits<float>::infinity());
    }
  });
  return kept;
}

}  // namespace snapkv
