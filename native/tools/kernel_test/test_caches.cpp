#include "test_caches.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace snapkv::kernel_test {

double TestCache::max_abs_value(int head) const {
  double m = 0;
  for (int s = 0; s < length; ++s)
    for (int d = 0; d < dim; ++d) m = std::max(m, static_cast<double>(std::fabs(value(head, s, d))));
  return m;
}

double TestCache::max_key_norm() const { return max_row_norm(keys, static_cast<std::size_t>(dim)); }

double max_row_norm(const std::vector<float>& rows, std::size_t width) {
  double best = 0;
  for (std::size_t r = 0; r + width <= rows.size(); r += width) {
    double sum = 0;
    for (std::size_t i = 0; i < width; ++i) sum += static_cast<double>(rows[r + i]) * rows[r + i];
    best = std::max(best, std::sqrt(sum));
  }
  return best;
}

TestCache make_cache(Random& random, DType type, int heads, int dim, int capacity, int length, float key_scale,
                     float value_scale) {
  TestCache c;
  c.type = type;
  c.heads = heads, c.dim = dim, c.capacity = capacity, c.length = length;
  const std::size_t n = static_cast<std::size_t>(heads) * capacity * dim;
  c.keys = random.nonzero_vector(n, key_scale);
  c.values = random.nonzero_vector(n, value_scale);
  for (float& x : c.keys) x = round_to(x, type);
  for (float& x : c.values) x = round_to(x, type);
  c.cpu = std::make_unique<KvCache>(1, heads, dim, capacity);
  for (int h = 0; h < heads; ++h) {
    const std::size_t offset = static_cast<std::size_t>(h) * capacity * dim;
    std::memcpy(c.cpu->keys(0, h), c.keys.data() + offset, sizeof(float) * capacity * dim);
    std::memcpy(c.cpu->values(0, h), c.values.data() + offset, sizeof(float) * capacity * dim);
  }
  c.cpu->reset(length, length);
  c.device_keys = upload_as(c.keys, type);
  c.device_values = upload_as(c.values, type);
  return c;
}

gpu::KvView view_of(const TestCache* base, const TestCache& own) {
  gpu::KvView v;
  v.type = own.type;
  v.heads = own.heads;
  v.head_dim = own.dim;
  if (base != nullptr) v.base = base->segment();
  v.own = own.segment();
  return v;
}

}  // namespace snapkv::kernel_test
