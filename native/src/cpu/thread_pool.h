#pragma once
// A fixed set of worker threads that run the tasks of one parallel loop at a
// time. The calling thread works too, as worker 0. Calls from several threads
// are serialised: each loop gets every core. Between loops a worker spins for
// at most ~200 microseconds, then sleeps on a condition variable.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace snapkv {

class ThreadPool {
 public:
  // threads <= 0 means default_threads().
  explicit ThreadPool(int threads);

  // The one owner of the default: every CPU this process may run on.
  static int default_threads();
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs task(index, worker) for index in [0, tasks); worker is in [0, size()).
  void parallel_for(int tasks, const std::function<void(int index, int worker)>& task);

 private:
  void worker_loop(int worker);
  void run_tasks(int worker);

  std::vector<std::thread> workers_;
  std::mutex loop_mutex_;  // one loop at a time

  std::mutex state_mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int, int)>* task_ = nullptr;
  int task_count_ = 0;
  std::atomic<int> next_task_{0};
  std::atomic<int> busy_workers_{0};
  std::atomic<std::uint64_t> generation_{0};
  bool stopping_ = false;
};

}  // namespace snapkv
