#include "engine_thread.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "js_errors.h"

namespace snapkv::binding {

struct EngineThread::Queue {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::function<void()>> jobs;
  bool closing = false;
};

namespace {

// One call of EngineThread::run, from the JavaScript thread to the engine thread and back.
struct Job {
  EngineThread::Work work;
  EngineThread::Resolve resolve;
  Napi::Promise::Deferred deferred;
  CaughtError caught;
  bool failed = false;
};

void serve(const std::shared_ptr<EngineThread::Queue>& queue) {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(queue->mutex);
      queue->wake.wait(lock, [&] { return queue->closing || !queue->jobs.empty(); });
      if (queue->jobs.empty()) return;
      job = std::move(queue->jobs.front());
      queue->jobs.pop_front();
    }
    job();
  }
}

// On the JavaScript thread; with a null env when the environment is going away and nobody awaits the promise.
void settle(Napi::Env env, Napi::Function, std::nullptr_t*, std::shared_ptr<Job>* data) {
  std::unique_ptr<std::shared_ptr<Job>> owned(data);
  if (env == nullptr) return;
  Job& job = **owned;
  // What the work held (a cache's lease) is let go here, as the promise settles: until then the cache is busy.
  job.work = nullptr;
  Napi::HandleScope scope(env);
  if (job.failed) {
    job.deferred.Reject(make_error(env, job.caught).Value());
    return;
  }
  try {
    job.deferred.Resolve(job.resolve(env));
  } catch (const Napi::Error& e) {
    job.deferred.Reject(e.Value());
  }
}

using SettleCall = Napi::TypedThreadSafeFunction<std::nullptr_t, std::shared_ptr<Job>, settle>;

}  // namespace

EngineThread::EngineThread() : queue_(std::make_shared<Queue>()) {
  // Detached, holding the queue: the last owner may let go on this very thread (a job held the model).
  std::thread([queue = queue_] { serve(queue); }).detach();
}

EngineThread::~EngineThread() {
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->closing = true;
  }
  queue_->wake.notify_one();
}

Napi::Promise EngineThread::run(Napi::Env env, Work work, Resolve resolve) {
  auto job = std::make_shared<Job>(Job{std::move(work), std::move(resolve), Napi::Promise::Deferred::New(env), {}, false});
  // Keeps the process alive until the promise settles, as pending libuv work does.
  SettleCall back = SettleCall::New(env, Napi::Function(), "snapkv-engine", 0, 1);
  Napi::Promise promise = job->deferred.Promise();
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->jobs.emplace_back([job, back]() mutable {
      job->failed = !capture_errors(job->caught, job->work);
      auto* data = new std::shared_ptr<Job>(std::move(job));
      if (back.BlockingCall(data) != napi_ok) delete data;  // the environment is closing
      back.Release();
    });
  }
  queue_->wake.notify_one();
  return promise;
}

}  // namespace snapkv::binding
