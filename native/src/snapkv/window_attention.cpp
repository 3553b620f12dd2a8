#include "snapkv/window_attention.h"

#include <algorithm>
#include <cmath>

#include "cpu/attention_tile.h"
#include "cpu/thread_pool.h"
#include "model/model_config.h"
#include "snapkv/selection.h"

namespace snapkv {

namespace {


// Rows of KV head `kv_head`: window query t, then the heads of its group.
void fill_window_rows(const float* queries, int window, int scored, int kv_head, const ModelConfig& c, QueryBlock& rows) {
  const int group = c.heads / c.kv_heads;
  rows.reset(window * group, c.head_dim, 1.0f / std::sqrt(static_cast<float>(c.head_dim)));
  for (int t = 0; t < window; ++t) {
    for (int g = 0; g < group; ++g) {
      const float* q = queries + (static_cast<std::size_t>(t) * c.heads + kv_head * group + g) * c.head_dim;
      rows.set_row(t * group + g, q, scored + t);  // causal: the query at scored + t sees keys up to itself
    }
  }
}

struct Scratch {
  KvTile tile;
  std::vector<float> scores;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

std::vector<std::vector<float>> window_attention_sums(const PromptKeys& keys, const float* window_queries, int window,
                                                      const ModelConfig& c, ThreadPool& pool,
                                                      std::size_t kept_weight_floats) {
  const int length = keys.length();
  const int scored = length - window;
  const int group = c.heads / c.kv_heads;
  const int tiles = (length - 1) / kKeyTile + 1;
  const int scored_tiles = scored > 0 ? (scored - 1) / kKeyTile + 1 : 0;
  AttentionSource source;
  source.base = keys.base;
  source.base_length = keys.base ? keys.base_length : 0;
  source.base_layer = keys.base_layer;
  source.own = keys.own;
  source.own_layer = keys.own_layer;
  std::vector<QueryBlock> rows(static_cast<std::size_t>(c.kv_heads));
  for (int kv_head = 0; kv_head < c.kv_heads; ++kv_head) fill_window_rows(window_queries, window, scored, kv_head, c, rows[kv_head]);
  const int padded = rows[0].padded();
  // Pass 1: every tile's totals (largest score, sum of exponentials) per row,
  // merged in tile order: the normalisers, the same whatever the threads. The
  // scored tiles' weights are kept when they fit kept_weight_floats, so pass 2
  // rescales them instead of scoring again (the results differ in the last bits).
  std::vector<float> totals(static_cast<std::size_t>(c.kv_heads) * tiles * 2 * padded);
  const auto totals_of = [&](int kv_head, int i) {
    return totals.data() + (static_cast<std::size_t>(kv_head) * tiles + i) * 2 * padded;
  };
  const std::size_t tile_floats = static_cast<std::size_t>(kKeyTile) * padded;
  const std::size_t kept_floats = tile_floats * scored_tiles * c.kv_heads;
  // Kept by the calling thread from layer to layer: its pages are touched once, not per layer.
  thread_local std::vector<float> kept_weights;
  // A question's pass holds the whole prefix already; a one-shot pass (no
  // base) exists to hold one layer's keys and no more, so it scores twice.
  const bool keep = keys.base != nullptr && keys.base_length > 0 && kept_floats <= kept_weight_floats;
  if (keep && kept_weights.size() < kept_floats) kept_weights.resize(kept_floats);
  float* const kept = keep ? kept_weights.data() : nullptr;
  const auto kept_of = [&](int kv_head, int i) {
    return kept + (static_cast<std::size_t>(kv_head) * scored_tiles + i) * tile_floats;
  };
  pool.parallel_for(c.kv_heads * tiles, [&](int task, int) {
    const int kv_head = task / tiles, i = task % tiles;
    Scratch& s = scratch();
    s.scores.resize(tile_floats);
    load_tile(source, kv_head, i * kKeyTile, std::min(kKeyTile, length - i * kKeyTile), s.tile, false);
    float* out = totals_of(kv_head, i);
    float* weights = keep && i < scored_tiles ? kept_of(kv_head, i) : s.scores.data();
    tile_totals(rows[kv_head], s.tile, weights, out, out + padded);
  });
  std::vector<float> final_totals(static_cast<std::size_t>(c.kv_heads) * 2 * padded);
  for (int kv_head = 0; kv_head < c.kv_heads; ++kv_head) {
    float* running = final_totals.data() + static_cast<std::size_t>(kv_head) * 2 * padded;
    std::copy(totals_of(kv_head, 0), totals_of(kv_head, 0) + 2 * padded, running);
    for (int i = 1; i < tiles; ++i) merge_totals(rows[kv_head], running, running + padded, totals_of(kv_head, i), totals_of(kv_head, i) + padded);
  }

  // Pass 2: each scored tile's probabilities, summed over the window queries
  // in order, per query head. Columns are independent: any thread takes any tile.
  std::vector<std::vector<float>> sums(static_cast<std::size_t>(c.heads), std::vector<float>(static_cast<std::size_t>(std::max(0, scored))));
  pool.parallel_for(c.kv_heads * scored_tiles, [&](int task, int) {
    const int kv_head = task / scored_tiles, i = task % scored_tiles;
    const int first = i * kKeyTile;
    const int count = std::min(kKeyTile, scored - first);
    const float* final_max = final_totals.data() + static_cast<std::size_t>(kv_head) * 2 * padded;
    const float* final_sum = final_max + padded;
    float* probabilities;
    if (keep) {
      probabilities = kept_of(kv_head, i);
      weights_to_probabilities(rows[kv_head], count, totals_of(kv_head, i), final_max, final_sum, probabilities);
    } else {
      Scratch& s = scratch();
      s.scores.resize(tile_floats);
      load_tile(source, kv_head, first, count, s.tile, false);
      probabilities = s.scores.data();
      tile_probabilities(rows[kv_head], s.tile, final_max, final_sum, probabilities);
    }
    for (int g = 0; g < group; ++g) {
      float* column = sums[static_cast<std::size_t>(kv_head) * group + g].data() + first;
      for (int j = 0; j < count; ++j) {
        const float* p = probabilities + static_cast<std::size_t>(j) * padded + g;
        float total = 0.0f;
        for (int t = 0; t < window; ++t) total += p[static_cast<std::size_t>(t) * group];
        column[j] = total;
      }
    }
  });
  return sums;
}

}  // namespace snapkv
