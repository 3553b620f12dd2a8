#pragma once
// The kernels report failures in their own terms (kernels/cuda_check.h: what
// kind of failure, CUDA's status); the engine's callers branch on ErrorCode.
// This is the one place that gives each kind its code, and the boundary where
// the CUDA backend's failures become EngineErrors.
#include <memory>

#include "common/engine_error.h"
#include "cuda_check.h"
#include "engine/backend.h"

namespace snapkv::cuda {

ErrorCode engine_code(gpu::Failure kind);

// Runs `work`; a CudaError leaves it as the EngineError of its kind, with its message.
template <typename Work>
decltype(auto) with_engine_errors(Work&& work) {
  try {
    return work();
  } catch (const gpu::CudaError& error) {
    throw EngineError(engine_code(error.kind()), error.what());
  }
}

// `backend` as the engine sees it: every call's CudaError becomes an EngineError.
std::unique_ptr<Backend> behind_error_boundary(std::unique_ptr<Backend> backend);

}  // namespace snapkv::cuda
