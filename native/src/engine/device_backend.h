#pragma once
// The seam between the engine and a device that computes for it. The engine's
// functions (extend_sequence, query_prefix, compress_one_shot, save/load)
// hand their work to the model's DeviceBackend when it has one; this header
// names no CUDA type, so the CPU-only build and the binding compile without
// CUDA, and the CUDA backend lives in its own folder (native/src/cuda/).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/compact_cache.h"
#include "engine/forward.h"
#include "engine/one_shot_plan.h"

namespace snapkv {

class Model;
struct Sequence;

enum class BackendKind { Cpu, Cuda };

const char* backend_name(BackendKind kind);

struct DeviceBackendOptions {
  // Bytes of device memory the engine may use for weights, caches and
  // working buffers; 0: what the device has free at load, less a reserve
  // for other programs and the CUDA runtime.
  std::size_t memory_budget = 0;
  // Prompt caches always in pinned host memory, streamed to the device a
  // layer at a time: GPU memory stays free for the weights and the questions.
  bool prefix_in_host_memory = false;
};

// Where a sequence's keys and values live on a device backend.
enum class KvPlacement { Device, PinnedHost };

// One-shot compression of a prompt length on this device: what it needs,
// what the device has for it, and the longest prompt that fits.
struct OneShotPlan {
  OneShotMemory memory;
  std::size_t available = 0;
  long long longest = 0;
  bool fits() const { return memory.total() <= available; }
};

// A sequence's keys and values in the backend's memory. The Sequence's host
// KvCache then has no storage and only tracks length and position.
class DeviceKv {
 public:
  virtual ~DeviceKv() = default;
  virtual KvPlacement placement() const = 0;
  virtual std::size_t device_bytes() const = 0;  // held in device memory
  virtual std::size_t host_bytes() const = 0;    // held in pinned host memory
};

class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;

  virtual BackendKind kind() const = 0;
  // "NVIDIA H100 80GB HBM3 (sm_90)": for status lines.
  virtual std::string device_name() const = 0;
  virtual std::size_t weight_bytes() const = 0;
  virtual std::size_t memory_budget() const = 0;
  virtual std::size_t memory_in_use() const = 0;

  // Storage for a new sequence: on the device when it fits beside what the
  // backend needs to compute, else in pinned host memory when `host_allowed`
  // (a prompt prefix), else an OutOfMemory error with the sizes.
  virtual std::unique_ptr<DeviceKv> create_kv(int cache_heads, int capacity, bool host_allowed) = 0;

  // The engine's operations, with the CPU versions' contracts (forward.h,
  // prefix_query.h, one_shot.h).
  virtual std::vector<float> forward(Sequence& sequence, const int* tokens, int count,
                                     const ForwardOptions& options) = 0;
  virtual CompactCache query(const Sequence& prefix, const std::vector<int>& suffix,
                             const CompressOptions& options) = 0;
  virtual CompactCache one_shot(const std::vector<int>& prompt, const CompressOptions& options) = 0;
  virtual OneShotPlan plan_one_shot(long long length, const CompressOptions& options) = 0;

  // Keys (kind 0) or values (kind 1) of `length` slots of one layer and head,
  // as f32, for saving a cache and loading it back.
  virtual void read_kv(const Sequence& sequence, int layer, int kind, int head, int length, float* out) = 0;
  virtual void write_kv(Sequence& sequence, int layer, int kind, int head, int length, const float* values) = 0;
};

// The CUDA backend for `model` (whose weights it uploads). Throws
// BackendUnavailable when this build has no CUDA or no device works, and
// OutOfMemory when the weights do not fit the budget.
std::unique_ptr<DeviceBackend> create_cuda_backend(const Model& model, const DeviceBackendOptions& options);

}  // namespace snapkv
