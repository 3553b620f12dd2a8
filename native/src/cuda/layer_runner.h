#pragma once
// One transformer block on the device over a chunk of rows: tensor-core
// GEMMs and flash attention for two rows or more, matrix-vector products and
// split-key decode attention for one. The drivers (cuda_backend.cpp) decide
// which rows, which caches and in what order.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>

#include "cuda/device_memory.h"
#include "cuda/device_weights.h"
#include "gpu_types.h"
#include "model/model_config.h"
#include "rope.h"

namespace snapkv::cuda {

// A layer of a cache on the device: head h of the keys at keys + h * head_stride.
struct LayerKv {
  std::uint16_t* keys = nullptr;
  std::uint16_t* values = nullptr;
  std::size_t head_stride = 0;
  int heads = 0;  // cache heads: the KV heads, or the query heads of a repeated compact cache

  gpu::KvSegment segment(int length) const { return gpu::KvSegment{keys, values, head_stride, length}; }
};

// Rows of one pass through the layers.
struct PassRows {
  float* hidden = nullptr;        // count rows of `hidden` f32, updated in place
  const int* positions = nullptr; // device: each row's RoPE position
  int count = 0;
  int first_slot = 0;             // the own cache slot of row 0
  // Rows from `window_from` on also leave their queries (RoPE applied, bf16)
  // in window_queries[row - window_from]; -1: none.
  int window_from = -1;
  std::uint16_t* window_queries = nullptr;
};

class LayerRunner {
 public:
  LayerRunner(const ModelConfig& config, const DeviceWeights& weights, std::shared_ptr<MemoryBudget> budget);

  // Block `layer` over rows [row0, row0 + rows) of `pass`: their keys and
  // values go to `own` at slots first_slot + row0 ..., and attention reads the
  // first base_length slots of `base` (may be empty) then `own` up to and
  // including each row.
  void run(int layer, const PassRows& pass, int row0, int rows, const LayerKv& base, int base_length,
           const LayerKv& own, cudaStream_t stream);

  // Final norm and logits of one row of hidden state into `logits` (device, vocab f32).
  void logits(const float* hidden_row, float* logits, cudaStream_t stream);

  // Device memory the runner holds now.
  std::size_t held_bytes() const;

  // Device memory this runner keeps between calls for chunks of `rows` rows.
  static std::size_t scratch_bytes(const ModelConfig& config, std::size_t largest_matrix, int rows);

 private:
  void run_batched(const DeviceLayer& w, const PassRows& pass, int row0, int rows, const gpu::KvView& view,
                   const LayerKv& own, cudaStream_t stream);
  void run_single(const DeviceLayer& w, const PassRows& pass, int row0, const gpu::KvView& view, const LayerKv& own,
                  cudaStream_t stream);
  // RoPE (rotate = true by default) of `rows` rows of `heads` f32 heads, bias added first.
  gpu::RopeJob rope_job(const float* in, int heads, const float* bias, const int* positions, int rows) const;
  void rotate_queries(const DeviceLayer& w, const PassRows& pass, int row0, int rows, const float* q, gpu::DType out_type,
                      void* out, cudaStream_t stream);
  void store_keys_values(const DeviceLayer& w, const PassRows& pass, int row0, int rows, const float* k, const float* v,
                         const LayerKv& own, cudaStream_t stream);
  const void* bf16_operand(const gpu::DeviceMatrix& weights, cudaStream_t stream);
  void gemm(const void* activations, int k, const gpu::DeviceMatrix& weights, float* out, int rows, bool accumulate,
            cudaStream_t stream);

  const ModelConfig& config_;
  const DeviceWeights& weights_;
  GrowingBuffer normed_, q_, k_, v_, q16_, attended_, gate_, up_, act_, operand_, decode_workspace_;
};

}  // namespace snapkv::cuda
