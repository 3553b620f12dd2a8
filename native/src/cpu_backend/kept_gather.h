#pragma once
// The CPU's gather of what SnapKV kept into a compact cache.
#include <vector>

#include "snapkv/selection.h"

namespace snapkv {

class KvCache;
struct ModelConfig;

// Copies one layer's kept keys and values into the compact cache, in the
// order of each head's positions. Cache head ch of a cache with one head per
// query head reads KV head ch * kv_heads / heads.
void gather_kept(const PromptKeys& keys, const std::vector<KeptHead>& kept, KvCache& compact, int layer,
                 const ModelConfig& config);

}  // namespace snapkv
