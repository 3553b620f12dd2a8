#pragma once
// snapkv-unit-test's checks of the CPU thread pool: every task runs once, and
// an idle pool sleeps instead of spinning (it shares the machine with the
// editor and the server).
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace snapkv_unit {

std::vector<std::pair<std::string, std::function<void()>>> thread_pool_checks();

}  // namespace snapkv_unit
