#pragma once
// One layer of keys and values held twice: as the CPU engine's f32 KvCache
// and as the device's 16-bit [head][slot][dim] buffers, with the same
// (rounded) values.
#include <memory>
#include <vector>

#include "gpu_types.h"
#include "harness.h"
#include "kv/kv_cache.h"

namespace snapkv::kernel_test {

struct TestCache {
  DType type = DType::BF16;
  int heads = 0, dim = 0, capacity = 0, length = 0;
  std::vector<float> keys, values;  // [head][capacity][dim], rounded to `type`
  std::unique_ptr<KvCache> cpu;     // one layer
  DeviceBuffer device_keys, device_values;

  gpu::KvSegment segment() const {
    return gpu::KvSegment{device_keys.get(), device_values.get(), static_cast<std::size_t>(capacity) * dim, length};
  }
  float key(int head, int slot, int d) const { return keys[(static_cast<std::size_t>(head) * capacity + slot) * dim + d]; }
  float value(int head, int slot, int d) const { return values[(static_cast<std::size_t>(head) * capacity + slot) * dim + d]; }
  double max_abs_value(int head) const;
  double max_key_norm() const;
};

TestCache make_cache(Random& random, DType type, int heads, int dim, int capacity, int length, float key_scale,
                     float value_scale);

gpu::KvView view_of(const TestCache* base, const TestCache& own);

// Largest Euclidean norm of `rows` rows of `width` values.
double max_row_norm(const std::vector<float>& rows, std::size_t width);

}  // namespace snapkv::kernel_test
