#include "engine/one_shot_plan.h"

#include <algorithm>

namespace snapkv {

OneShotMemory one_shot_memory(const ModelConfig& c, const SnapKvParams& params, int reserve_tokens, long long length,
                              const OneShotSizes& sizes) {
  const auto n = static_cast<std::size_t>(std::max(0LL, length));
  const std::size_t cache_heads = params.gqa == GqaMode::Mean ? c.kv_heads : c.heads;
  const auto kept = static_cast<std::size_t>(std::min<long long>(length, params.budget));
  const bool keep_all = length < params.budget;
  OneShotMemory m;
  // Prompts up to a chunk use the backend's reusable row buffers, counted as working memory.
  const std::size_t rows = static_cast<std::size_t>(sizes.chunk_rows);
  m.hidden = n * (static_cast<std::size_t>(c.hidden) * sizeof(float) + 2 * sizeof(int));
  if (n <= rows) m.hidden = 0;
  m.layer_kv = 2 * static_cast<std::size_t>(c.kv_heads) * n * sizes.kv_row_bytes;
  const std::size_t scored = keep_all ? 0 : n - static_cast<std::size_t>(params.window);
  m.selection = cache_heads * kept * (sizeof(int) + sizeof(float));
  if (!keep_all) {
    m.selection += static_cast<std::size_t>(sizes.window_query_layers) * params.window * c.q_dim() *
                       sizes.window_query_value_bytes +
                   (2 * cache_heads + static_cast<std::size_t>(sizes.score_rows_per_query_head) * c.heads) * scored *
                       sizeof(float) +
                   sizes.score_workspace;
  }
  m.compact = static_cast<std::size_t>(c.layers) * 2 * cache_heads *
              (kept + static_cast<std::size_t>(std::max(1, reserve_tokens))) * sizes.kv_row_bytes;
  // The reusable buffers in full: an earlier call may have grown them so.
  m.working = sizes.chunk_scratch + static_cast<std::size_t>(c.vocab) * sizeof(float) +
              rows * (static_cast<std::size_t>(c.hidden) * sizeof(float) + 2 * sizeof(int)) +
              static_cast<std::size_t>(sizes.attention_rows) * n * sizeof(float);
  return m;
}

long long longest_one_shot(const ModelConfig& c, const SnapKvParams& params, int reserve_tokens,
                           const OneShotSizes& sizes, std::size_t available, long long limit) {
  auto fits = [&](long long length) {
    return one_shot_memory(c, params, reserve_tokens, length, sizes).total() <= available;
  };
  if (limit < 1 || !fits(1)) return 0;
  // Memory grows with the length (step at the budget aside, where it jumps
  // by the scores): a binary search over [1, limit] for the last length that fits.
  long long lo = 1, hi = limit;
  if (fits(hi)) return hi;
  while (hi - lo > 1) {
    const long long mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

}  // namespace snapkv
