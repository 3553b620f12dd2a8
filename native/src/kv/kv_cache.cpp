#include "kv/kv_cache.h"

#include "common/engine_error.h"
#include "kv/kv_rows.h"

namespace snapkv {

KvCache::KvCache(int layers, int heads, int head_dim, int capacity, KvType type)
    : layers_(layers),
      heads_(heads),
      head_dim_(head_dim),
      capacity_(capacity),
      type_(type),
      row_bytes_(kv_row_bytes(type, head_dim)) {
  if (capacity <= 0) fail(ErrorCode::InvalidArgument, "a KV cache needs a positive capacity, got ", capacity);
  // Pages are committed as the cache fills: a large capacity costs nothing up front.
  storage_ = PageBuffer(capacity_bytes());
}

std::size_t KvCache::bytes_for(int slots) const {
  return static_cast<std::size_t>(layers_) * 2 * heads_ * static_cast<std::size_t>(slots) * row_bytes_;
}

std::uint8_t* KvCache::block(int layer, int head, int which) {
  const std::size_t per_head = static_cast<std::size_t>(capacity_) * row_bytes_;
  return static_cast<std::uint8_t*>(storage_.data()) +
         ((static_cast<std::size_t>(layer) * 2 + which) * heads_ + head) * per_head;
}

float* KvCache::as_floats(std::uint8_t* rows) const {
  if (type_ != KvType::F32) {
    fail(ErrorCode::InvalidArgument, "this cache stores its keys and values as ", kv_type_name(type_),
         ", not f32: read them with read_rows");
  }
  return reinterpret_cast<float*>(rows);
}

void KvCache::write_rows(int layer, int kind, int head, int first_slot, int count, const float* rows) {
  std::uint8_t* target = block(layer, head, kind) + static_cast<std::size_t>(first_slot) * row_bytes_;
  for (int i = 0; i < count; ++i) {
    encode_kv_row(type_, rows + static_cast<std::size_t>(i) * head_dim_, target + i * row_bytes_, head_dim_);
  }
}

void KvCache::read_rows(int layer, int kind, int head, int first_slot, int count, float* rows) const {
  const std::uint8_t* source =
      const_cast<KvCache*>(this)->block(layer, head, kind) + static_cast<std::size_t>(first_slot) * row_bytes_;
  widen_kv_rows(type_, source, row_bytes_, count, head_dim_, rows);
}

}  // namespace snapkv
