#pragma once
// The thread a model's long work runs on (loading, prefill, questions,
// generation steps, saves), one job at a time in arrival order. Not libuv's
// pool: that pool does the server's file I/O, which must not wait minutes
// behind a prefill. Each job's promise settles on the JavaScript thread.
//
// One thread per model: every cache made from a model queues on its thread,
// so a backend is only ever used from one thread (the CUDA backend's stream
// and working buffers need no lock), and its big allocations (pinned host
// memory for a prefix) are made there, never on the JavaScript thread.
#include <napi.h>

#include <functional>
#include <memory>

#include "model/model.h"

namespace snapkv::binding {

class EngineThread {
 public:
  using Work = std::function<void()>;
  using Resolve = std::function<Napi::Value(Napi::Env)>;

  EngineThread();
  // The thread finishes the jobs already queued, then ends; nobody waits for it.
  ~EngineThread();
  EngineThread(const EngineThread&) = delete;
  EngineThread& operator=(const EngineThread&) = delete;

  // Queues `work`. Its promise resolves to `resolve`'s value, made on the
  // JavaScript thread, or rejects with the work's error and code. What the
  // work captured (a cache's lease) is let go on the JavaScript thread as
  // the promise settles, so a cache is busy until its operation's promise
  // settles, as JavaScript sees it.
  Napi::Promise run(Napi::Env env, Work work, Resolve resolve);

  struct Queue;

 private:
  std::shared_ptr<Queue> queue_;
};

// A model and the thread its work runs on: they travel together, from the
// model's handle to every cache made from it.
struct ModelOnThread {
  std::shared_ptr<Model> model;
  std::shared_ptr<EngineThread> thread;
};

}  // namespace snapkv::binding
