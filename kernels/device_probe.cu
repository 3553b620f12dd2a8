// Checks that a CUDA device is present and that this build's kernels run on
// it: a build without code for the device's architecture fails the launch,
// and the backend choice then falls back to the CPU with that reason.
#include <cuda_runtime.h>

#include <string>

#include "device_probe.h"

namespace snapkv::gpu {

namespace {

__global__ void write_index_pattern(unsigned int* out, unsigned int count, unsigned int salt) {
  const unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) out[i] = i * 2654435761u ^ salt;
}

std::string describe(const std::string& what, cudaError_t status) {
  return what + ": " + cudaGetErrorString(status);
}

// Frees device memory on every path out of the probe.
struct DeviceBuffer {
  unsigned int* pointer = nullptr;
  ~DeviceBuffer() {
    if (pointer != nullptr) cudaFree(pointer);
  }
};

}  // namespace

DeviceProbe probe_device() {
  DeviceProbe probe;
  cudaError_t status = cudaGetDeviceCount(&probe.device_count);
  if (status != cudaSuccess) {
    probe.device_count = 0;
    probe.message = describe("no usable CUDA driver or device", status);
    cudaGetLastError();
    return probe;
  }
  if (probe.device_count == 0) {
    probe.message = "no CUDA device found";
    return probe;
  }
  cudaDeviceProp properties{};
  if ((status = cudaGetDeviceProperties(&properties, 0)) != cudaSuccess) {
    probe.message = describe("cannot read device 0", status);
    return probe;
  }
  probe.device_name = properties.name;
  probe.total_memory = properties.totalGlobalMem;

  constexpr unsigned int kCount = 1024;
  constexpr unsigned int kSalt = 0x5eed;
  DeviceBuffer buffer;
  if ((status = cudaMalloc(&buffer.pointer, kCount * sizeof(unsigned int))) != cudaSuccess) {
    probe.message = describe("cannot allocate on device 0", status);
    return probe;
  }
  write_index_pattern<<<(kCount + 255) / 256, 256>>>(buffer.pointer, kCount, kSalt);
  if ((status = cudaGetLastError()) != cudaSuccess || (status = cudaDeviceSynchronize()) != cudaSuccess) {
    probe.message = describe("this build's kernels do not run on " + probe.device_name +
                                 " (rebuild with its architecture)",
                             status);
    return probe;
  }
  unsigned int host[kCount];
  if ((status = cudaMemcpy(host, buffer.pointer, sizeof host, cudaMemcpyDeviceToHost)) != cudaSuccess) {
    probe.message = describe("cannot read back from device 0", status);
    return probe;
  }
  for (unsigned int i = 0; i < kCount; ++i) {
    if (host[i] != (i * 2654435761u ^ kSalt)) {
      probe.message = "device 0 returned wrong results from a test kernel";
      return probe;
    }
  }
  probe.usable = true;
  return probe;
}

}  // namespace snapkv::gpu
