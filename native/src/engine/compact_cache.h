#pragma once
// The result of compressing a prompt with SnapKV: a small cache that
// generation continues from, and what it kept.
#include <memory>
#include <vector>

#include "engine/sequence.h"
#include "snapkv/selection.h"

namespace snapkv {

struct CompactCache {
  std::shared_ptr<Sequence> sequence;        // slots: the kept entries; next position: the prompt length
  std::vector<std::vector<KeptHead>> kept;   // [layer][cache head]
  int prompt_length = 0;
};

// Options shared by prefix queries and one-shot compression.
struct CompressOptions {
  SnapKvParams snapkv;
  int reserve_tokens = 1024;  // room in the compact cache for generated tokens
  int chunk_tokens = 256;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(int done, int total)> on_progress;
};

// An empty compact cache sized for `kept_per_head` entries plus the reserve.
CompactCache make_compact_cache(const Model& model, const CompressOptions& options, int prompt_length);

// Copies one layer's kept keys and values into the compact cache, in the
// order of each head's positions. Cache head ch of a cache with one head per
// query head reads KV head ch * kv_heads / heads.
void gather_kept(const PromptKeys& keys, const std::vector<KeptHead>& kept, KvCache& compact, int layer,
                 const ModelConfig& config);

// The entries every cache head keeps: the whole prompt when it fits the budget.
int kept_per_head(int prompt_length, const SnapKvParams& params);

}  // namespace snapkv
