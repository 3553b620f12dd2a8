#include "engine/sequence.h"

#include "common/engine_error.h"
#include "engine/device_backend.h"
#include "model/model.h"

namespace snapkv {

Sequence::Sequence(int layers, int heads, int head_dim, int capacity, KvType kv_type)
    : cache(layers, heads, head_dim, capacity, kv_type) {}

Sequence::Sequence(int layers, int heads, int head_dim, int capacity, std::unique_ptr<DeviceKv> device_kv)
    : cache(layers, heads, head_dim, capacity, KvType::F32, KvCache::Storage::None), device(std::move(device_kv)) {}

Sequence::~Sequence() = default;

std::shared_ptr<Sequence> make_sequence(const Model& model, int cache_heads, int capacity, bool host_allowed) {
  const ModelConfig& c = model.config();
  if (DeviceBackend* backend = model.device()) {
    if (capacity <= 0) fail(ErrorCode::InvalidArgument, "a KV cache needs a positive capacity, got ", capacity);
    return std::make_shared<Sequence>(c.layers, cache_heads, c.head_dim, capacity,
                                      backend->create_kv(cache_heads, capacity, host_allowed));
  }
  return std::make_shared<Sequence>(c.layers, cache_heads, c.head_dim, capacity, model.kv_type());
}

std::vector<float> extend_sequence(const Model& model, Sequence& sequence, const int* tokens, int count,
                                   ForwardOptions options) {
  const LogitsMode wanted = options.logits;
  // Generation continues from the last token, so its logits are always kept.
  if (wanted == LogitsMode::None) options.logits = LogitsMode::Last;
  std::vector<float> logits = sequence.device ? model.device()->forward(sequence, tokens, count, options)
                                             : run_forward(model, sequence.cache, tokens, count, options);
  const auto vocab = static_cast<std::ptrdiff_t>(model.config().vocab);
  sequence.last_logits.assign(logits.end() - vocab, logits.end());
  sequence.tokens.insert(sequence.tokens.end(), tokens, tokens + count);
  sequence.forwarded_tokens += count;
  if (wanted == LogitsMode::None) logits.clear();
  return logits;
}

void truncate_sequence(Sequence& sequence, int length) {
  KvCache& cache = sequence.cache;
  if (cache.next_position() != cache.length() || sequence.tokens.size() != static_cast<std::size_t>(cache.length())) {
    fail(ErrorCode::InvalidArgument, "only a full prompt cache can be truncated");
  }
  if (length < 0 || length > cache.length()) {
    fail(ErrorCode::InvalidArgument, "cannot truncate a cache of ", cache.length(), " tokens to ", length);
  }
  if (length == cache.length()) return;
  cache.reset(length, length);
  sequence.tokens.resize(static_cast<std::size_t>(length));
  sequence.last_logits.clear();
}

}  // namespace snapkv
