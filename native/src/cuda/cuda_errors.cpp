#include "cuda/cuda_errors.h"

#include <utility>

namespace snapkv::cuda {

ErrorCode engine_code(gpu::Failure kind) {
  switch (kind) {
    case gpu::Failure::InvalidArgument: return ErrorCode::InvalidArgument;
    case gpu::Failure::Unsupported: return ErrorCode::UnsupportedModel;
    case gpu::Failure::OutOfMemory: return ErrorCode::OutOfMemory;
    // Rebuilding for the device's architecture is the user's fix, as for a model the build cannot run.
    case gpu::Failure::NoKernelImage: return ErrorCode::UnsupportedModel;
    case gpu::Failure::DeviceFault: return ErrorCode::Io;
  }
  return ErrorCode::Io;
}

namespace {

class ErrorBoundary : public Backend {
 public:
  explicit ErrorBoundary(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}

  const char* name() const override { return inner_->name(); }
  KvType kv_type() const override { return inner_->kv_type(); }
  std::unique_ptr<KvStore> create_kv(int cache_heads, int capacity, bool host_allowed) override {
    return with_engine_errors([&] { return inner_->create_kv(cache_heads, capacity, host_allowed); });
  }
  std::vector<float> forward(KvStore& kv, const int* tokens, int count, const ForwardOptions& options) override {
    return with_engine_errors([&] { return inner_->forward(kv, tokens, count, options); });
  }
  std::vector<float> compress(const CompressionPass& pass) override {
    return with_engine_errors([&] { return inner_->compress(pass); });
  }
  void read_kv(const KvStore& kv, int layer, int kind, int head, int length, float* out) override {
    with_engine_errors([&] { inner_->read_kv(kv, layer, kind, head, length, out); });
  }
  void write_kv(KvStore& kv, int layer, int kind, int head, int length, const float* values) override {
    with_engine_errors([&] { inner_->write_kv(kv, layer, kind, head, length, values); });
  }
  std::optional<DeviceMemoryReport> device_memory() const override {
    return with_engine_errors([&] { return inner_->device_memory(); });
  }
  std::optional<OneShotPlan> plan_one_shot(long long length, const CompressOptions& options) override {
    return with_engine_errors([&] { return inner_->plan_one_shot(length, options); });
  }

 private:
  std::unique_ptr<Backend> inner_;
};

}  // namespace

std::unique_ptr<Backend> behind_error_boundary(std::unique_ptr<Backend> backend) {
  return std::make_unique<ErrorBoundary>(std::move(backend));
}

}  // namespace snapkv::cuda
