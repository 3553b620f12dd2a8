#pragma once
// A loaded model: the mapped GGUF file, its configuration, its weights and the
// threads that compute with them. Immutable after load, so any number of
// caches and computations may share it.
#include <cstdint>
#include <memory>
#include <string>

#include "cpu/thread_pool.h"
#include "engine/device_backend.h"
#include "gguf/gguf_file.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/rope_frequencies.h"

namespace snapkv {

struct ModelLoadOptions {
  int threads = 0;  // 0: one per hardware thread
  BackendKind backend = BackendKind::Cpu;
  DeviceBackendOptions device;
  RopeScalingRequest rope_scaling;  // overrides the file's RoPE scaling when set
  // CPU matrix products: the exact f32 path (what the float64 checks hold to),
  // or by default the fast int8 one (cpu/matmul_quantized.h, a tested bound).
  bool exact = false;
};

class Model {
 public:
  static std::shared_ptr<Model> load(const std::string& path, const ModelLoadOptions& options);

  const GgufFile& file() const { return *file_; }
  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const RopeFrequencies& rope() const { return rope_; }
  ThreadPool& pool() const { return *pool_; }
  // The device that computes for this model, or null: the CPU computes.
  DeviceBackend* device() const { return device_.get(); }
  BackendKind backend() const { return device_ ? device_->kind() : BackendKind::Cpu; }

  // Identifies the model's file: its header and metadata, and a sample of every
  // tensor's bytes. Saved caches record it, so a cache is never read back
  // into another model.
  std::uint64_t fingerprint() const { return fingerprint_; }

  // Bytes of one token's keys and values over all layers, at f32.
  std::size_t kv_bytes_per_token(int cache_heads) const;

 private:
  Model() = default;
  static std::uint64_t fingerprint_file(const GgufFile& file);
  std::unique_ptr<GgufFile> file_;
  ModelConfig config_;
  ModelWeights weights_;
  RopeFrequencies rope_;
  std::unique_ptr<ThreadPool> pool_;
  std::uint64_t fingerprint_ = 0;
  std::unique_ptr<DeviceBackend> device_;  // last: released before the weights it was made from
};

}  // namespace snapkv
