#pragma once
// Errors at the boundary between the kernels and the device: every CUDA call
// and every launch is checked, and a failure becomes a CudaError whose message
// names the call and CUDA's own description. The kernels know CUDA only: they
// say what kind of failure it was, and the engine's CUDA backend turns the
// kind into the code its callers branch on (native/src/cuda/cuda_errors.h).
#include <cuda_runtime_api.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace snapkv::gpu {

enum class Failure {
  InvalidArgument,  // a launch's arguments are wrong (sizes, alignment, a type the kernels do not read)
  Unsupported,      // a model shape the kernels are not compiled for (a head size)
  OutOfMemory,      // the device has no memory left for an allocation
  NoKernelImage,    // this build has no code for the device: rebuild for its architecture
  DeviceFault,      // anything else: a fault inside a kernel, a lost device
};

class CudaError : public std::runtime_error {
 public:
  CudaError(Failure kind, const std::string& message, cudaError_t status = cudaSuccess)
      : std::runtime_error(message), kind_(kind), status_(status) {}
  Failure kind() const { return kind_; }
  cudaError_t status() const { return status_; }  // cudaSuccess for a refused launch

 private:
  Failure kind_;
  cudaError_t status_;
};

// A launch refused before it starts: fail(Failure::InvalidArgument, "rms_norm: ", n, " rows").
template <typename... Parts>
[[noreturn]] void fail(Failure kind, const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw CudaError(kind, message.str());
}

// Throws CudaError when status is not cudaSuccess: out of device memory is
// OutOfMemory, a build without code for the device NoKernelImage, bad launch
// arguments InvalidArgument, anything else DeviceFault.
void check_cuda(cudaError_t status, const char* what);

// After a launch: the launch's own error (bad configuration, no kernel image).
// Faults inside the kernel surface at the next synchronising call.
void check_launch(const char* kernel);

// Multiprocessors of the current device (cached per device).
int multiprocessor_count();

}  // namespace snapkv::gpu
