#pragma once
// SnapKV's choice of prompt positions for one layer (DESIGN.md section 3).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kv/kv_type.h"
#include "snapkv/snapkv_params.h"

namespace snapkv {

class KvCache;
class ThreadPool;
struct ModelConfig;

// A layer's prompt keys in position order: `base_length` slots of `base`
// (may be null), then `own_length` slots of `own`. Slot i holds position i.
struct PromptKeys {
  const KvCache* base = nullptr;
  int base_length = 0;
  int base_layer = 0;
  const KvCache* own = nullptr;
  int own_length = 0;
  int own_layer = 0;

  int length() const { return base_length + own_length; }
  // Both caches hold one KvType (they are made from the same model); this fails otherwise.
  KvType type() const;
  std::size_t row_bytes() const;
  // The stored row of a position, row_bytes() long.
  const std::uint8_t* key_row(int head, int position) const;
  const std::uint8_t* value_row(int head, int position) const;
};

// What one cache head keeps: positions ascending (the window's last), each
// with its pooled score. Window positions score +infinity; when the whole
// prompt fits the budget every position is kept and scores are NaN.
struct KeptHead {
  std::vector<int> positions;
  std::vector<float> scores;
};

// window_queries: the last `params.window` prompt positions' queries (RoPE
// applied), window rows of heads x head_dim. Returns one KeptHead per cache
// head: kv_heads of them for GqaMode::Mean, heads for GqaMode::Repeat.
std::vector<KeptHead> select_positions(const PromptKeys& keys, const float* window_queries, const SnapKvParams& params,
                                       const ModelConfig& config, ThreadPool& pool);

// Pools scores along positions: width `kernel`, stride 1, padding kernel / 2;
// max pooling pads with -infinity, average pooling counts padding as zeros.
std::vector<float> pool_scores(const std::vector<float>& scores, int kernel, Pooling pooling);

// The `count` highest scores' indices (ties: the lower index), ascending.
std::vector<int> top_positions(const std::vector<float>& scores, int count);

}  // namespace snapkv
