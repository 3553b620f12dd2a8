#include "cpu/attention_tile.h"

#include <algorithm>

#include "cpu/attention_lanes.h"
#include "kv/kv_cache.h"
#include "kv/kv_rows.h"

namespace snapkv {

namespace {

// Keys scored together and value columns summed together: a register block of
// up to 2 row vectors by 8 keys (or columns), 16 accumulators.
constexpr int kKeysAtOnce = 8;
constexpr int kColumnsAtOnce = 8;
static_assert(kKeyTile % kKeysAtOnce == 0, "a tile holds whole key blocks");

// scores[j][row vectors v0..v0+NV) = q . key j, a chain of FMAs over the head
// in order: the same for every lane and width.
template <typename L, int NV>
void score_keys(const float* qt, int padded, const float* keys, int d, int v0, int j0, float* scores) {
  using V = typename L::V;
  V acc[NV][kKeysAtOnce];
  for (auto& row : acc) {
    for (V& a : row) a = L::zero();
  }
  for (int c = 0; c < d; ++c) {
    V q[NV];
    for (int v = 0; v < NV; ++v) q[v] = L::load(qt + static_cast<std::size_t>(c) * padded + (v0 + v) * L::kWidth);
    for (int j = 0; j < kKeysAtOnce; ++j) {
      const V k = L::set1(keys[static_cast<std::size_t>(j0 + j) * d + c]);
      for (int v = 0; v < NV; ++v) acc[v][j] = L::fma(q[v], k, acc[v][j]);
    }
  }
  for (int j = 0; j < kKeysAtOnce; ++j) {
    for (int v = 0; v < NV; ++v) L::store(scores + static_cast<std::size_t>(j0 + j) * padded + (v0 + v) * L::kWidth, acc[v][j]);
  }
}

// acc[c][rows] = sum over keys j < count, in order, of weight[j][row] * value[j][c].
template <typename L, int NV, int C>
void weigh_values(const float* weights, int padded, const float* values, int d, int count, int v0, int c0,
                  float* acc_out) {
  using V = typename L::V;
  V acc[NV][C];
  for (auto& row : acc) {
    for (V& a : row) a = L::zero();
  }
  for (int j = 0; j < count; ++j) {
    V w[NV];
    for (int v = 0; v < NV; ++v) w[v] = L::load(weights + static_cast<std::size_t>(j) * padded + (v0 + v) * L::kWidth);
    const float* value = values + static_cast<std::size_t>(j) * d + c0;
    for (int cc = 0; cc < C; ++cc) {
      const V x = L::set1(value[cc]);
      for (int v = 0; v < NV; ++v) acc[v][cc] = L::fma(w[v], x, acc[v][cc]);
    }
  }
  for (int cc = 0; cc < C; ++cc) {
    for (int v = 0; v < NV; ++v) L::store(acc_out + static_cast<std::size_t>(c0 + cc) * padded + (v0 + v) * L::kWidth, acc[v][cc]);
  }
}

template <typename L, int NV>
void weigh_all_columns(const float* weights, int padded, const float* values, int d, int count, int v0, float* acc) {
  int c0 = 0;
  for (; c0 + kColumnsAtOnce <= d; c0 += kColumnsAtOnce) weigh_values<L, NV, kColumnsAtOnce>(weights, padded, values, d, count, v0, c0, acc);
  for (; c0 < d; ++c0) weigh_values<L, NV, 1>(weights, padded, values, d, count, v0, c0, acc);
}

// scores[j][row] = q . key j (scaled), -inf past each row's last key.
template <typename L>
void score_tile_in(const QueryBlock& rows, const KvTile& tile, float* scores) {
  const int padded = rows.padded(), d = rows.d();
  const int vectors = padded / L::kWidth;
  const int key_blocks = (tile.count + kKeysAtOnce - 1) / kKeysAtOnce;
  const float* qt = rows.transposed();
  for (int b = 0; b < key_blocks; ++b) {
    int v = 0;
    for (; v + 2 <= vectors; v += 2) score_keys<L, 2>(qt, padded, tile.keys.data(), d, v, b * kKeysAtOnce, scores);
    for (; v < vectors; ++v) score_keys<L, 1>(qt, padded, tile.keys.data(), d, v, b * kKeysAtOnce, scores);
  }
  // Causal mask only where the tile reaches past some row's last key.
  if (tile.first + tile.count - 1 <= rows.first_limit()) return;
  for (int v = 0; v < vectors; ++v) {
    const std::size_t lane = static_cast<std::size_t>(v) * L::kWidth;
    const typename L::V limit = L::load(rows.limits() + lane);
    for (int j = 0; j < tile.count; ++j) {
      float* s = scores + static_cast<std::size_t>(j) * padded + lane;
      L::store(s, L::mask_after(L::load(s), L::set1(static_cast<float>(tile.first + j)), limit));
    }
  }
}

// Scores to exp(score - the tile's largest); the largest and the sum per row.
template <typename L>
void tile_softmax_in(const QueryBlock& rows, const KvTile& tile, float* scores, float* max, float* sum) {
  using V = typename L::V;
  const int padded = rows.padded();
  for (int lane = 0; lane < padded; lane += L::kWidth) {
    V largest = L::set1(lanes::kNegInf);
    for (int j = 0; j < tile.count; ++j) largest = L::max(largest, L::load(scores + static_cast<std::size_t>(j) * padded + lane));
    // A row that sees none of the tile has largest -inf: shifting by 0 keeps its weights exactly 0.
    const V shift = L::replace_neg_inf(largest, L::zero());
    V total = L::zero();
    for (int j = 0; j < tile.count; ++j) {
      float* s = scores + static_cast<std::size_t>(j) * padded + lane;
      const V weight = lanes::exp<L>(L::sub(L::load(s), shift));
      L::store(s, weight);
      total = L::add(total, weight);
    }
    L::store(max + lane, largest);
    L::store(sum + lane, total);
  }
}

template <typename L>
void attend_tile_in(const QueryBlock& rows, const KvTile& tile, float* scores, PartialView out) {
  score_tile_in<L>(rows, tile, scores);
  tile_softmax_in<L>(rows, tile, scores, out.max, out.sum);
  const int padded = rows.padded(), vectors = padded / L::kWidth;
  int v = 0;
  for (; v + 2 <= vectors; v += 2) weigh_all_columns<L, 2>(scores, padded, tile.values.data(), rows.d(), tile.count, v, out.acc);
  for (; v < vectors; ++v) weigh_all_columns<L, 1>(scores, padded, tile.values.data(), rows.d(), tile.count, v, out.acc);
}

template <typename L>
void probabilities_in(const QueryBlock& rows, const KvTile& tile, const float* max, const float* sum, float* scores) {
  using V = typename L::V;
  score_tile_in<L>(rows, tile, scores);
  const int padded = rows.padded();
  for (int lane = 0; lane < padded; lane += L::kWidth) {
    const V shift = L::replace_neg_inf(L::load(max + lane), L::zero());
    const V inverse = L::div(L::set1(1.0f), L::load(sum + lane));
    for (int j = 0; j < tile.count; ++j) {
      float* s = scores + static_cast<std::size_t>(j) * padded + lane;
      L::store(s, L::mul(lanes::exp<L>(L::sub(L::load(s), shift)), inverse));
    }
  }
}

// running := running merged with tile, over `d` value columns (0: the totals alone).
template <typename L>
void merge_in(int padded, int d, PartialView running, const PartialView& tile) {
  using V = typename L::V;
  for (int lane = 0; lane < padded; lane += L::kWidth) {
    const V old_max = L::load(running.max + lane), tile_max = L::load(tile.max + lane);
    const V new_max = L::max(old_max, tile_max);
    const V shift = L::replace_neg_inf(new_max, L::zero());
    const V keep = lanes::exp<L>(L::sub(old_max, shift));
    const V take = lanes::exp<L>(L::sub(tile_max, shift));
    L::store(running.max + lane, new_max);
    L::store(running.sum + lane, L::fma(L::load(running.sum + lane), keep, L::mul(L::load(tile.sum + lane), take)));
    for (int c = 0; c < d; ++c) {
      float* acc = running.acc + static_cast<std::size_t>(c) * padded + lane;
      const float* add = tile.acc + static_cast<std::size_t>(c) * padded + lane;
      L::store(acc, L::fma(L::load(acc), keep, L::mul(L::load(add), take)));
    }
  }
}

// Rows of one segment (base or own) of the sequence into `out`.
void widen_segment(const KvCache& cache, int layer, int cache_head, int first_slot, int count, float* keys,
                   float* values) {
  const std::size_t offset = static_cast<std::size_t>(first_slot) * cache.row_bytes();
  widen_kv_rows(cache.type(), cache.key_rows(layer, cache_head) + offset, cache.row_bytes(), count, cache.head_dim(), keys);
  if (values == nullptr) return;
  widen_kv_rows(cache.type(), cache.value_rows(layer, cache_head) + offset, cache.row_bytes(), count, cache.head_dim(),
                values);
}

template <typename L>
void rescale_in(const QueryBlock& rows, int count, const float* tile_max, const float* max, const float* sum,
                float* weights) {
  using V = typename L::V;
  const int padded = rows.padded();
  for (int lane = 0; lane < padded; lane += L::kWidth) {
    const V shift = L::replace_neg_inf(L::load(max + lane), L::zero());
    const V factor = L::div(lanes::exp<L>(L::sub(L::load(tile_max + lane), shift)), L::load(sum + lane));
    for (int j = 0; j < count; ++j) {
      float* w = weights + static_cast<std::size_t>(j) * padded + lane;
      L::store(w, L::mul(L::load(w), factor));
    }
  }
}

}  // namespace

void QueryBlock::reset(int count, int d, float scale) {
  count_ = count;
  d_ = d;
  scale_ = scale;
  width_ = count <= lanes::Narrow::kWidth ? lanes::Narrow::kWidth : lanes::Wide::kWidth;
  padded_ = (count + width_ - 1) / width_ * width_;
  qt_.assign(static_cast<std::size_t>(d) * padded_, 0.0f);
  limits_.assign(static_cast<std::size_t>(padded_), -1.0f);
  first_limit_ = 0;
  last_limit_ = -1;
}

void QueryBlock::set_row(int r, const float* q, int last_key) {
  for (int c = 0; c < d_; ++c) qt_[static_cast<std::size_t>(c) * padded_ + r] = q[c] * scale_;
  limits_[r] = static_cast<float>(last_key);
  first_limit_ = last_limit_ < 0 ? last_key : std::min(first_limit_, last_key);
  last_limit_ = std::max(last_limit_, last_key);
}

void load_tile(const AttentionSource& source, int cache_head, int first, int count, KvTile& tile, bool with_values) {
  const KvCache& own = *source.own;
  const int d = own.head_dim();
  tile.first = first;
  tile.count = count;
  tile.keys.resize(static_cast<std::size_t>(kKeyTile) * d);
  tile.values.resize(with_values ? tile.keys.size() : 0);
  const int base_length = source.base ? source.base_length : 0;
  const int from_base = std::max(0, std::min(count, base_length - first));
  if (from_base > 0) {
    widen_segment(*source.base, source.base_layer, cache_head, first, from_base, tile.keys.data(),
                  with_values ? tile.values.data() : nullptr);
  }
  if (count > from_base) {
    const std::size_t row = static_cast<std::size_t>(from_base) * d;
    widen_segment(own, source.own_layer, cache_head, first + from_base - base_length, count - from_base,
                  tile.keys.data() + row, with_values ? tile.values.data() + row : nullptr);
  }
}

void clear_partial(const QueryBlock& rows, PartialView partial) {
  std::fill(partial.max, partial.max + rows.padded(), lanes::kNegInf);
  std::fill(partial.sum, partial.sum + rows.padded(), 0.0f);
  std::fill(partial.acc, partial.acc + static_cast<std::size_t>(rows.padded()) * rows.d(), 0.0f);
}

void attend_tile(const QueryBlock& rows, const KvTile& tile, float* scores, PartialView out) {
  if (rows.width() == lanes::Narrow::kWidth) {
    attend_tile_in<lanes::Narrow>(rows, tile, scores, out);
  } else {
    attend_tile_in<lanes::Wide>(rows, tile, scores, out);
  }
}

void merge_partial(const QueryBlock& rows, PartialView running, const PartialView& tile) {
  if (rows.width() == lanes::Narrow::kWidth) {
    merge_in<lanes::Narrow>(rows.padded(), rows.d(), running, tile);
  } else {
    merge_in<lanes::Wide>(rows.padded(), rows.d(), running, tile);
  }
}

void tile_totals(const QueryBlock& rows, const KvTile& tile, float* scores, float* max, float* sum) {
  if (rows.width() == lanes::Narrow::kWidth) {
    score_tile_in<lanes::Narrow>(rows, tile, scores);
    tile_softmax_in<lanes::Narrow>(rows, tile, scores, max, sum);
  } else {
    score_tile_in<lanes::Wide>(rows, tile, scores);
    tile_softmax_in<lanes::Wide>(rows, tile, scores, max, sum);
  }
}

void merge_totals(const QueryBlock& rows, float* max, float* sum, const float* tile_max, const float* tile_sum) {
  const PartialView running{max, sum, nullptr};
  const PartialView tile{const_cast<float*>(tile_max), const_cast<float*>(tile_sum), nullptr};
  if (rows.width() == lanes::Narrow::kWidth) {
    merge_in<lanes::Narrow>(rows.padded(), 0, running, tile);
  } else {
    merge_in<lanes::Wide>(rows.padded(), 0, running, tile);
  }
}

void weights_to_probabilities(const QueryBlock& rows, int count, const float* tile_max, const float* max,
                              const float* sum, float* weights) {
  if (rows.width() == lanes::Narrow::kWidth) {
    rescale_in<lanes::Narrow>(rows, count, tile_max, max, sum, weights);
  } else {
    rescale_in<lanes::Wide>(rows, count, tile_max, max, sum, weights);
  }
}

void tile_probabilities(const QueryBlock& rows, const KvTile& tile, const float* max, const float* sum, float* scores) {
  if (rows.width() == lanes::Narrow::kWidth) {
    probabilities_in<lanes::Narrow>(rows, tile, max, sum, scores);
  } else {
    probabilities_in<lanes::Wide>(rows, tile, max, sum, scores);
  }
}

}  // namespace snapkv
