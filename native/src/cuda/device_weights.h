#pragma once
// A model's weights uploaded to the device once at load: matrices in their
// stored type (layout: engine/device_weight_layout.h; Q8_0 repacked for
// 16-byte loads, the other quantized types as the file's blocks), norms and
// biases in f32.
#include <cuda_runtime_api.h>

#include <memory>
#include <vector>

#include "cuda/device_memory.h"
#include "gpu_types.h"
#include "model/model_weights.h"

namespace snapkv::cuda {

struct DeviceLayer {
  const float* attn_norm = nullptr;
  gpu::DeviceMatrix wq, wk, wv, wo;
  const float* bq = nullptr;  // null when the architecture has no q/k/v bias
  const float* bk = nullptr;
  const float* bv = nullptr;
  const float* ffn_norm = nullptr;
  gpu::DeviceMatrix w_gate, w_up, w_down;
};

class DeviceWeights {
 public:
  // Uploads on `stream` and waits for it; throws OutOfMemory (with the sizes)
  // when the weights do not fit the budget.
  DeviceWeights(const ModelWeights& weights, const ModelConfig& config, std::shared_ptr<MemoryBudget> budget,
                cudaStream_t stream);

  gpu::DeviceMatrix token_embedding;
  std::vector<DeviceLayer> layers;
  const float* output_norm = nullptr;
  gpu::DeviceMatrix output;  // the token embedding itself when tied

  std::size_t bytes() const { return bytes_; }
  // Elements of the largest matrix: the size of the GEMM operand scratch.
  std::size_t largest_matrix_elements() const { return largest_; }

 private:
  gpu::DeviceMatrix upload_matrix(const WeightMatrix& matrix, const char* name, cudaStream_t stream);
  const float* upload_vector(const std::vector<float>& values, const char* name, cudaStream_t stream);

  std::shared_ptr<MemoryBudget> budget_;
  std::vector<Allocation> allocations_;
  Allocation raw_staging_;  // one Q8_0 matrix in its file layout, repacked from here
  std::size_t bytes_ = 0;
  std::size_t largest_ = 0;
  const std::uint8_t* token_embedding_data_ = nullptr;
  const std::uint8_t* output_data_ = nullptr;
};

}  // namespace snapkv::cuda
