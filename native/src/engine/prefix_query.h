#pragma once
// A question against a prompt prefix: the suffix is prefilled on top of the
// full prefix cache (which is only read, so several questions may share it),
// then every layer is compressed with SnapKV into a CompactCache.
#include <vector>

#include "engine/compact_cache.h"

namespace snapkv {

CompactCache query_prefix(const Model& model, const Sequence& prefix, const std::vector<int>& suffix,
                          const CompressOptions& options);

}  // namespace snapkv
