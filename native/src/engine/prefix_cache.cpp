#include "engine/prefix_cache.h"

#include "common/engine_error.h"
#include "model/model.h"

namespace snapkv {

PrefixCache make_prefix_cache(const Model& model, int capacity) {
  return PrefixCache{make_sequence(model, model.config().kv_heads, capacity, true)};
}

std::vector<float> extend_prefix(const Model& model, PrefixCache& prefix, const int* tokens, int count,
                                 const ForwardOptions& options) {
  return extend_sequence(model, *prefix.sequence, tokens, count, options);
}

void truncate_prefix(PrefixCache& prefix, int length) {
  Sequence& sequence = *prefix.sequence;
  const int current = sequence.kv->length();
  if (length < 0 || length > current) {
    fail(ErrorCode::InvalidArgument, "cannot truncate a cache of ", current, " tokens to ", length);
  }
  if (length == current) return;
  sequence.kv->reset(length, length);
  sequence.tokens.resize(static_cast<std::size_t>(length));
  sequence.last_logits.clear();
}

}  // namespace snapkv
