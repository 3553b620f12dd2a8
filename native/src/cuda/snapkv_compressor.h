#pragma once
// SnapKV on the device, one layer at a time (DESIGN.md section 3): the
// window's attention over the prompt, pooling, per-head top-k, and the
// gather of the kept keys and values into the compact cache. The kept
// positions and their scores come back to the host for CompactCache::kept.
#include <cuda_runtime_api.h>

#include <memory>
#include <vector>

#include "cuda/device_kv.h"
#include "gpu_types.h"
#include "model/model_config.h"
#include "snapkv/selection.h"

namespace snapkv::cuda {

class SnapKvCompressor {
 public:
  SnapKvCompressor(const ModelConfig& config, const SnapKvParams& params, int prompt_length, DeviceKvStore& compact,
                   const std::shared_ptr<MemoryBudget>& budget);

  bool keeps_everything() const { return keep_all_; }
  // Where a pass leaves the window's queries (window rows of heads x head_dim, bf16).
  std::uint16_t* window_queries() const { return window_queries_.as<std::uint16_t>(); }

  // `keys`: the layer's whole prompt (prompt_length keys) on the device.
  void compress_layer(int layer, const gpu::KvView& keys, std::vector<KeptHead>& kept, cudaStream_t stream);

 private:
  const ModelConfig& config_;
  SnapKvParams params_;
  int prompt_length_;
  bool keep_all_;
  int cache_heads_;
  int kept_;
  DeviceKvStore& compact_;
  Allocation window_queries_, scores_, pooled_, positions_, kept_scores_, workspace_;
  std::vector<int> host_positions_;
  std::vector<float> host_scores_;
};

}  // namespace snapkv::cuda
