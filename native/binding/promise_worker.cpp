#include "promise_worker.h"

namespace snapkv::binding {

PromiseWorker::PromiseWorker(Napi::Env env, Work work, Resolve resolve)
    : Napi::AsyncWorker(env, "snapkv"),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      resolve_(std::move(resolve)) {}

Napi::Promise PromiseWorker::start(Napi::Env env, Work work, Resolve resolve) {
  auto* worker = new PromiseWorker(env, std::move(work), std::move(resolve));  // libuv owns and deletes it
  Napi::Promise promise = worker->deferred_.Promise();
  worker->Queue();
  return promise;
}

void PromiseWorker::Execute() {
  if (!capture_errors(caught_, work_)) SetError(caught_.message);
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  try {
    deferred_.Resolve(resolve_(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void PromiseWorker::OnError(const Napi::Error&) {
  Napi::HandleScope scope(Env());
  deferred_.Reject(make_error(Env(), caught_).Value());
}

}  // namespace snapkv::binding
