#pragma once
// A flag JavaScript raises (from an AbortSignal) and worker threads poll.
#include <napi.h>

#include <atomic>
#include <memory>

namespace snapkv::binding {

class CancelFlag : public Napi::ObjectWrap<CancelFlag> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit CancelFlag(const Napi::CallbackInfo& info);

  std::shared_ptr<std::atomic<bool>> flag() const { return flag_; }

  // The flag of a CancelFlag argument, or a fresh never-raised one when the
  // argument is undefined.
  static std::shared_ptr<std::atomic<bool>> from(Napi::Value value);

 private:
  Napi::Value cancel(const Napi::CallbackInfo& info);
  Napi::Value cancelled(const Napi::CallbackInfo& info);

  std::shared_ptr<std::atomic<bool>> flag_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace snapkv::binding
