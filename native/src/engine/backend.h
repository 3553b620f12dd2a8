#pragma once
// The seam between the engine and what computes for it. The engine's drivers
// (sequence.cpp, compression.cpp, prefix_file.cpp) are written once against
// this interface; a backend owns the keys and values of its sequences and
// supplies the passes over the layers. This header names no CUDA type, so the
// CPU-only build and the binding compile without CUDA; each backend lives in
// a folder of its own (native/src/cpu_backend/, native/src/cuda/).
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/forward.h"
#include "engine/one_shot_plan.h"
#include "kv/kv_type.h"
#include "snapkv/selection.h"

namespace snapkv {

class Model;
struct CompressOptions;

struct BackendOptions {
  // Bytes of device memory the engine may use for weights, caches and
  // working buffers; 0: what the device has free at load, less a reserve
  // for other programs and the CUDA runtime.
  std::size_t memory_budget = 0;
  // Prompt caches always in pinned host memory, streamed to the device a
  // layer at a time: GPU memory stays free for the weights and the questions.
  bool prefix_in_host_memory = false;
  // How the CPU backend stores keys and values (kv/kv_type.h says why f16);
  // a device backend keeps its own and reads and writes them as f32.
  KvType kv_type = KvType::F16;
};

// Where a store's keys and values are, and the bytes it reserves there.
struct KvMemory {
  const char* placement = "host";  // "host" (CPU memory), "device" or "pinned-host" (streamed to a device)
  std::size_t device_bytes = 0;
  std::size_t host_bytes = 0;
  std::size_t used_bytes = 0;  // of the slots written
  std::size_t bytes() const { return device_bytes + host_bytes; }
};

// A sequence's keys and values in its backend's memory: `capacity` slots per
// layer and cache head, the first `length` of them written. Slot i of a full
// cache holds position i; a compressed one keeps some positions, and the next
// token goes to `next_position`.
class KvStore {
 public:
  virtual ~KvStore() = default;
  virtual int heads() const = 0;
  virtual int capacity() const = 0;
  virtual int length() const = 0;
  virtual int next_position() const = 0;
  virtual void reset(int length, int next_position) = 0;
  virtual KvMemory memory() const = 0;
};

// A device's name and the engine's use of its memory, for status lines.
struct DeviceMemoryReport {
  std::string device_name;  // "NVIDIA H100 80GB HBM3 (sm_90)"
  std::size_t weight_bytes = 0;
  std::size_t budget = 0;
  std::size_t in_use = 0;
};

// One-shot compression of a prompt length on a backend: what it needs, what
// the memory it computes in has for it, and the longest prompt that fits.
struct OneShotPlan {
  OneShotMemory memory;
  std::size_t available = 0;
  long long longest = 0;
  std::string device_name;
  const char* memory_kind = "GPU memory";  // "GPU memory", "host memory": what the sizes are of
  bool fits() const { return memory.total() <= available; }
};

// A prompt run through every layer and compressed with SnapKV layer by layer
// into `compact` (compression.cpp has already decided what runs): `tokens` at
// positions base_length, base_length + 1, ... after the first `base_length`
// slots of `base` (a prefix cache, only read; null for one-shot).
struct CompressionPass {
  const std::vector<int>& tokens;
  const KvStore* base;
  int base_length;
  int prompt_length;  // base_length + tokens
  const CompressOptions& options;
  KvStore& compact;
  std::vector<std::vector<KeptHead>>& kept;  // [layer][cache head], filled by the pass
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual const char* name() const = 0;  // "cpu", "cuda": what model info reports
  virtual KvType kv_type() const = 0;     // how this backend's KV stores hold keys and values

  // Storage for a new sequence of `cache_heads` heads. A device backend puts it
  // on the device when it fits beside what it needs to compute, else in pinned
  // host memory when `host_allowed` (a prompt prefix), else fails with OutOfMemory.
  virtual std::unique_ptr<KvStore> create_kv(int cache_heads, int capacity, bool host_allowed) = 0;

  // Runs `count` valid tokens through the model onto `kv` (forward.h's contract).
  virtual std::vector<float> forward(KvStore& kv, const int* tokens, int count, const ForwardOptions& options) = 0;
  // Runs a compression pass; returns the logits of its last token.
  virtual std::vector<float> compress(const CompressionPass& pass) = 0;

  // Keys (kind 0) or values (kind 1) of `length` slots of one layer and head,
  // as f32: how caches are saved and loaded.
  virtual void read_kv(const KvStore& kv, int layer, int kind, int head, int length, float* out) = 0;
  virtual void write_kv(KvStore& kv, int layer, int kind, int head, int length, const float* values) = 0;

  // Device memory reports; nothing for a backend that computes in host memory.
  virtual std::optional<DeviceMemoryReport> device_memory() const = 0;
  // Every backend plans one-shot (the server chooses between a prefix cache
  // and one-shot with it); optional for a backend that cannot say.
  virtual std::optional<OneShotPlan> plan_one_shot(long long length, const CompressOptions& options) = 0;
};

// The backend called `name` ("cpu", "cuda") for `model`; backends.cpp lists
// them, one line each. Throws InvalidArgument for a name it does not list,
// BackendUnavailable when this build or machine lacks the backend, and
// OutOfMemory when the weights do not fit a device's budget.
std::unique_ptr<Backend> create_backend(const std::string& name, const Model& model, const BackendOptions& options);

// Each backend's factory, defined in its folder.
std::unique_ptr<Backend> create_cpu_backend(const Model& model, KvType kv_type);
std::unique_ptr<Backend> create_cuda_backend(const Model& model, const BackendOptions& options);

}  // namespace snapkv
