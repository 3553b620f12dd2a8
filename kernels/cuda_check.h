#pragma once
// Errors at the boundary between the engine and the device: every CUDA call
// and every launch is checked, and a failure becomes a CudaError (an
// EngineError) whose message names the call and CUDA's own description.
#include <cuda_runtime_api.h>

#include <string>

#include "common/engine_error.h"

namespace snapkv::gpu {

class CudaError : public EngineError {
 public:
  CudaError(ErrorCode code, const std::string& message, cudaError_t status)
      : EngineError(code, message), status_(status) {}
  cudaError_t status() const { return status_; }

 private:
  cudaError_t status_;
};

// Throws CudaError when status is not cudaSuccess. Out of device memory maps
// to ErrorCode::OutOfMemory, a build without code for the device to
// UnsupportedModel (rebuild for its architecture), bad launch arguments to
// InvalidArgument, anything else (a fault in a kernel, a lost device) to Io.
void check_cuda(cudaError_t status, const char* what);

// After a launch: the launch's own error (bad configuration, no kernel image).
// Faults inside the kernel surface at the next synchronising call.
void check_launch(const char* kernel);

// Multiprocessors of the current device (cached per device).
int multiprocessor_count();

}  // namespace snapkv::gpu
