#pragma once
// JavaScript face of a PrefixCache: extend, truncate, query, save, tokens,
// and what every cache offers (cache_handle.h).
#include "cache_handle.h"
#include "engine/prefix_cache.h"

namespace snapkv::binding {

class PrefixCacheHandle : public CacheHandle<PrefixCacheHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, ModelOnThread engine, PrefixCache prefix);
  explicit PrefixCacheHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value extend(const Napi::CallbackInfo& info);
  Napi::Value query(const Napi::CallbackInfo& info);
  Napi::Value truncate(const Napi::CallbackInfo& info);
  Napi::Value save(const Napi::CallbackInfo& info);
  Napi::Value tokens(const Napi::CallbackInfo& info);
};

}  // namespace snapkv::binding
