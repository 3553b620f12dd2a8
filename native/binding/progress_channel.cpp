#include "progress_channel.h"

namespace snapkv::binding {

namespace {
struct Progress {
  int done;
  int total;
};
}  // namespace

ProgressChannel::ProgressChannel(Napi::Env env, Napi::Value callback) {
  if (!callback.IsFunction()) return;
  function_ = Napi::ThreadSafeFunction::New(env, callback.As<Napi::Function>(), "snapkv-progress", 0, 1);
  // Progress must not keep the process alive on its own.
  function_.Unref(env);
  active_ = true;
}

ProgressChannel::~ProgressChannel() {
  if (active_) function_.Release();
}

void ProgressChannel::report(int done, int total) {
  if (!active_) return;
  auto* progress = new Progress{done, total};
  napi_status status = function_.NonBlockingCall(progress, [](Napi::Env env, Napi::Function callback, Progress* p) {
    std::unique_ptr<Progress> owned(p);
    if (env != nullptr && callback != nullptr) {
      callback.Call({Napi::Number::New(env, owned->done), Napi::Number::New(env, owned->total)});
    }
  });
  if (status != napi_ok) delete progress;
}

}  // namespace snapkv::binding
