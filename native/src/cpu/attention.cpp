#include "cpu/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "common/engine_error.h"
#include "cpu/attention_tile.h"
#include "cpu/thread_pool.h"
#include "kv/kv_cache.h"

namespace snapkv {

namespace {

// Query rows per block: all the query heads of a cache head times as many
// tokens as make about this many rows, so each widened tile serves them all.
constexpr int kRowsPerBlock = 64;
// Below this many blocks per thread, tiles are shared among threads too
// (a decode step has one block per cache head).
constexpr int kBlocksPerThread = 2;
// A thread's share of a split is at least this many tiles.
constexpr int kTilesPerShare = 4;

struct Layout {
  int d, heads, group, block_tokens, blocks, first_key;  // first_key: the last key query 0 sees
  float scale;
};

// The rows of block `block` of cache head `ch`: token-major, then the group's heads.
void fill_rows(const Layout& at, const float* q, int tokens, int ch, int block, QueryBlock& rows) {
  const int t0 = block * at.block_tokens;
  const int t_end = std::min(tokens, t0 + at.block_tokens);
  rows.reset((t_end - t0) * at.group, at.d, at.scale);
  for (int t = t0; t < t_end; ++t) {
    for (int g = 0; g < at.group; ++g) {
      const int h = ch * at.group + g;
      rows.set_row((t - t0) * at.group + g, q + (static_cast<std::size_t>(t) * at.heads + h) * at.d, at.first_key + t);
    }
  }
}

void write_block(const Layout& at, const QueryBlock& rows, const PartialView& done, int ch, int block, float* out) {
  write_rows(rows, done, [&](int r) {
    const int t = block * at.block_tokens + r / at.group;
    const int h = ch * at.group + r % at.group;
    return out + (static_cast<std::size_t>(t) * at.heads + h) * at.d;
  });
}

// Scratch of one worker, kept between calls: no allocation per layer.
struct Workspace {
  QueryBlock rows;
  KvTile tile;
  std::vector<float> scores, running, partial;
  void fit(const QueryBlock& r) {
    scores.resize(static_cast<std::size_t>(kKeyTile) * r.padded());
    running.resize(partial_floats(r));
    partial.resize(partial_floats(r));
  }
};

Workspace& workspace() {
  thread_local Workspace w;
  return w;
}

int tile_count(int last_key) { return last_key / kKeyTile + 1; }

// Tile i for rows that see keys up to last_key: its first key and count.
void load_tile_for(const AttentionSource& source, int ch, int i, int last_key, KvTile& tile) {
  const int first = i * kKeyTile;
  load_tile(source, ch, first, std::min(kKeyTile, last_key + 1 - first), tile);
}

}  // namespace

void causal_attention(const float* q, const AttentionSource& source, int past, int tokens, int heads, float* out,
                      ThreadPool& pool) {
  if (tokens <= 0) return;
  const KvCache& own = *source.own;
  const int cache_heads = own.heads();
  if (heads % cache_heads != 0) {
    fail(ErrorCode::InvalidArgument, "attention of ", heads, " query heads over ", cache_heads,
         " cache heads: the query heads must split evenly");
  }
  Layout at;
  at.d = own.head_dim();
  at.heads = heads;
  at.group = heads / cache_heads;
  at.block_tokens = std::max(1, std::min(tokens, kRowsPerBlock / at.group));
  at.blocks = (tokens + at.block_tokens - 1) / at.block_tokens;
  at.first_key = (source.base ? source.base_length : 0) + past;
  at.scale = 1.0f / std::sqrt(static_cast<float>(at.d));
  const int jobs = cache_heads * at.blocks;
  const int longest = tile_count(at.first_key + tokens - 1);
  const int shares = jobs >= kBlocksPerThread * pool.size()
                         ? 1
                         : std::max(1, std::min(longest / kTilesPerShare, (kBlocksPerThread * pool.size() + jobs - 1) / jobs));

  if (shares == 1) {
    // Later blocks see more tiles: they go first, so the threads finish together.
    pool.parallel_for(jobs, [&](int job, int) {
      const int block = at.blocks - 1 - job / cache_heads;
      const int ch = job % cache_heads;
      Workspace& w = workspace();
      fill_rows(at, q, tokens, ch, block, w.rows);
      w.fit(w.rows);
      const PartialView running = view_at(w.rows, w.running.data());
      const PartialView partial = view_at(w.rows, w.partial.data());
      clear_partial(w.rows, running);
      const int last_key = w.rows.last_limit();
      for (int i = 0; i < tile_count(last_key); ++i) {
        load_tile_for(source, ch, i, last_key, w.tile);
        attend_tile(w.rows, w.tile, w.scores.data(), partial);
        merge_partial(w.rows, running, partial);
      }
      write_block(at, w.rows, running, ch, block, out);
    });
    return;
  }

  // Few blocks, many keys (decode): each block's tiles are shared among
  // threads and every tile's partial is kept; the share that finishes a
  // block last merges its partials in tile order, as the unshared path does.
  thread_local std::vector<float> kept_partials;  // the calling thread's; workers reach it through `partials`
  QueryBlock largest_rows;
  fill_rows(at, q, tokens, 0, 0, largest_rows);
  const std::size_t per_partial = partial_floats(largest_rows);
  kept_partials.resize(per_partial * static_cast<std::size_t>(longest) * jobs);
  float* const partials = kept_partials.data();
  std::vector<std::atomic<int>> finished(static_cast<std::size_t>(jobs));
  for (auto& f : finished) f.store(0);
  pool.parallel_for(jobs * shares, [&](int task, int) {
    const int job = task / shares, share = task % shares;
    const int block = job / cache_heads, ch = job % cache_heads;
    Workspace& w = workspace();
    fill_rows(at, q, tokens, ch, block, w.rows);
    w.fit(w.rows);
    const int last_key = w.rows.last_limit();
    const int tiles = tile_count(last_key);
    const auto slot = [&](int i) { return view_at(w.rows, partials + (static_cast<std::size_t>(job) * longest + i) * per_partial); };
    for (int i = tiles * share / shares; i < tiles * (share + 1) / shares; ++i) {
      load_tile_for(source, ch, i, last_key, w.tile);
      attend_tile(w.rows, w.tile, w.scores.data(), slot(i));
    }
    // acq_rel: the last share sees every other share's partials.
    if (finished[job].fetch_add(1, std::memory_order_acq_rel) != shares - 1) return;
    const PartialView running = view_at(w.rows, w.running.data());
    clear_partial(w.rows, running);
    for (int i = 0; i < tiles; ++i) merge_partial(w.rows, running, slot(i));
    write_block(at, w.rows, running, ch, block, out);
  });
}

}  // namespace snapkv
