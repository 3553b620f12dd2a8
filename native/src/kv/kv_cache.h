#pragma once
// Keys (RoPE already applied) and values of a sequence, for every layer and
// cache head, in the cache's KvType (kv/kv_type.h) with a fixed capacity
// allocated once.
//
// Entries are addressed by slot, not by position: a full cache holds slot i at
// position i, while a compressed cache keeps a subset of the positions in its
// slots. Attention only needs the order (every stored slot precedes the new
// tokens); RoPE needs `next_position`, where the next token sits.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/page_buffer.h"
#include "kv/kv_type.h"

namespace snapkv {

class KvCache {
 public:
  KvCache(int layers, int heads, int head_dim, int capacity, KvType type = KvType::F32);

  int layers() const { return layers_; }
  int heads() const { return heads_; }
  int head_dim() const { return head_dim_; }
  int capacity() const { return capacity_; }
  int length() const { return length_; }
  int next_position() const { return next_position_; }
  KvType type() const { return type_; }
  std::size_t row_bytes() const { return row_bytes_; }

  // Slots [0, capacity) of one layer and head in the stored type, row_bytes() apart.
  std::uint8_t* key_rows(int layer, int head) { return block(layer, head, 0); }
  std::uint8_t* value_rows(int layer, int head) { return block(layer, head, 1); }
  const std::uint8_t* key_rows(int layer, int head) const { return const_cast<KvCache*>(this)->block(layer, head, 0); }
  const std::uint8_t* value_rows(int layer, int head) const {
    return const_cast<KvCache*>(this)->block(layer, head, 1);
  }

  // The same slots as floats: only for a cache of KvType::F32 (fails otherwise).
  float* keys(int layer, int head) { return as_floats(key_rows(layer, head)); }
  float* values(int layer, int head) { return as_floats(value_rows(layer, head)); }
  const float* keys(int layer, int head) const { return const_cast<KvCache*>(this)->keys(layer, head); }
  const float* values(int layer, int head) const { return const_cast<KvCache*>(this)->values(layer, head); }

  // Converting copies of `count` consecutive slots from `first_slot`, f32 rows
  // of head_dim on the caller's side. `kind` 0: keys, 1: values (as a device
  // backend's read_kv/write_kv count them).
  void write_rows(int layer, int kind, int head, int first_slot, int count, const float* rows);
  void read_rows(int layer, int kind, int head, int first_slot, int count, float* rows) const;

  // Records that `count` more slots were written for positions following on.
  void append(int count) {
    length_ += count;
    next_position_ += count;
  }
  void reset(int length, int next_position) {
    length_ = length;
    next_position_ = next_position;
  }

  std::size_t capacity_bytes() const { return bytes_for(capacity_); }
  std::size_t used_bytes() const { return bytes_for(length_); }

 private:
  std::size_t bytes_for(int slots) const;
  std::uint8_t* block(int layer, int head, int which);
  float* as_floats(std::uint8_t* rows) const;

  int layers_, heads_, head_dim_, capacity_;
  KvType type_;
  std::size_t row_bytes_;
  int length_ = 0;
  int next_position_ = 0;
  PageBuffer storage_;  // [layer][keys|values][head][slot][row]
};

}  // namespace snapkv
