#pragma once
// One-shot compression: the prompt runs layer by layer, and each layer's keys
// and values are compressed as soon as the whole prompt has passed through
// it, so only one layer's full KV exists at a time. For prompts whose full
// cache would not fit; it serves a single question.
#include <vector>

#include "engine/compact_cache.h"

namespace snapkv {

CompactCache compress_one_shot(const Model& model, const std::vector<int>& prompt, const CompressOptions& options);

}  // namespace snapkv
