#pragma once
// SnapKV compression of a prompt into a CompactCache, whatever the backend:
// the checks, which tokens run, when everything is kept, and the compact
// cache's assembly live here once; the backend runs the pass.
#include <vector>

#include "engine/compact_cache.h"
#include "engine/prefix_cache.h"

namespace snapkv {

// A question against a prompt prefix: the suffix is prefilled on top of the
// full prefix cache (which is only read, so several questions may share it),
// then every layer is compressed.
CompactCache query_prefix(const Model& model, const PrefixCache& prefix, const std::vector<int>& suffix,
                          const CompressOptions& options);

// One-shot compression: the prompt runs layer by layer and each layer is
// compressed as soon as the whole prompt has passed through it, so only one
// layer's full KV exists at a time. For prompts whose full cache would not
// fit; it serves a single question.
CompactCache compress_one_shot(const Model& model, const std::vector<int>& prompt, const CompressOptions& options);

}  // namespace snapkv
