#include "compact_cache_handle.h"

#include <cstring>

#include "addon_data.h"

namespace snapkv::binding {

namespace {

struct CompactInit {
  ModelOnThread engine;
  CompactCache compact;
};

}  // namespace

Napi::Function CompactCacheHandle::define(Napi::Env env) {
  auto methods = shared_methods();
  methods.push_back(InstanceMethod<&CompactCacheHandle::kept>("kept"));
  methods.push_back(InstanceMethod<&CompactCacheHandle::prompt_length>("promptLength"));
  return DefineClass(env, "CompactCache", methods);
}

Napi::Object CompactCacheHandle::wrap(Napi::Env env, ModelOnThread engine, CompactCache compact) {
  CompactInit init{std::move(engine), std::move(compact)};
  return addon_data(env).compact_cache.New({Napi::External<CompactInit>::New(env, &init)});
}

CompactCacheHandle::CompactCacheHandle(const Napi::CallbackInfo& info) : CacheHandle<CompactCacheHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "compact caches are made by prefix.query() or model.compressOneShot(), not by new");
  }
  CompactInit& init = *info[0].As<Napi::External<CompactInit>>().Data();
  hold(init.engine, init.compact.sequence);
  kept_ = std::move(init.compact.kept);
  prompt_length_ = init.compact.prompt_length;
}

// kept() -> per layer, per cache head: { positions: Int32Array, scores: Float32Array }
Napi::Value CompactCacheHandle::kept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  slot(env);  // refused once disposed
  Napi::Array result = Napi::Array::New(env, kept_.size());
  for (std::uint32_t l = 0; l < kept_.size(); ++l) {
    Napi::Array heads = Napi::Array::New(env, kept_[l].size());
    for (std::uint32_t h = 0; h < kept_[l].size(); ++h) {
      const KeptHead& head = kept_[l][h];
      Napi::Int32Array positions = Napi::Int32Array::New(env, head.positions.size());
      Napi::Float32Array scores = Napi::Float32Array::New(env, head.scores.size());
      if (!head.positions.empty()) {
        std::memcpy(positions.Data(), head.positions.data(), head.positions.size() * sizeof(int));
        std::memcpy(scores.Data(), head.scores.data(), head.scores.size() * sizeof(float));
      }
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("positions", positions);
      entry.Set("scores", scores);
      heads.Set(h, entry);
    }
    result.Set(l, heads);
  }
  return result;
}

Napi::Value CompactCacheHandle::prompt_length(const Napi::CallbackInfo& info) {
  slot(info.Env());
  return Napi::Number::New(info.Env(), prompt_length_);
}

}  // namespace snapkv::binding
