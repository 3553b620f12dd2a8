#pragma once
// A KV cache together with the logits of its last token: what generation
// continues from.
#include <vector>

#include "kv/kv_cache.h"

namespace snapkv {

struct Sequence {
  Sequence(int layers, int heads, int head_dim, int capacity) : cache(layers, heads, head_dim, capacity) {}

  KvCache cache;
  std::vector<float> last_logits;  // empty until a forward pass has produced them
};

}  // namespace snapkv
