#pragma once
// Memory of the CUDA backend: every device allocation is counted against the
// backend's MemoryBudget for as long as it lives, so running out is an
// Error with the sizes before CUDA is ever asked. Pinned host memory holds
// prompt caches that do not fit on the device.
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "common/memory_budget.h"

namespace snapkv::cuda {

enum class MemoryKind { Device, PinnedHost };

class Allocation {
 public:
  Allocation() = default;
  // Throws OutOfMemory (naming `what` and the sizes) when the budget or CUDA refuses.
  Allocation(std::shared_ptr<MemoryBudget> budget, MemoryKind kind, std::size_t bytes, const std::string& what);
  ~Allocation();
  Allocation(Allocation&& other) noexcept;
  Allocation& operator=(Allocation&& other) noexcept;
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;

  void* get() const { return pointer_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(pointer_);
  }
  std::size_t bytes() const { return bytes_; }
  MemoryKind kind() const { return kind_; }

 private:
  void release() noexcept;
  std::shared_ptr<MemoryBudget> budget_;
  MemoryKind kind_ = MemoryKind::Device;
  void* pointer_ = nullptr;
  std::size_t bytes_ = 0;
};

// A device buffer reused across calls, grown (never shrunk) to the largest
// size asked for: working memory whose size depends on the request.
class GrowingBuffer {
 public:
  GrowingBuffer(std::shared_ptr<MemoryBudget> budget, std::string what)
      : budget_(std::move(budget)), what_(std::move(what)) {}
  void* get(std::size_t bytes);
  template <typename T>
  T* as(std::size_t count) {
    return static_cast<T*>(get(count * sizeof(T)));
  }
  // Safe to read from another thread while the owner grows the buffer (memory plans).
  std::size_t bytes() const { return held_.load(); }

 private:
  std::shared_ptr<MemoryBudget> budget_;
  std::string what_;
  Allocation allocation_;
  std::atomic<std::size_t> held_{0};
};

}  // namespace snapkv::cuda
