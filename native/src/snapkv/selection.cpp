#include "snapkv/selection.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/engine_error.h"
#include "cpu/fast_exp.h"
#include "cpu/thread_pool.h"
#include "kv/kv_cache.h"
#include "kv/kv_rows.h"
#include "model/model_config.h"

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

namespace {

// Sum over the window queries of one query head of their softmax attention
// probabilities on each scored column j < length - window.
std::vector<float> window_attention(const PromptKeys& keys, const float* queries, int head, int kv_head,
                                    const ModelConfig& c, int window) {
  const int length = keys.length();
  const int scored = length - window;
  const int d = c.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  std::vector<float> sums(static_cast<std::size_t>(scored), 0.0f);
  std::vector<float> row(static_cast<std::size_t>(length));
  const KvType type = keys.type();
  const std::size_t stride = keys.row_bytes();
  for (int t = 0; t < window; ++t) {
    const float* q = queries + (static_cast<std::size_t>(t) * c.heads + head) * d;
    const int visible = scored + t + 1;  // causal: the query at position scored + t sees keys up to itself
    // Keys are read in their stored type; the scores themselves are f32.
    const int from_base = std::min(visible, keys.base_length);
    if (from_base > 0) score_kv_rows(type, q, keys.key_row(kv_head, 0), stride, from_base, d, scale, row.data());
    if (visible > from_base) {
      score_kv_rows(type, q, keys.key_row(kv_head, from_base), stride, visible - from_base, d, scale,
                    row.data() + from_base);
    }
    float max_score = -std::numeric_limits<float>::infinity();
    for (int j = 0; j < visible; ++j) max_score = std::max(max_score, row[j]);
    const float inverse = 1.0f / exp_shifted_in_place(row.data(), visible, max_score);
    for (int j = 0; j < scored; ++j) sums[j] += row[j] * inverse;
  }
  return sums;
}

}  // namespace

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
  std::vector<std::vector<float>> per_query_head(static_cast<std::size_t>(c.heads));
  pool.parallel_for(c.heads, [&](int h, int) {
    per_query_head[h] = window_attention(keys, window_queries, h, h / group, c, params.window);
  });

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
