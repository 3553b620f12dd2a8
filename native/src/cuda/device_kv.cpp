#include "cuda/device_kv.h"

namespace snapkv::cuda {

std::size_t DeviceKvStore::bytes_for(int layers, int heads, int head_dim, int capacity) {
  return static_cast<std::size_t>(layers) * 2 * heads * capacity * head_dim * sizeof(std::uint16_t);
}

DeviceKvStore::DeviceKvStore(std::shared_ptr<MemoryBudget> budget, KvPlacement placement, int layers, int heads,
                             int head_dim, int capacity, const std::string& what)
    : placement_(placement),
      layers_(layers),
      heads_(heads),
      head_dim_(head_dim),
      capacity_(capacity),
      storage_(std::move(budget), placement == KvPlacement::Device ? MemoryKind::Device : MemoryKind::PinnedHost,
               bytes_for(layers, heads, head_dim, capacity), what) {}

KvMemory DeviceKvStore::memory() const {
  const bool device = placement_ == KvPlacement::Device;
  KvMemory memory;
  memory.placement = device ? "device" : "pinned-host";
  (device ? memory.device_bytes : memory.host_bytes) = storage_.bytes();
  memory.used_bytes = bytes_for(layers_, heads_, head_dim_, length_);
  return memory;
}

std::uint16_t* DeviceKvStore::block(int layer, int kind) const {
  return storage_.as<std::uint16_t>() + (static_cast<std::size_t>(layer) * 2 + kind) * heads_ * head_stride();
}

}  // namespace snapkv::cuda
