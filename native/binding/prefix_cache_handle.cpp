#include "prefix_cache_handle.h"

#include <cstring>

#include "addon_data.h"
#include "cancel_flag.h"
#include "compact_cache_handle.h"
#include "compress_options.h"
#include "engine/compression.h"
#include "engine/prefix_file.h"
#include "js_errors.h"
#include "js_values.h"
#include "progress_channel.h"

namespace snapkv::binding {

namespace {

LogitsMode logits_mode(Napi::Env env, const std::string& name) {
  if (name == "none") return LogitsMode::None;
  if (name == "last") return LogitsMode::Last;
  if (name == "all") return LogitsMode::All;
  throw Napi::RangeError::New(env, "logits must be 'none', 'last' or 'all'");
}

struct PrefixInit {
  ModelOnThread engine;
  PrefixCache prefix;
};

PrefixCache prefix_of(const CacheSlot& slot) { return PrefixCache{slot.sequence}; }

}  // namespace

Napi::Function PrefixCacheHandle::define(Napi::Env env) {
  auto methods = shared_methods();
  methods.push_back(InstanceMethod<&PrefixCacheHandle::extend>("extend"));
  methods.push_back(InstanceMethod<&PrefixCacheHandle::query>("query"));
  methods.push_back(InstanceMethod<&PrefixCacheHandle::truncate>("truncate"));
  methods.push_back(InstanceMethod<&PrefixCacheHandle::save>("save"));
  methods.push_back(InstanceMethod<&PrefixCacheHandle::tokens>("tokens"));
  return DefineClass(env, "PrefixCache", methods);
}

Napi::Object PrefixCacheHandle::wrap(Napi::Env env, ModelOnThread engine, PrefixCache prefix) {
  PrefixInit init{std::move(engine), std::move(prefix)};
  return addon_data(env).prefix_cache.New({Napi::External<PrefixInit>::New(env, &init)});
}

PrefixCacheHandle::PrefixCacheHandle(const Napi::CallbackInfo& info) : CacheHandle<PrefixCacheHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "prefix caches are made by model.createPrefix() or model.loadPrefix(), not by new");
  }
  PrefixInit& init = *info[0].As<Napi::External<PrefixInit>>().Data();
  hold(init.engine, init.prefix.sequence);
}

// extend(tokens, { logits, chunkTokens }, cancelFlag?, onProgress?) -> Promise<Float32Array | null>
Napi::Value PrefixCacheHandle::extend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<CacheSlot> s = slot(env);
  auto tokens = std::make_shared<std::vector<int>>(tokens_from_js(info[0]));
  Napi::Object options = options_argument(info, 1);
  ForwardOptions forward;
  forward.logits = logits_mode(env, string_option(options, "logits", "last"));
  forward.chunk_tokens = static_cast<int>(number_option(options, "chunkTokens", 256));
  if (forward.chunk_tokens < 1) throw Napi::RangeError::New(env, "chunkTokens must be positive");
  auto cancel = CancelFlag::from(info.Length() > 2 ? info[2] : env.Undefined());
  auto progress = std::make_shared<ProgressChannel>(env, info.Length() > 3 ? info[3] : env.Undefined());
  auto lease = std::make_shared<CacheLease>(env, s, LeaseKind::Exclusive);
  auto logits = std::make_shared<std::vector<float>>();

  return s->thread->run(
      env,
      [s, tokens, forward, cancel, progress, lease, logits]() mutable {
        forward.cancel = cancel.get();
        forward.on_progress = [progress](int done, int total) { progress->report(done, total); };
        PrefixCache prefix = prefix_of(*s);
        *logits = extend_prefix(*s->model, prefix, tokens->data(), static_cast<int>(tokens->size()), forward);
      },
      [logits, forward](Napi::Env env) -> Napi::Value {
        if (forward.logits == LogitsMode::None) return env.Null();
        return floats_to_js(env, *logits);
      });
}

// query(suffix, options, cancelFlag?, onProgress?) -> Promise<CompactCache>
Napi::Value PrefixCacheHandle::query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<CacheSlot> s = slot(env);
  auto suffix = std::make_shared<std::vector<int>>(tokens_from_js(info[0]));
  CompressOptions options = compress_options_from_js(options_argument(info, 1));
  auto cancel = CancelFlag::from(info.Length() > 2 ? info[2] : env.Undefined());
  auto progress = std::make_shared<ProgressChannel>(env, info.Length() > 3 ? info[3] : env.Undefined());
  auto lease = std::make_shared<CacheLease>(env, s, LeaseKind::Shared);
  auto result = std::make_shared<CompactCache>();
  return s->thread->run(
      env,
      [s, suffix, options, cancel, progress, lease, result]() mutable {
        options.cancel = cancel.get();
        options.on_progress = [progress](int done, int total) { progress->report(done, total); };
        *result = query_prefix(*s->model, prefix_of(*s), *suffix, options);
      },
      [s, result](Napi::Env env) -> Napi::Value {
        return CompactCacheHandle::wrap(env, {s->model, s->thread}, std::move(*result));
      });
}

// truncate(length): cuts the cache back so only the changed tail runs again.
Napi::Value PrefixCacheHandle::truncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<CacheSlot> s = slot(env);
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "truncate needs a token count");
  const double length = info[0].As<Napi::Number>().DoubleValue();
  CacheLease lease(env, s, LeaseKind::Exclusive);
  CaughtError caught;
  if (!capture_errors(caught, [&] {
        if (length != static_cast<int>(length)) fail(ErrorCode::InvalidArgument, "truncate needs a whole token count");
        PrefixCache prefix = prefix_of(*s);
        truncate_prefix(prefix, static_cast<int>(length));
      })) {
    throw_js(env, caught);
  }
  return env.Undefined();
}

// save(path) -> Promise<void>
Napi::Value PrefixCacheHandle::save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<CacheSlot> s = slot(env);
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "save needs a file path");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  auto lease = std::make_shared<CacheLease>(env, s, LeaseKind::Shared);
  return s->thread->run(
      env, [s, path, lease] { save_prefix(*s->model, prefix_of(*s), path); },
      [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
}

Napi::Value PrefixCacheHandle::tokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<CacheSlot> s = slot(env);
  const std::vector<int>& ids = s->sequence->tokens;
  Napi::Int32Array array = Napi::Int32Array::New(env, ids.size());
  if (!ids.empty()) std::memcpy(array.Data(), ids.data(), ids.size() * sizeof(int));
  return array;
}

}  // namespace snapkv::binding
