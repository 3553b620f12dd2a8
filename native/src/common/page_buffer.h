#pragma once
// Large zero-initialised memory straight from the operating system: pages are
// committed as they are first touched and go back to the system the moment
// the buffer is destroyed (a heap allocator may keep freed blocks for reuse,
// so a disposed cache would still count against the process).
#include <cstddef>

namespace snapkv {

class PageBuffer {
 public:
  PageBuffer() = default;
  explicit PageBuffer(std::size_t bytes);  // throws OutOfMemory
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  void* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void release();
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace snapkv
