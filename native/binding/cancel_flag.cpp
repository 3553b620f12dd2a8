#include "cancel_flag.h"

#include "addon_data.h"

namespace snapkv::binding {

Napi::Function CancelFlag::define(Napi::Env env) {
  return DefineClass(env, "CancelFlag",
                     {InstanceMethod<&CancelFlag::cancel>("cancel"),
                      InstanceAccessor<&CancelFlag::cancelled>("cancelled")});
}

CancelFlag::CancelFlag(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CancelFlag>(info) {}

Napi::Value CancelFlag::cancel(const Napi::CallbackInfo& info) {
  flag_->store(true);
  return info.Env().Undefined();
}

Napi::Value CancelFlag::cancelled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), flag_->load());
}

std::shared_ptr<std::atomic<bool>> CancelFlag::from(Napi::Value value) {
  if (CancelFlag* unwrapped = unwrap_instance<CancelFlag>(value, addon_data(value.Env()).cancel_flag)) {
    return unwrapped->flag();
  }
  if (!value.IsUndefined() && !value.IsNull()) {
    throw Napi::TypeError::New(value.Env(), "expected a CancelFlag");
  }
  return std::make_shared<std::atomic<bool>>(false);
}

}  // namespace snapkv::binding
