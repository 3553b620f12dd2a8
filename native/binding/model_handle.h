#pragma once
// JavaScript face of a loaded Model.
#include <napi.h>

#include <memory>

#include "engine_thread.h"
#include "model/model.h"

namespace snapkv::binding {

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object create(Napi::Env env, ModelOnThread engine);
  explicit ModelHandle(const Napi::CallbackInfo& info);

  // The model and its thread, or a thrown Error when it has been disposed.
  const ModelOnThread& engine(Napi::Env env) const;
  std::shared_ptr<Model> model(Napi::Env env) const { return engine(env).model; }

 private:
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value metadata(const Napi::CallbackInfo& info);
  Napi::Value create_prefix(const Napi::CallbackInfo& info);
  Napi::Value load_prefix(const Napi::CallbackInfo& info);
  Napi::Value compress_one_shot(const Napi::CallbackInfo& info);
  Napi::Value plan_one_shot(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);

  ModelOnThread engine_;
};

}  // namespace snapkv::binding
