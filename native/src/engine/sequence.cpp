#include "engine/sequence.h"

#include "common/engine_error.h"
#include "model/model.h"

namespace snapkv {

std::shared_ptr<Sequence> make_sequence(const Model& model, int cache_heads, int capacity, bool host_allowed) {
  if (capacity <= 0) fail(ErrorCode::InvalidArgument, "a KV cache needs a positive capacity, got ", capacity);
  return std::make_shared<Sequence>(model.backend().create_kv(cache_heads, capacity, host_allowed));
}

std::vector<float> extend_sequence(const Model& model, Sequence& sequence, const int* tokens, int count,
                                   ForwardOptions options) {
  const LogitsMode wanted = options.logits;
  // Generation continues from the last token, so its logits are always kept.
  if (wanted == LogitsMode::None) options.logits = LogitsMode::Last;
  std::vector<float> logits = model.backend().forward(*sequence.kv, tokens, count, options);
  const auto vocab = static_cast<std::ptrdiff_t>(model.config().vocab);
  sequence.last_logits.assign(logits.end() - vocab, logits.end());
  sequence.tokens.insert(sequence.tokens.end(), tokens, tokens + count);
  sequence.forwarded_tokens += count;
  if (wanted == LogitsMode::None) logits.clear();
  return logits;
}

}  // namespace snapkv
