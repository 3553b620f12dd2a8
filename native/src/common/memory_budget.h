#pragma once
// Accounting of a device's memory. The engine reserves before it allocates,
// so a request that would pass the budget fails with a message giving the
// sizes, rather than as a CUDA error later or another program's failure.
// No CUDA here: the rules are tested on machines without a GPU.
#include <cstddef>
#include <mutex>
#include <string>

namespace snapkv {

// "1.50 GiB", "312.0 MiB", "4.0 KiB", "12 bytes".
std::string format_bytes(std::size_t bytes);

// What the engine takes when not told: the free memory less a reserve for
// the CUDA runtime, other programs and the display (5% of the device, at
// least 512 MiB). Zero when nothing is left.
std::size_t default_memory_budget(std::size_t free_bytes, std::size_t total_bytes);

class MemoryBudget {
 public:
  MemoryBudget(std::string device, std::size_t budget);

  // Counts `bytes` as in use, or throws OutOfMemory naming `what`, its size,
  // what is in use and the budget, and what the user can do.
  void reserve(std::size_t bytes, const std::string& what);
  void release(std::size_t bytes);

  // Whether `bytes` fit while `keep_free` more stay available afterwards.
  bool fits(std::size_t bytes, std::size_t keep_free = 0) const;

  std::size_t budget() const { return budget_; }
  std::size_t in_use() const;
  std::size_t available() const;
  const std::string& device() const { return device_; }

 private:
  std::string device_;
  std::size_t budget_;
  mutable std::mutex mutex_;
  std::size_t in_use_ = 0;
};

}  // namespace snapkv
