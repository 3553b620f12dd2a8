#include "cpu/thread_pool.h"

#include "cpu/simd.h"

namespace snapkv {

namespace {
// A decode step runs hundreds of short loops; spinning briefly before sleeping
// keeps the wake-up latency of each far below a condition variable's.
constexpr int kSpinIterations = 20000;

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
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
    bool woke = false;
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      if (generation_.load(std::memory_order_acquire) != seen) {
        woke = true;
        break;
      }
      cpu_relax();
    }
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
  for (int spin = 0; spin < kSpinIterations && busy_workers_.load() != 0; ++spin) cpu_relax();
  if (busy_workers_.load() != 0) {
    std::unique_lock<std::mutex> lock(state_mutex_);
    done_.wait(lock, [&] { return busy_workers_.load() == 0; });
  }
}

}  // namespace snapkv
