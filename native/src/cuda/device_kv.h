#pragma once
// Keys and values of a sequence in the CUDA backend: bf16, laid out as the
// CPU cache is ([layer][keys|values][head][slot][dim]), in device memory or,
// for a prompt cache too large for the device, in pinned host memory that
// is staged to the device one layer at a time.
#include <cstdint>
#include <memory>

#include "cuda/device_memory.h"
#include "engine/backend.h"
#include "engine/kv_placement.h"
#include "gpu_types.h"

namespace snapkv::cuda {

constexpr gpu::DType kKvType = gpu::DType::BF16;

class DeviceKvStore : public KvStore {
 public:
  DeviceKvStore(std::shared_ptr<MemoryBudget> budget, KvPlacement placement, int layers, int heads, int head_dim,
                int capacity, const std::string& what);

  static std::size_t bytes_for(int layers, int heads, int head_dim, int capacity);

  int heads() const override { return heads_; }
  int capacity() const override { return capacity_; }
  int length() const override { return length_; }
  int next_position() const override { return next_position_; }
  void reset(int length, int next_position) override {
    length_ = length;
    next_position_ = next_position;
  }
  KvMemory memory() const override;

  KvPlacement placement() const { return placement_; }
  int layers() const { return layers_; }
  int head_dim() const { return head_dim_; }
  std::size_t head_stride() const { return static_cast<std::size_t>(capacity_) * head_dim_; }

  // Head 0 of a layer's keys (kind 0) or values (kind 1); head h follows at h * head_stride().
  std::uint16_t* block(int layer, int kind) const;

 private:
  KvPlacement placement_;
  int layers_, heads_, head_dim_, capacity_;
  int length_ = 0;
  int next_position_ = 0;
  Allocation storage_;
};

}  // namespace snapkv::cuda
