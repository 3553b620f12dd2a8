#pragma once
// Per-environment state of the addon: the constructors of its classes, so C++
// can create instances and check the class of arguments.
#include <napi.h>

namespace snapkv::binding {

struct AddonData {
  Napi::FunctionReference cancel_flag;
  Napi::FunctionReference model;
  Napi::FunctionReference prefix_cache;
  Napi::FunctionReference compact_cache;
  Napi::FunctionReference token_stream;
};

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// The C++ object behind `value` when it is an instance of the class made by
// `constructor`, else nullptr.
template <typename Wrapped>
Wrapped* unwrap_instance(Napi::Value value, Napi::FunctionReference& constructor) {
  if (!value.IsObject()) return nullptr;
  Napi::Object object = value.As<Napi::Object>();
  if (!object.InstanceOf(constructor.Value())) return nullptr;
  return Wrapped::Unwrap(object);
}

}  // namespace snapkv::binding
