#pragma once
// A 64-bit checksum for files the engine writes and reads back (saved prompt
// caches): it catches torn writes and flipped bytes, gigabytes at a time, at
// memory speed. Not a defence against forgery: a person who can write the file
// can write a matching checksum.
//
// Four lanes each take every fourth 8-byte word through a bijective round
// (multiply by an odd constant, rotate, multiply), so a change confined to one
// lane's words always changes the result; other changes escape with odds of
// about 2^-64. The result does not depend on how the input is split into add()
// calls.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace snapkv {

class Checksum64 {
 public:
  void add(const void* data, std::size_t bytes) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    total_ += bytes;
    if (pending_ > 0) {
      const std::size_t take = bytes < kStripe - pending_ ? bytes : kStripe - pending_;
      std::memcpy(buffer_ + pending_, p, take);
      pending_ += take;
      p += take;
      bytes -= take;
      if (pending_ < kStripe) return;
      stripe(buffer_);
      pending_ = 0;
    }
    for (; bytes >= kStripe; p += kStripe, bytes -= kStripe) stripe(p);
    std::memcpy(buffer_, p, bytes);
    pending_ = bytes;
  }

  std::uint64_t value() const {
    std::uint64_t h = rotl(lanes_[0], 1) + rotl(lanes_[1], 7) + rotl(lanes_[2], 12) + rotl(lanes_[3], 18);
    // The tail: fewer than 32 bytes, zero-padded to whole words; the length below tells "ab" from "ab\0".
    std::uint8_t tail[kStripe] = {};
    std::memcpy(tail, buffer_, pending_);
    for (std::size_t i = 0; i < pending_; i += 8) h = round(h, word(tail + i));
    h ^= total_ * kPrime3;
    // Final mixing: every input bit reaches every output bit.
    h ^= h >> 33;
    h *= kPrime2;
    h ^= h >> 29;
    h *= kPrime3;
    h ^= h >> 32;
    return h;
  }

 private:
  static constexpr std::size_t kStripe = 32;
  static constexpr std::uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
  static constexpr std::uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
  static constexpr std::uint64_t kPrime3 = 0x165667B19E3779F9ULL;

  static std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
  static std::uint64_t word(const std::uint8_t* p) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);  // little-endian hosts, as the cache files are
    return w;
  }
  static std::uint64_t round(std::uint64_t lane, std::uint64_t w) { return rotl(lane + w * kPrime2, 31) * kPrime1; }

  void stripe(const std::uint8_t* p) {
    for (int i = 0; i < 4; ++i) lanes_[i] = round(lanes_[i], word(p + 8 * i));
  }

  std::uint64_t lanes_[4] = {kPrime1 + kPrime2, kPrime2, 0, 0 - kPrime1};
  std::uint8_t buffer_[kStripe] = {};
  std::size_t pending_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace snapkv
