#include "cuda_check.h"

#include <cuda_runtime.h>

#include <mutex>
#include <vector>

#include "gpu_types.h"

namespace snapkv::gpu {

std::size_t dtype_bytes(DType type) { return type == DType::F32 ? 4 : 2; }

const char* dtype_name(DType type) {
  switch (type) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
  }
  return "?";
}

void check_cuda(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  // Clear a non-sticky error so that the next call does not report it again.
  cudaGetLastError();
  const std::string detail = std::string(what) + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")";
  switch (status) {
    case cudaErrorMemoryAllocation:
      throw CudaError(Failure::OutOfMemory, "out of GPU memory in " + detail, status);
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorInvalidKernelImage:
      throw CudaError(Failure::NoKernelImage,
                      "this build has no GPU code for the device (rebuild with its architecture in "
                      "CMAKE_CUDA_ARCHITECTURES): " + detail,
                      status);
    case cudaErrorInvalidValue:
    case cudaErrorInvalidConfiguration:
      throw CudaError(Failure::InvalidArgument, "invalid GPU launch arguments in " + detail, status);
    default:
      throw CudaError(Failure::DeviceFault, "GPU failure in " + detail, status);
  }
}

void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

int multiprocessor_count() {
  static std::mutex mutex;
  static std::vector<int> counts;
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  std::lock_guard<std::mutex> lock(mutex);
  if (device >= static_cast<int>(counts.size())) counts.resize(static_cast<std::size_t>(device) + 1, 0);
  if (counts[device] == 0) {
    check_cuda(cudaDeviceGetAttribute(&counts[device], cudaDevAttrMultiProcessorCount, device),
               "cudaDeviceGetAttribute(multiProcessorCount)");
  }
  return counts[device];
}

}  // namespace snapkv::gpu
