#pragma once
// JavaScript face of a CompactCache: what SnapKV kept, the prompt length, and
// what every cache offers (cache_handle.h).
#include "cache_handle.h"
#include "engine/compact_cache.h"

namespace snapkv::binding {

class CompactCacheHandle : public CacheHandle<CompactCacheHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, ModelOnThread engine, CompactCache compact);
  explicit CompactCacheHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value kept(const Napi::CallbackInfo& info);
  Napi::Value prompt_length(const Napi::CallbackInfo& info);

  std::vector<std::vector<KeptHead>> kept_;  // [layer][cache head]
  int prompt_length_ = 0;
};

}  // namespace snapkv::binding
