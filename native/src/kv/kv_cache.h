#pragma once
// Keys (RoPE already applied) and values of a sequence, for every layer and
// cache head, in f32 with a fixed capacity allocated once.
//
// Entries are addressed by slot, not by position: a full cache holds slot i at
// position i, while a compressed cache keeps a subset of the positions in its
// slots. Attention only needs the order (every stored slot precedes the new
// tokens); RoPE needs `next_position`, where the next token sits.
#include <cstddef>
#include <memory>

#include "common/page_buffer.h"

namespace snapkv {

class KvCache {
 public:
  KvCache(int layers, int heads, int head_dim, int capacity);

  int layers() const { return layers_; }
  int heads() const { return heads_; }
  int head_dim() const { return head_dim_; }
  int capacity() const { return capacity_; }
  int length() const { return length_; }
  int next_position() const { return next_position_; }

  // Slots [0, capacity) of one layer and head, head_dim floats each.
  float* keys(int layer, int head) { return block(layer, head, 0); }
  float* values(int layer, int head) { return block(layer, head, 1); }
  const float* keys(int layer, int head) const { return const_cast<KvCache*>(this)->block(layer, head, 0); }
  const float* values(int layer, int head) const { return const_cast<KvCache*>(this)->block(layer, head, 1); }

  // Records that `count` more slots were written for positions following on.
  void append(int count) {
    length_ += count;
    next_position_ += count;
  }
  void reset(int length, int next_position) {
    length_ = length;
    next_position_ = next_position;
  }

  std::size_t capacity_bytes() const { return element_count() * sizeof(float); }
  std::size_t used_bytes() const;

 private:
  std::size_t element_count() const;
  float* block(int layer, int head, int which);

  int layers_, heads_, head_dim_, capacity_;
  int length_ = 0;
  int next_position_ = 0;
  PageBuffer storage_;  // [layer][keys|values][head][slot][dim]
};

}  // namespace snapkv
