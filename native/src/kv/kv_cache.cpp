#include "kv/kv_cache.h"

#include <new>

#include "common/engine_error.h"

namespace snapkv {

KvCache::KvCache(int layers, int heads, int head_dim, int capacity)
    : layers_(layers), heads_(heads), head_dim_(head_dim), capacity_(capacity) {
  if (capacity <= 0) fail(ErrorCode::InvalidArgument, "a KV cache needs a positive capacity, got ", capacity);
  // new[] without () leaves pages untouched: a large cache costs memory only as it fills.
  storage_.reset(new (std::nothrow) float[element_count()]);
  if (!storage_) {
    fail(ErrorCode::OutOfMemory, "cannot allocate a KV cache of ", capacity, " tokens (",
         capacity_bytes() / (1024.0 * 1024.0), " MiB); use a shorter prompt or free memory");
  }
}

std::size_t KvCache::element_count() const {
  return static_cast<std::size_t>(layers_) * 2 * heads_ * capacity_ * head_dim_;
}

std::size_t KvCache::used_bytes() const {
  return static_cast<std::size_t>(layers_) * 2 * heads_ * length_ * head_dim_ * sizeof(float);
}

float* KvCache::block(int layer, int head, int which) {
  const std::size_t per_head = static_cast<std::size_t>(capacity_) * head_dim_;
  return storage_.get() + ((static_cast<std::size_t>(layer) * 2 + which) * heads_ + head) * per_head;
}

}  // namespace snapkv
