#include "harness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "cpu/number_formats.h"

namespace snapkv::kernel_test {

double unit_roundoff(DType type) {
  switch (type) {
    case DType::F32: return kUnitF32;
    case DType::F16: return kUnitF16;
    case DType::BF16: return kUnitBF16;
  }
  return 1.0;
}

std::uint16_t f32_to_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

std::uint16_t f32_to_f16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);
  if (a >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to infinity
  if (a < 0x38800000u) {  // below 2^-14: an f16 subnormal, a multiple of 2^-24
    const float scaled = std::fabs(x) * 16777216.0f;  // exact: a power-of-two scaling
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::nearbyint(scaled)));
  }
  std::uint32_t h = ((((a >> 23) - 112u) << 10) | ((a & 0x7fffffu) >> 13));
  const std::uint32_t rest = a & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry rolls into the exponent correctly
  return static_cast<std::uint16_t>(sign | h);
}

std::uint16_t f32_to_half_bits(float x, DType type) { return type == DType::F16 ? f32_to_f16(x) : f32_to_bf16(x); }

float half_bits_to_f32(std::uint16_t bits, DType type) { return type == DType::F16 ? f16_to_f32(bits) : bf16_to_f32(bits); }

float round_to(float x, DType type) {
  if (type == DType::F32) return x;
  return half_bits_to_f32(f32_to_half_bits(x, type), type);
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  gpu::check_cuda(cudaMalloc(&pointer_, bytes > 0 ? bytes : 16), "cudaMalloc");
}
DeviceBuffer::~DeviceBuffer() {
  if (pointer_ != nullptr) cudaFree(pointer_);
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept : pointer_(other.pointer_), bytes_(other.bytes_) {
  other.pointer_ = nullptr;
  other.bytes_ = 0;
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (pointer_ != nullptr) cudaFree(pointer_);
    pointer_ = other.pointer_;
    bytes_ = other.bytes_;
    other.pointer_ = nullptr;
    other.bytes_ = 0;
  }
  return *this;
}
void DeviceBuffer::poison() { gpu::check_cuda(cudaMemset(pointer_, 0xff, bytes_), "cudaMemset (poison)"); }
void DeviceBuffer::fill(unsigned char byte) { gpu::check_cuda(cudaMemset(pointer_, byte, bytes_), "cudaMemset (fill)"); }
void DeviceBuffer::upload(const void* host, std::size_t bytes, std::size_t offset) {
  gpu::check_cuda(cudaMemcpy(static_cast<char*>(pointer_) + offset, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (upload)");
}
void DeviceBuffer::download(void* host, std::size_t bytes, std::size_t offset) const {
  gpu::check_cuda(cudaMemcpy(host, static_cast<const char*>(pointer_) + offset, bytes, cudaMemcpyDeviceToHost),
                  "cudaMemcpy (download)");
}

std::vector<float> download_as_f32(const DeviceBuffer& buffer, std::size_t count, DType type) {
  if (type == DType::F32) return download_vector<float>(buffer, count);
  const std::vector<std::uint16_t> bits = download_vector<std::uint16_t>(buffer, count);
  std::vector<float> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = half_bits_to_f32(bits[i], type);
  return out;
}

DeviceBuffer upload_as(const std::vector<float>& values, DType type) {
  if (type == DType::F32) return upload_vector(values);
  std::vector<std::uint16_t> bits(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) bits[i] = f32_to_half_bits(values[i], type);
  return upload_vector(bits);
}

float Random::nonzero(float scale) {
  std::uniform_real_distribution<float> d(-scale, scale);
  for (;;) {
    const float x = d(engine);
    if (std::fabs(x) >= scale * 1e-3f) return x;
  }
}
std::vector<float> Random::nonzero_vector(std::size_t n, float scale) {
  std::vector<float> v(n);
  for (float& x : v) x = nonzero(scale);
  return v;
}
int Random::integer(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(engine); }
double Random::uniform01() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine); }

CheckResult compare(const std::string& name, const std::vector<float>& gpu, const std::vector<double>& ref,
                    const std::function<double(std::size_t)>& bound) {
  CheckResult r;
  r.name = name;
  if (gpu.size() != ref.size()) {
    r.pass = false;
    r.note = "size mismatch";
    return r;
  }
  double diff2 = 0, ref2 = 0;
  std::size_t first_bad = gpu.size();
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    const double g = gpu[i], f = ref[i];
    if (std::isnan(f) && std::isnan(g)) continue;
    if (std::isinf(f) && g == f) continue;
    const double b = bound(i);
    const double err = std::isfinite(g) ? std::fabs(g - f) : std::numeric_limits<double>::infinity();
    if (!(err <= b)) {
      ++r.bad;
      if (first_bad == gpu.size()) first_bad = i;
    }
    const double ratio = b > 0 ? err / b : (err > 0 ? std::numeric_limits<double>::infinity() : 0.0);
    if (ratio > r.worst_ratio || r.bound_at_worst == 0) {
      r.worst_ratio = std::max(r.worst_ratio, ratio);
      r.bound_at_worst = b;
    }
    r.max_error = std::max(r.max_error, err);
    if (std::isfinite(err)) diff2 += err * err;
    ref2 += f * f;
  }
  r.relative_norm = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  r.pass = r.bad == 0;
  if (!r.pass) {
    char text[200];
    std::snprintf(text, sizeof text, "%zu of %zu over the bound; first at %zu: gpu %.9g ref %.9g bound %.3g", r.bad, gpu.size(),
                  first_bad, static_cast<double>(gpu[first_bad]), ref[first_bad], bound(first_bad));
    r.note = text;
  }
  return r;
}

void Report::add(CheckResult r) {
  ++checks_;
  if (!r.pass) ++failures_;
  std::printf("%s  %-58s max_err %-10.3g bound %-10.3g err/bound %-8.3g rel %-9.2g %s\n", r.pass ? "PASS" : "FAIL",
              r.name.c_str(), r.max_error, r.bound_at_worst, r.worst_ratio, r.relative_norm, r.note.c_str());
  std::fflush(stdout);
}

void Report::fail(const std::string& name, const std::string& why) {
  ++checks_;
  ++failures_;
  std::printf("FAIL  %-58s %s\n", name.c_str(), why.c_str());
  std::fflush(stdout);
}

void Context::sync() { gpu::check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize"); }

double median_ms(Context& context, const std::function<void()>& launch, int warmup) {
  for (int i = 0; i < warmup; ++i) launch();
  context.sync();
  cudaEvent_t start, stop;
  gpu::check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  gpu::check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> times;
  for (int i = 0; i < context.options.repeats; ++i) {
    gpu::check_cuda(cudaEventRecord(start, context.stream), "cudaEventRecord");
    launch();
    gpu::check_cuda(cudaEventRecord(stop, context.stream), "cudaEventRecord");
    gpu::check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    gpu::check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace snapkv::kernel_test
