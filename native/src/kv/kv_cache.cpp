#include "kv/kv_cache.h"

#include "common/engine_error.h"

namespace snapkv {

KvCache::KvCache(int layers, int heads, int head_dim, int capacity)
    : layers_(layers), heads_(heads), head_dim_(head_dim), capacity_(capacity) {
  if (capacity <= 0) fail(ErrorCode::InvalidArgument, "a KV cache needs a positive capacity, got ", capacity);
  // Pages are committed as the cache fills: a large capacity costs nothing up front.
  storage_ = PageBuffer(capacity_bytes());
}

std::size_t KvCache::element_count() const {
  return static_cast<std::size_t>(layers_) * 2 * heads_ * capacity_ * head_dim_;
}

std::size_t KvCache::used_bytes() const {
  return static_cast<std::size_t>(layers_) * 2 * heads_ * length_ * head_dim_ * sizeof(float);
}

float* KvCache::block(int layer, int head, int which) {
  const std::size_t per_head = static_cast<std::size_t>(capacity_) * head_dim_;
  return static_cast<float*>(storage_.data()) + ((static_cast<std::size_t>(layer) * 2 + which) * heads_ + head) * per_head;
}

}  // namespace snapkv
