#pragma once
// The unit of the CPU's attention (cpu/attention.cpp): a block of query rows
// that share one cache head against one tile of its keys and values.
//
// Tiles are kKeyTile keys long and sit at fixed multiples of kKeyTile in the
// prompt (base slots first, then own slots, as one sequence). A row's tile
// gives a partial softmax: the tile's largest score, the sum of exp(score -
// largest) and the sum of those weights times the values; the partials of a
// row are merged in tile order. Every step is lane-wise (lanes are rows), so a
// query's result depends only on its position and the keys before it: not on
// the batch it came in, the rows beside it, or how tiles were shared among
// threads. Prefill, decode, one-shot and compact caches agree bit for bit.
//
// Keys and values are widened to f32 once per tile and read by every row of
// the block: all the query heads of a KV head (GQA) and several tokens.
#include <cstddef>
#include <vector>

#include "cpu/attention.h"

namespace snapkv {

constexpr int kKeyTile = 64;

// Query rows transposed so that lanes are rows, pre-scaled by 1/sqrt(d), each
// with the last key position it sees (causality).
class QueryBlock {
 public:
  // `count` rows of `d`; rows are then set one by one.
  void reset(int count, int d, float scale);
  void set_row(int r, const float* q, int last_key);

  int count() const { return count_; }
  int padded() const { return padded_; }  // rows rounded up to the lane width
  int width() const { return width_; }    // lanes per vector: few rows take the narrow vectors
  int d() const { return d_; }
  int first_limit() const { return first_limit_; }  // the smallest last key of the block's rows
  int last_limit() const { return last_limit_; }    // the largest
  const float* transposed() const { return qt_.data(); }  // [d][padded]
  const float* limits() const { return limits_.data(); }  // [padded], -1 for padding rows

 private:
  int count_ = 0, padded_ = 0, width_ = 1, d_ = 0, first_limit_ = 0, last_limit_ = -1;
  float scale_ = 1.0f;
  std::vector<float> qt_, limits_;
};

// Keys and values [first, first + count) of the sequence `source` names, for
// one cache head, widened to f32 rows of d (exactly as decode_kv_row widens).
struct KvTile {
  int first = 0, count = 0;
  std::vector<float> keys, values;  // [kKeyTile][d]; rows past count are stale and never weigh in
};
// Without `with_values` only the keys are read (scoring alone).
void load_tile(const AttentionSource& source, int cache_head, int first, int count, KvTile& tile,
               bool with_values = true);

// A partial softmax per row over some keys: max[padded], sum[padded], acc[d][padded].
struct PartialView {
  float* max;
  float* sum;
  float* acc;
};
// Floats one PartialView of `rows` needs; view_at lays one out at `floats`.
inline std::size_t partial_floats(const QueryBlock& rows) {
  return static_cast<std::size_t>(rows.padded()) * (rows.d() + 2);
}
inline PartialView view_at(const QueryBlock& rows, float* floats) {
  return PartialView{floats, floats + rows.padded(), floats + 2 * static_cast<std::size_t>(rows.padded())};
}

// The empty partial: max -inf, sums 0.
void clear_partial(const QueryBlock& rows, PartialView partial);
// The rows' partials over one tile. `scores` is scratch of kKeyTile * padded floats.
void attend_tile(const QueryBlock& rows, const KvTile& tile, float* scores, PartialView out);
// running := running merged with `tile` (the next tile in order).
void merge_partial(const QueryBlock& rows, PartialView running, const PartialView& tile);
// SnapKV's scoring needs each row's probabilities, normalised over every key
// it sees, so it runs two passes: the totals of every tile merged in order,
// then each tile's probabilities.
// This tile's largest score per row and the sum of exp(score - largest);
// `scores` is left holding the weights exp(score - largest).
void tile_totals(const QueryBlock& rows, const KvTile& tile, float* scores, float* max, float* sum);
// (max, sum) := merged with the next tile's totals.
void merge_totals(const QueryBlock& rows, float* max, float* sum, const float* tile_max, const float* tile_sum);
// scores[j][row] = exp(score - max[row]) / sum[row]: 0 past the row's last key.
void tile_probabilities(const QueryBlock& rows, const KvTile& tile, const float* max, const float* sum, float* scores);

// tile_totals' weights (of its first `count` keys) to probabilities, in place:
// times exp(tile_max - max) / sum. Saves scoring the tile again.
void weights_to_probabilities(const QueryBlock& rows, int count, const float* tile_max, const float* max,
                              const float* sum, float* weights);

// Row r's output acc / sum into out + r's offset: `row_out(r)` gives where.
template <typename RowOut>
void write_rows(const QueryBlock& rows, const PartialView& done, RowOut row_out) {
  const int padded = rows.padded();
  for (int r = 0; r < rows.count(); ++r) {
    float* result = row_out(r);
    const float inverse = 1.0f / done.sum[r];
    for (int c = 0; c < rows.d(); ++c) result[c] = done.acc[static_cast<std::size_t>(c) * padded + r] * inverse;
  }
}

}  // namespace snapkv
