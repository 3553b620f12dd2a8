#pragma once
// Keys and values of a sequence in the CUDA backend: bf16, laid out as the
// CPU cache is ([layer][keys|values][head][slot][dim]), in device memory or,
// for a prompt cache too large for the device, in pinned host memory that
// is staged to the device one layer at a time.
#include <cstdint>
#include <memory>

#include "cuda/device_memory.h"
#include "engine/device_backend.h"
#include "gpu_types.h"

namespace snapkv::cuda {

constexpr gpu::DType kKvType = gpu::DType::BF16;

class DeviceKvStore : public DeviceKv {
 public:
  DeviceKvStore(std::shared_ptr<MemoryBudget> budget, KvPlacement placement, int layers, int heads, int head_dim,
                int capacity, const std::string& what);

  static std::size_t bytes_for(int layers, int heads, int head_dim, int capacity);

  KvPlacement placement() const override { return placement_; }
  std::size_t device_bytes() const override { return placement_ == KvPlacement::Device ? storage_.bytes() : 0; }
  std::size_t host_bytes() const override { return placement_ == KvPlacement::PinnedHost ? storage_.bytes() : 0; }

  int layers() const { return layers_; }
  int heads() const { return heads_; }
  int head_dim() const { return head_dim_; }
  int capacity() const { return capacity_; }
  std::size_t head_stride() const { return static_cast<std::size_t>(capacity_) * head_dim_; }

  // Head 0 of a layer's keys (kind 0) or values (kind 1); head h follows at h * head_stride().
  std::uint16_t* block(int layer, int kind) const;

 private:
  KvPlacement placement_;
  int layers_, heads_, head_dim_, capacity_;
  Allocation storage_;
};

}  // namespace snapkv::cuda
