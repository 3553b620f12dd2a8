#pragma once
// The kernel test tool's harness: device buffers, random inputs that are never
// zero, poisoned outputs, host roundings to f16/bf16, comparisons against a
// bound per element, one report line per check, and event timing.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cuda_check.h"
#include "gpu_types.h"

namespace snapkv::kernel_test {

using gpu::DType;

// f32's unit roundoff, and the operand types'.
constexpr double kUnitF32 = 1.0 / (1 << 24);
constexpr double kUnitF16 = 1.0 / (1 << 11);
constexpr double kUnitBF16 = 1.0 / (1 << 8);
double unit_roundoff(DType type);

std::uint16_t f32_to_bf16(float x);  // round to nearest even
std::uint16_t f32_to_f16(float x);   // round to nearest even, overflow to infinity
std::uint16_t f32_to_half_bits(float x, DType type);
float half_bits_to_f32(std::uint16_t bits, DType type);
// x rounded to `type` and back (F32: x itself).
float round_to(float x, DType type);

// Device memory owned by this object; freed on every path out.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return pointer_; }
  template <typename T>
  T* as() const { return static_cast<T*>(pointer_); }
  std::size_t bytes() const { return bytes_; }

  // All bytes 0xFF: NaN in f32, f16 and bf16, -1 in int32.
  void poison();
  // Every byte `byte` (0x7F: 3.4e38 in f32, for outputs whose expected value is NaN).
  void fill(unsigned char byte);
  void upload(const void* host, std::size_t bytes, std::size_t offset = 0);
  void download(void* host, std::size_t bytes, std::size_t offset = 0) const;

 private:
  void* pointer_ = nullptr;
  std::size_t bytes_ = 0;
};

template <typename T>
DeviceBuffer upload_vector(const std::vector<T>& host) {
  DeviceBuffer buffer(host.size() * sizeof(T) + 16);
  buffer.upload(host.data(), host.size() * sizeof(T));
  return buffer;
}

template <typename T>
std::vector<T> download_vector(const DeviceBuffer& buffer, std::size_t count) {
  std::vector<T> host(count);
  buffer.download(host.data(), count * sizeof(T));
  return host;
}

// Values of a 16-bit (or f32) device array, as f32 on the host.
std::vector<float> download_as_f32(const DeviceBuffer& buffer, std::size_t count, DType type);
// Host f32 values stored in `type` (rounded) in a new device buffer.
DeviceBuffer upload_as(const std::vector<float>& values, DType type);

struct Random {
  explicit Random(std::uint64_t seed) : engine(seed) {}
  // Uniform in [-scale, scale], never exactly zero (|x| >= scale * 1e-3).
  float nonzero(float scale);
  std::vector<float> nonzero_vector(std::size_t n, float scale);
  int integer(int lo, int hi);  // inclusive
  double uniform01();
  std::mt19937_64 engine;
};

// One line of the report per check.
struct CheckResult {
  std::string name;
  bool pass = true;
  double max_error = 0;         // largest |gpu - ref|
  double bound_at_worst = 0;    // the bound where err / bound is largest
  double worst_ratio = 0;       // largest err / bound
  double relative_norm = 0;     // ||gpu - ref|| / ||ref||
  std::size_t bad = 0;          // elements over their bound or NaN where the reference is finite
  std::string note;
};

// Compares n values: element i passes when |gpu[i] - ref[i]| <= bound(i), or
// when both are NaN (only where the reference itself is NaN: a poisoned,
// unwritten output element is NaN against a finite reference and fails), or
// both the same infinity.
CheckResult compare(const std::string& name, const std::vector<float>& gpu, const std::vector<double>& ref,
                    const std::function<double(std::size_t)>& bound);

struct Options {
  std::uint64_t seed = 0;
  bool bench = false;
  int repeats = 20;
  std::string only;  // run checks whose group name contains this
};

class Report {
 public:
  void add(CheckResult result);
  void fail(const std::string& name, const std::string& why);
  int failures() const { return failures_; }
  int checks() const { return checks_; }

 private:
  int failures_ = 0;
  int checks_ = 0;
};

struct Context {
  Options options;
  Random random;
  Report report;
  cudaStream_t stream = nullptr;
  int threads = 0;  // CPU reference threads (0: all)
  explicit Context(const Options& o) : options(o), random(o.seed) {}
  void sync();
};

// Median time in ms of `repeats` runs of `launch` (after `warmup` runs), each
// bracketed by CUDA events on the context's stream.
double median_ms(Context& context, const std::function<void()>& launch, int warmup = 3);

// The groups of checks, one file each.
void check_basic_kernels(Context& context);      // embedding, weight formats, rms_norm, rope, element-wise
void check_matrix_kernels(Context& context);     // matvec, gemm
void check_attention_kernels(Context& context);  // flash prefill, decode
void check_snapkv_kernels(Context& context);     // scores, pooling, top-k, keep-all, gather, whole selection
void check_sampling_kernels(Context& context);   // greedy, temperature / top-k / top-p
void run_benchmarks(Context& context);

}  // namespace snapkv::kernel_test
