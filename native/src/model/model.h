#pragma once
// A loaded model: the mapped GGUF file, its configuration, its weights and the
// threads that compute with them. Immutable after load, so any number of
// caches and computations may share it.
#include <cstdint>
#include <memory>
#include <string>

#include "cpu/thread_pool.h"
#include "engine/backend.h"
#include "gguf/gguf_file.h"
#include "kv/kv_type.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/rope_frequencies.h"

namespace snapkv {

struct ModelLoadOptions {
  int threads = 0;  // 0: ThreadPool::default_threads(), every CPU this process may run on
  std::string backend = "cpu";  // a name create_backend knows
  BackendOptions device;
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
  // What computes for this model and holds its caches' keys and values.
  Backend& backend() const { return *backend_; }

  // Identifies the model's file: its header and metadata, and a sample of every
  // tensor's bytes. Saved caches record it, so a cache is never read back
  // into another model.
  std::uint64_t fingerprint() const { return fingerprint_; }

  // How the backend's KV stores hold keys and values.
  KvType kv_type() const { return backend_->kv_type(); }

  // Bytes of one token's keys and values over all layers, in kv_type().
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
  std::unique_ptr<Backend> backend_;  // last: released before the weights it was made from
};

}  // namespace snapkv
