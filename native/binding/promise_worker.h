#pragma once
// An AsyncWorker that settles a Promise: the work runs on a libuv thread, the
// result is converted on the JavaScript thread, errors keep their code.
#include <napi.h>

#include <functional>

#include "js_errors.h"

namespace snapkv::binding {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Resolve = std::function<Napi::Value(Napi::Env)>;

  // Queues the worker and returns its promise.
  static Napi::Promise start(Napi::Env env, Work work, Resolve resolve);

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  PromiseWorker(Napi::Env env, Work work, Resolve resolve);

  Napi::Promise::Deferred deferred_;
  Work work_;
  Resolve resolve_;
  CaughtError caught_;
};

}  // namespace snapkv::binding
