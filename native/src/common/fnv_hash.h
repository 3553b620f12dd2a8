#pragma once
// FNV-1a, 64-bit: a fast, stable fingerprint (not a defence against forgery).
#include <cstddef>
#include <cstdint>

namespace snapkv {

class FnvHash {
 public:
  void add(const void* data, std::size_t bytes) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    for (std::size_t i = 0; i < bytes; ++i) {
      state_ ^= p[i];
      state_ *= 0x100000001b3ULL;
    }
  }
  std::uint64_t value() const { return state_; }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

}  // namespace snapkv
