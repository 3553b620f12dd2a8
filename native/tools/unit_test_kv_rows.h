#pragma once
// snapkv-unit-test's checks of the KV cache's stored row types (f16, bf16,
// q8_0, f32): rounding against a float64 rounding rule written here, the
// vectorized widening of a tile of rows against the decoded rows at head sizes
// that are not multiples of the vector width, and the cache's byte counts per
// type. Attention over the rows is checked in unit_test_attention.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace snapkv_unit {

std::vector<std::pair<std::string, std::function<void()>>> kv_row_checks();

}  // namespace snapkv_unit
