#pragma once
// The CPU backend's KV store: a KvCache in host memory.
#include "engine/backend.h"
#include "kv/kv_cache.h"

namespace snapkv {

class CpuKvStore : public KvStore {
 public:
  CpuKvStore(int layers, int heads, int head_dim, int capacity, KvType type)
      : cache(layers, heads, head_dim, capacity, type) {}

  int heads() const override { return cache.heads(); }
  int capacity() const override { return cache.capacity(); }
  int length() const override { return cache.length(); }
  int next_position() const override { return cache.next_position(); }
  void reset(int length, int next_position) override { cache.reset(length, next_position); }
  KvMemory memory() const override { return KvMemory{"host", 0, cache.capacity_bytes(), cache.used_bytes()}; }

  KvCache cache;
};

// The KvCache of a store made by the CPU backend.
KvCache& cpu_cache(KvStore& store);
const KvCache& cpu_cache(const KvStore& store);

}  // namespace snapkv
