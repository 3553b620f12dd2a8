#include "unit_test_thread_pool.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <stdexcept>
#include <thread>

#include "cpu/thread_pool.h"

namespace snapkv_unit {

namespace {

void expect(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error(what);
}

double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

}  // namespace

std::vector<std::pair<std::string, std::function<void()>>> thread_pool_checks() {
  return {
      {"thread pool: every task of every loop runs once; the default is every CPU this process may use",
       [] {
         snapkv::ThreadPool pool(4);
         expect(pool.size() == 4, "4 threads asked, " + std::to_string(pool.size()) + " made");
         std::atomic<bool> bad_worker{false};
         for (int loop = 0; loop < 200; ++loop) {
           std::vector<std::atomic<int>> runs(static_cast<std::size_t>(loop % 37 + 1));
           pool.parallel_for(static_cast<int>(runs.size()), [&](int i, int worker) {
             if (worker < 0 || worker >= pool.size()) bad_worker = true;  // no throwing from a worker
             runs[i].fetch_add(1);
           });
           for (const auto& r : runs) expect(r.load() == 1, "a task ran " + std::to_string(r.load()) + " times");
         }
         expect(!bad_worker, "a worker index outside [0, size)");
         expect(snapkv::ThreadPool::default_threads() >= 1, "default threads");
         expect(snapkv::ThreadPool(0).size() == snapkv::ThreadPool::default_threads(), "0 means the default");
       }},
      {"thread pool: idle workers sleep (an idle 300 ms costs the process almost no CPU time)",
       [] {
         snapkv::ThreadPool pool(4);
         std::atomic<long> sink{0};
         pool.parallel_for(64, [&](int i, int) { sink += i; });
         std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the spin budget
         const double before = process_cpu_seconds();
         std::this_thread::sleep_for(std::chrono::milliseconds(300));
         const double used = process_cpu_seconds() - before;
         // Three workers spinning through the wait would use up to 900 ms here.
         expect(used < 0.03, "an idle pool used " + std::to_string(used * 1000) + " ms of CPU in 300 ms");
       }},
  };
}

}  // namespace snapkv_unit
