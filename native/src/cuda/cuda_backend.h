#pragma once
// The CUDA backend: the model's weights on the device, sequences in device
// (or pinned host) memory, and the engine's passes over the layers on the
// device (cuda_backend.cpp), with SnapKV compression run right after each
// layer (snapkv_compressor.cpp).
#include <cuda_runtime_api.h>

#include <functional>
#include <memory>

#include "cuda/device_kv.h"
#include "cuda/device_weights.h"
#include "cuda/layer_runner.h"
#include "engine/backend.h"

namespace snapkv::cuda {

// A non-blocking stream, destroyed with its owner.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  void synchronize(const char* what) const;

 private:
  cudaStream_t stream_ = nullptr;
};

// One pass of new rows through every layer: where their keys and values go,
// which prompt prefix they attend to, and what to do after each layer.
struct LayerPass {
  PassRows rows;
  DeviceKvStore* own = nullptr;
  bool own_has_every_layer = true;  // false: one layer's storage, reused by every layer (SnapKV passes)
  const DeviceKvStore* base = nullptr;
  int base_length = 0;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(int layers_done)> on_layer_done;
  // Sees each layer's keys (the base then the own rows, on the device) once
  // the pass is through it.
  std::function<void(int layer, const gpu::KvView& keys)> after_layer;
};

// Used from one thread at a time, as the addon does (each model's work runs
// on a thread of its own) and the standalone tools do: the stream, the
// runner's working buffers and the small buffers are shared by every call.
class CudaBackend : public Backend {
 public:
  CudaBackend(const Model& model, const BackendOptions& options);
  ~CudaBackend() override;

  const char* name() const override { return "cuda"; }
  // The device store holds bf16 (cuda/device_kv.h); read_kv and write_kv pass
  // f32. What a token costs, and what model info reports, is the bf16.
  KvType kv_type() const override;
  std::unique_ptr<KvStore> create_kv(int cache_heads, int capacity, bool host_allowed) override;
  std::vector<float> forward(KvStore& kv, const int* tokens, int count, const ForwardOptions& options) override;
  std::vector<float> compress(const CompressionPass& pass) override;
  void read_kv(const KvStore& kv, int layer, int kind, int head, int length, float* out) override;
  void write_kv(KvStore& kv, int layer, int kind, int head, int length, const float* values) override;
  std::optional<DeviceMemoryReport> device_memory() const override;
  std::optional<OneShotPlan> plan_one_shot(long long length, const CompressOptions& options) override;

  // Rows processed per layer step: bounds the working memory of a pass.
  static constexpr int kChunkRows = 2048;

 private:
  void run_pass(LayerPass& pass);
  // Tokens embedded as new hidden rows, with their positions (first, first + 1, ...), on the device.
  struct Rows {
    float* hidden = nullptr;
    int* tokens = nullptr;
    int* positions = nullptr;
    Allocation owned_hidden, owned_ids;
  };
  Rows embed_rows(const int* tokens, int count, int first_position);
  void check_cancel(const std::atomic<bool>* cancel);
  std::vector<float> last_logits(const float* hidden, int count);
  std::size_t working_bytes(int capacity) const;
  OneShotSizes one_shot_sizes(const SnapKvParams& params) const;
  // Bytes of the reusable buffers (row buffers, logits, the runner's scratch) now held.
  std::size_t reusable_bytes() const;

  const Model& model_;
  BackendOptions options_;
  int device_ = 0;
  std::string device_name_;
  std::shared_ptr<MemoryBudget> budget_;
  Stream stream_;
  std::unique_ptr<DeviceWeights> weights_;
  std::unique_ptr<LayerRunner> runner_;
  GrowingBuffer logits_, small_hidden_, small_tokens_, small_positions_;
};

DeviceKvStore& device_store(const KvStore& kv);

}  // namespace snapkv::cuda
