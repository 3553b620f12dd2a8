#pragma once
// The full KV cache of a prompt prefix (the packed repository): slot i holds
// token i. Only a prefix cache grows by prefill and extend, is cut back by
// truncate, is asked questions (compression.h) and is saved (prefix_file.h).
#include <memory>

#include "engine/sequence.h"

namespace snapkv {

struct PrefixCache {
  std::shared_ptr<Sequence> sequence;
};

// An empty prefix cache with room for `capacity` tokens, in device memory or,
// on a device backend when it does not fit there, in pinned host memory.
PrefixCache make_prefix_cache(const Model& model, int capacity);

std::vector<float> extend_prefix(const Model& model, PrefixCache& prefix, const int* tokens, int count,
                                 const ForwardOptions& options);

// Cuts the cache back to its first `length` tokens. The logits of the new
// last token are not known until more tokens are run, so they are dropped.
void truncate_prefix(PrefixCache& prefix, int length);

}  // namespace snapkv
