#pragma once
// The CPU backend: keys and values in host memory (a KvCache of the chosen KvType), the forward
// pass of engine/forward.cpp, and SnapKV's selection of snapkv/selection.cpp.
#include "engine/backend.h"

namespace snapkv {

class CpuBackend : public Backend {
 public:
  CpuBackend(const Model& model, KvType kv_type) : model_(model), kv_type_(kv_type) {}

  const char* name() const override { return "cpu"; }
  KvType kv_type() const override { return kv_type_; }
  std::unique_ptr<KvStore> create_kv(int cache_heads, int capacity, bool host_allowed) override;
  std::vector<float> forward(KvStore& kv, const int* tokens, int count, const ForwardOptions& options) override;
  std::vector<float> compress(const CompressionPass& pass) override;
  void read_kv(const KvStore& kv, int layer, int kind, int head, int length, float* out) override;
  void write_kv(KvStore& kv, int layer, int kind, int head, int length, const float* values) override;
  std::optional<DeviceMemoryReport> device_memory() const override { return std::nullopt; }
  std::optional<OneShotPlan> plan_one_shot(long long length, const CompressOptions& options) override;

 private:
  const Model& model_;
  KvType kv_type_;
};

}  // namespace snapkv
