#pragma once
// Carries progress from a worker thread to a JavaScript callback.
#include <napi.h>

#include <memory>

namespace snapkv::binding {

class ProgressChannel {
 public:
  // `callback` may be undefined: reports are then dropped.
  ProgressChannel(Napi::Env env, Napi::Value callback);
  ~ProgressChannel();
  ProgressChannel(const ProgressChannel&) = delete;
  ProgressChannel& operator=(const ProgressChannel&) = delete;

  // Callable from any thread; never blocks the worker.
  void report(int done, int total);

 private:
  bool active_ = false;
  Napi::ThreadSafeFunction function_;
};

}  // namespace snapkv::binding
