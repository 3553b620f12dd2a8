// snapkv-unit-test: checks of the engine's host-side rules that need no
// model and no GPU (the device memory budget, where a cache is placed, byte
// formatting). Prints one line per check and exits non-zero on a failure;
// test/native-unit.test.ts runs it.
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "common/engine_error.h"
#include "common/memory_budget.h"
#include "engine/kv_placement.h"

namespace {

using namespace snapkv;

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kGiB = std::size_t{1} << 30;

struct Failure {
  std::string what;
};

void expect(bool condition, const std::string& what) {
  if (!condition) throw Failure{what};
}

template <typename Body>
std::string expect_error(ErrorCode code, Body body) {
  try {
    body();
  } catch (const EngineError& error) {
    expect(error.code() == code, std::string("error code ") + error_code_name(error.code()) + ", expected " +
                                     error_code_name(code) + ": " + error.what());
    return error.what();
  }
  throw Failure{"no error was thrown"};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::vector<std::pair<std::string, std::function<void()>>> kChecks = {
    {"format_bytes picks the unit",
     [] {
       expect(format_bytes(12) == "12 bytes", format_bytes(12));
       expect(format_bytes(4096) == "4.0 KiB", format_bytes(4096));
       expect(format_bytes(312 * kMiB + kMiB / 2) == "312.5 MiB", format_bytes(312 * kMiB + kMiB / 2));
       expect(format_bytes(3 * kGiB / 2) == "1.50 GiB", format_bytes(3 * kGiB / 2));
     }},
    {"the default budget leaves 5% of the device, at least 512 MiB",
     [] {
       expect(default_memory_budget(70 * kGiB, 80 * kGiB) == 70 * kGiB - 4 * kGiB, "80 GiB device");
       expect(default_memory_budget(6 * kGiB, 8 * kGiB) == 6 * kGiB - 512 * kMiB, "8 GiB device");
       expect(default_memory_budget(256 * kMiB, 8 * kGiB) == 0, "nearly full device");
     }},
    {"reserve and release count what is in use",
     [] {
       MemoryBudget budget("Test GPU", kGiB);
       budget.reserve(600 * kMiB, "weights");
       expect(budget.in_use() == 600 * kMiB && budget.available() == 424 * kMiB, "after reserve");
       budget.reserve(424 * kMiB, "a cache");
       expect(budget.available() == 0, "full");
       budget.release(424 * kMiB);
       budget.release(600 * kMiB);
       expect(budget.in_use() == 0, "after release");
       budget.release(kMiB);  // more than in use: clamps, never wraps
       expect(budget.in_use() == 0 && budget.available() == kGiB, "after over-release");
     }},
    {"a reservation past the budget is an OutOfMemory error with the sizes and what to do",
     [] {
       MemoryBudget budget("Test GPU (sm_90)", kGiB);
       budget.reserve(900 * kMiB, "weights");
       const std::string message =
           expect_error(ErrorCode::OutOfMemory, [&] { budget.reserve(200 * kMiB, "a KV cache of 4096 tokens"); });
       expect(contains(message, "a KV cache of 4096 tokens"), message);
       expect(contains(message, "200.0 MiB"), message);
       expect(contains(message, "124.0 MiB"), message);
       expect(contains(message, "1.00 GiB"), message);
       expect(contains(message, "Test GPU (sm_90)"), message);
       expect(contains(message, "backend 'cpu'"), message);
       expect(budget.in_use() == 900 * kMiB, "a refused reservation takes nothing");
     }},
    {"fits keeps a margin free",
     [] {
       MemoryBudget budget("Test GPU", kGiB);
       expect(budget.fits(kGiB), "exactly the budget");
       expect(!budget.fits(kGiB + 1), "one byte over");
       expect(budget.fits(512 * kMiB, 512 * kMiB), "margin exactly left");
       expect(!budget.fits(512 * kMiB, 512 * kMiB + 1), "margin one byte short");
     }},
    {"a prompt cache goes to the device when it fits with working memory to spare, else to pinned host memory",
     [] {
       MemoryBudget budget("Test GPU", 10 * kGiB);
       budget.reserve(4 * kGiB, "weights");
       expect(choose_kv_placement(budget, 2 * kGiB, kGiB, true) == KvPlacement::Device, "small prefix");
       expect(choose_kv_placement(budget, 5 * kGiB, kGiB, true) == KvPlacement::Device, "prefix with exact margin");
       expect(choose_kv_placement(budget, 5 * kGiB + 1, kGiB, true) == KvPlacement::PinnedHost, "margin short");
       expect(choose_kv_placement(budget, 7 * kGiB, kGiB, true) == KvPlacement::PinnedHost, "prefix past the budget");
     }},
    {"a compact cache stays on the device, where a reservation that does not fit fails with the sizes",
     [] {
       MemoryBudget budget("Test GPU", 10 * kGiB);
       budget.reserve(9 * kGiB, "weights");
       expect(choose_kv_placement(budget, 512 * kMiB, kGiB, false) == KvPlacement::Device, "fits without margin");
       expect(choose_kv_placement(budget, 2 * kGiB, kGiB, false) == KvPlacement::Device, "does not fit");
       expect_error(ErrorCode::OutOfMemory, [&] { budget.reserve(2 * kGiB, "a compact cache"); });
     }},
};

}  // namespace

int main() {
  int failures = 0;
  for (const auto& [name, check] : kChecks) {
    try {
      check();
      std::printf("PASS %s\n", name.c_str());
    } catch (const Failure& failure) {
      ++failures;
      std::printf("FAIL %s: %s\n", name.c_str(), failure.what.c_str());
    } catch (const std::exception& error) {
      ++failures;
      std::printf("FAIL %s: unexpected exception: %s\n", name.c_str(), error.what());
    }
  }
  std::printf("%zu checks, %d failed\n", kChecks.size(), failures);
  return failures == 0 ? 0 : 1;
}
