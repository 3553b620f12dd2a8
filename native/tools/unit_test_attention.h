#pragma once
// snapkv-unit-test's checks of the CPU's tiled attention (cpu/attention.cpp):
// every KV type against a float64 softmax over the stored rows, at head sizes,
// prompt lengths and group sizes that are not multiples of the tile or vector
// width; and batch invariance: one call over many tokens, token-by-token
// decode steps, a base cache split at an odd position, and any thread count
// give the same bits.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace snapkv_unit {

std::vector<std::pair<std::string, std::function<void()>>> attention_checks();

}  // namespace snapkv_unit
