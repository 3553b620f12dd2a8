#include "cpu/thread_pool.h"

#include <chrono>

#if defined(__linux__)
#include <sched.h>
#endif

#include "cpu/simd.h"

namespace snapkv {

namespace {
// A decode step runs hundreds of short loops back to back; spinning a short
// while before sleeping keeps the wake-up latency of each far below a
// condition variable's. The spin is bounded in time, not in iterations (a
// pause takes 10 to 140 cycles depending on the CPU): after this long without
// work a thread sleeps on the condition variable, so an idle pool takes no CPU
// from the server's other work or the editor.
constexpr std::chrono::microseconds kSpinBudget{200};

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// Spins until ready() or the budget is spent; returns ready().
template <typename Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinBudget;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}
}  // namespace

int ThreadPool::default_threads() {
#if defined(__linux__)
  // The CPUs this process may run on (taskset, a container's cpuset), not every CPU of the machine.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  const int hardware = static_cast<int>(std::thread::hardware_concurrency());
  return hardware > 0 ? hardware : 1;
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = default_threads();
  for (int w = 1; w < threads; ++w) workers_.emplace_back([this, w] { worker_loop(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    stopping_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::run_tasks(int worker) {
  for (;;) {
    int index = next_task_.fetch_add(1);
    if (index >= task_count_) break;
    (*task_)(index, worker);
  }
}

void ThreadPool::worker_loop(int worker) {
  std::uint64_t seen = 0;
  for (;;) {
    const bool woke = spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    if (!woke) {
      std::unique_lock<std::mutex> lock(state_mutex_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
    }
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      if (stopping_) return;
      seen = generation_.load();
    }
    run_tasks(worker);
    if (busy_workers_.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(state_mutex_);
      done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(int tasks, const std::function<void(int, int)>& task) {
  if (tasks <= 0) return;
  if (workers_.empty() || tasks == 1) {
    for (int i = 0; i < tasks; ++i) task(i, 0);
    return;
  }
  std::lock_guard<std::mutex> loop_lock(loop_mutex_);
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    task_ = &task;
    task_count_ = tasks;
    next_task_.store(0);
    busy_workers_.store(static_cast<int>(workers_.size()));
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_tasks(0);
  if (!spin_until([&] { return busy_workers_.load() == 0; })) {
    std::unique_lock<std::mutex> lock(state_mutex_);
    done_.wait(lock, [&] { return busy_workers_.load() == 0; });
  }
}

}  // namespace snapkv
