#include "cuda/device_memory.h"

#include <cuda_runtime_api.h>

#include "common/engine_error.h"
#include "cuda_check.h"

namespace snapkv::cuda {

Allocation::Allocation(std::shared_ptr<MemoryBudget> budget, MemoryKind kind, std::size_t bytes,
                       const std::string& what)
    : budget_(std::move(budget)), kind_(kind) {
  if (bytes == 0) return;
  if (kind == MemoryKind::PinnedHost) {
    if (cudaHostAlloc(&pointer_, bytes, cudaHostAllocPortable) != cudaSuccess) {
      cudaGetLastError();  // not sticky: clear it so the next check does not see it
      pointer_ = nullptr;
      fail(ErrorCode::OutOfMemory, "cannot pin ", format_bytes(bytes), " of host memory for ", what,
           "; free memory on this machine, or use a smaller workspace or model");
    }
    bytes_ = bytes;
    return;
  }
  budget_->reserve(bytes, what);
  const cudaError_t status = cudaMalloc(&pointer_, bytes);
  if (status != cudaSuccess) {
    budget_->release(bytes);
    pointer_ = nullptr;
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      fail(ErrorCode::OutOfMemory, "the GPU refused ", format_bytes(bytes), " for ", what, " although ",
           format_bytes(budget_->available()), " of the engine's budget are free: another program is using ",
           budget_->device(), "; close it or give the engine a smaller GPU memory budget");
    }
    gpu::check_cuda(status, "cudaMalloc");
  }
  bytes_ = bytes;
}

Allocation::~Allocation() { release(); }

Allocation::Allocation(Allocation&& other) noexcept
    : budget_(std::move(other.budget_)), kind_(other.kind_), pointer_(other.pointer_), bytes_(other.bytes_) {
  other.pointer_ = nullptr;
  other.bytes_ = 0;
}

Allocation& Allocation::operator=(Allocation&& other) noexcept {
  if (this != &other) {
    release();
    budget_ = std::move(other.budget_);
    kind_ = other.kind_;
    pointer_ = other.pointer_;
    bytes_ = other.bytes_;
    other.pointer_ = nullptr;
    other.bytes_ = 0;
  }
  return *this;
}

void Allocation::release() noexcept {
  if (pointer_ == nullptr) return;
  // Errors are ignored: at process exit the runtime may already be gone, and
  // a destructor has no one to tell.
  if (kind_ == MemoryKind::PinnedHost) {
    cudaFreeHost(pointer_);
  } else {
    cudaFree(pointer_);
    budget_->release(bytes_);
  }
  pointer_ = nullptr;
  bytes_ = 0;
}

void* GrowingBuffer::get(std::size_t bytes) {
  if (bytes > allocation_.bytes()) {
    allocation_ = Allocation();  // the old one first: both may not fit together
    held_ = 0;
    allocation_ = Allocation(budget_, MemoryKind::Device, bytes, what_);
    held_ = allocation_.bytes();
  }
  return allocation_.get();
}

}  // namespace snapkv::cuda
