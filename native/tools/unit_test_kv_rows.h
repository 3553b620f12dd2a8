#pragma once
// snapkv-unit-test's checks of the KV cache's stored row types (f16, bf16,
// q8_0, f32): rounding against a float64 rounding rule written here, the
// vectorized score and accumulate loops against float64 sums over the decoded
// rows at head sizes that are not multiples of the vector width, and the
// cache's byte counts per type.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace snapkv_unit {

std::vector<std::pair<std::string, std::function<void()>>> kv_row_checks();

}  // namespace snapkv_unit
