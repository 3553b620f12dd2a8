#include "common/memory_budget.h"

#include <algorithm>
#include <cstdio>

#include "common/engine_error.h"

namespace snapkv {

std::string format_bytes(std::size_t bytes) {
  constexpr double kKiB = 1024.0, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
  char text[64];
  const auto b = static_cast<double>(bytes);
  if (b >= kGiB) {
    std::snprintf(text, sizeof text, "%.2f GiB", b / kGiB);
  } else if (b >= kMiB) {
    std::snprintf(text, sizeof text, "%.1f MiB", b / kMiB);
  } else if (b >= kKiB) {
    std::snprintf(text, sizeof text, "%.1f KiB", b / kKiB);
  } else {
    std::snprintf(text, sizeof text, "%zu bytes", bytes);
  }
  return text;
}

std::size_t default_memory_budget(std::size_t free_bytes, std::size_t total_bytes) {
  const std::size_t reserve = std::max<std::size_t>(std::size_t{512} << 20, total_bytes / 20);
  return free_bytes > reserve ? free_bytes - reserve : 0;
}

MemoryBudget::MemoryBudget(std::string device, std::size_t budget) : device_(std::move(device)), budget_(budget) {}

void MemoryBudget::reserve(std::size_t bytes, const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes > budget_ - in_use_) {
    fail(ErrorCode::OutOfMemory, "not enough GPU memory for ", what, ": it needs ", format_bytes(bytes), ", and ",
         format_bytes(budget_ - in_use_), " of the engine's ", format_bytes(budget_), " on ", device_,
         " are free (", format_bytes(in_use_),
         " in use); close other questions or programs using the GPU, lower the SnapKV budget, use a smaller "
         "model or quantization, or use backend 'cpu'");
  }
  in_use_ += bytes;
}

void MemoryBudget::release(std::size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  in_use_ -= std::min(bytes, in_use_);
}

bool MemoryBudget::fits(std::size_t bytes, std::size_t keep_free) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t available = budget_ - in_use_;
  return bytes <= available && keep_free <= available - bytes;
}

std::size_t MemoryBudget::in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

std::size_t MemoryBudget::available() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return budget_ - in_use_;
}

}  // namespace snapkv
