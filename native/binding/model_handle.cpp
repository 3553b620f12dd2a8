#include "model_handle.h"

#include <map>

#include "addon_data.h"
#include "cancel_flag.h"
#include "compress_options.h"
#include "engine/compression.h"
#include "engine/prefix_file.h"
#include "js_errors.h"
#include "js_values.h"
#include "progress_channel.h"
#include "compact_cache_handle.h"
#include "prefix_cache_handle.h"
#include "common/free_memory.h"

namespace snapkv::binding {

Napi::Function ModelHandle::define(Napi::Env env) {
  return DefineClass(env, "Model",
                     {InstanceMethod<&ModelHandle::info>("info"),
                      InstanceMethod<&ModelHandle::metadata>("metadata"),
                      InstanceMethod<&ModelHandle::create_prefix>("createPrefix"),
                      InstanceMethod<&ModelHandle::load_prefix>("loadPrefix"),
                      InstanceMethod<&ModelHandle::compress_one_shot>("compressOneShot"),
                      InstanceMethod<&ModelHandle::plan_one_shot>("planOneShot"),
                      InstanceMethod<&ModelHandle::dispose>("dispose"),
                      InstanceAccessor<&ModelHandle::disposed>("disposed")});
}

Napi::Object ModelHandle::create(Napi::Env env, ModelOnThread engine) {
  return addon_data(env).model.New({Napi::External<ModelOnThread>::New(env, &engine)});
}

ModelHandle::ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "models are made by loadModel(), not by new");
  }
  engine_ = *info[0].As<Napi::External<ModelOnThread>>().Data();
}

const ModelOnThread& ModelHandle::engine(Napi::Env env) const {
  if (!engine_.model) {
    Napi::Error error = Napi::Error::New(env, "the model has been disposed; load it again to use it");
    error.Set("code", "DISPOSED");
    throw error;
  }
  return engine_;
}

Napi::Value ModelHandle::info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Model> m = model(env);
  Napi::Object result = model_config_to_js(env, m->config());
  result.Set("path", m->file().path());
  result.Set("ggufVersion", m->file().version());
  result.Set("fileBytes", static_cast<double>(m->file().file_size()));
  result.Set("weightBytes", static_cast<double>(m->weights().matrix_bytes));
  result.Set("threads", m->pool().size());
  result.Set("backend", m->backend().name());
  result.Set("kvType", kv_type_name(m->kv_type()));
  result.Set("kvBytesPerToken", static_cast<double>(m->kv_bytes_per_token(m->config().kv_heads)));
  if (const std::optional<DeviceMemoryReport> device = m->backend().device_memory()) {
    result.Set("deviceName", device->device_name);
    result.Set("deviceWeightBytes", static_cast<double>(device->weight_bytes));
    result.Set("deviceMemoryBudget", static_cast<double>(device->budget));
    result.Set("deviceMemoryInUse", static_cast<double>(device->in_use));
  }
  std::map<std::string, int> type_counts;
  for (const GgufTensor& tensor : m->file().tensors()) ++type_counts[ggml_type_name(tensor.type)];
  Napi::Object types = Napi::Object::New(env);
  for (const auto& [name, count] : type_counts) types.Set(name, count);
  result.Set("tensorTypes", types);
  return result;
}

Napi::Value ModelHandle::metadata(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Model> m = model(env);
  if (info.Length() > 0 && info[0].IsString()) {
    const GgufValue* value = m->file().find(info[0].As<Napi::String>().Utf8Value());
    return value ? gguf_value_to_js(env, *value) : env.Undefined();
  }
  Napi::Object all = Napi::Object::New(env);
  for (const auto& [key, value] : m->file().metadata()) all.Set(key, gguf_value_to_js(env, value));
  return all;
}

// createPrefix({ capacity }) -> Promise<PrefixCache> (empty): on the model's thread, since the CUDA backend may
// pin gigabytes of host memory for it.
Napi::Value ModelHandle::create_prefix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelOnThread& e = engine(env);
  Napi::Object options = options_argument(info, 0);
  const double capacity = number_option(options, "capacity", e.model->config().context_length);
  if (capacity < 1 || capacity > (1 << 30) || capacity != static_cast<int>(capacity)) {
    throw Napi::RangeError::New(env, "capacity must be a positive integer number of tokens");
  }
  auto prefix = std::make_shared<PrefixCache>();
  return e.thread->run(
      env, [m = e.model, capacity, prefix] { *prefix = make_prefix_cache(*m, static_cast<int>(capacity)); },
      [e, prefix](Napi::Env env) -> Napi::Value { return PrefixCacheHandle::wrap(env, e, std::move(*prefix)); });
}

// loadPrefix(path, { extraCapacity }) -> Promise<PrefixCache>
Napi::Value ModelHandle::load_prefix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelOnThread& e = engine(env);
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadPrefix needs a file path");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  const int extra = static_cast<int>(number_option(options_argument(info, 1), "extraCapacity", 4096));
  auto prefix = std::make_shared<PrefixCache>();
  return e.thread->run(
      env, [m = e.model, path, extra, prefix] { *prefix = snapkv::load_prefix(*m, path, extra); },
      [e, prefix](Napi::Env env) -> Napi::Value { return PrefixCacheHandle::wrap(env, e, std::move(*prefix)); });
}

// compressOneShot(tokens, options, cancelFlag?, onProgress?) -> Promise<CompactCache>
// planOneShot(length, options) -> { bytesNeeded, bytesAvailable, longestPrompt, memory, parts } | null (a backend that cannot say)
Napi::Value ModelHandle::plan_one_shot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Model> m = model(env);
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "planOneShot needs a prompt length");
  const double length = info[0].As<Napi::Number>().DoubleValue();
  if (!(length >= 1 && length <= 2147483647.0)) throw Napi::RangeError::New(env, "the prompt length must be from 1 to 2^31 - 1");
  CompressOptions options = compress_options_from_js(options_argument(info, 1));
  std::optional<OneShotPlan> found;
  CaughtError caught;
  if (!capture_errors(caught, [&] { found = m->backend().plan_one_shot(static_cast<long long>(length), options); })) {
    throw_js(env, caught);
  }
  if (!found) return env.Null();
  const OneShotPlan& plan = *found;
  Napi::Object parts = Napi::Object::New(env);
  parts.Set("hiddenStates", static_cast<double>(plan.memory.hidden));
  parts.Set("layerKeysValues", static_cast<double>(plan.memory.layer_kv));
  parts.Set("selection", static_cast<double>(plan.memory.selection));
  parts.Set("compactCache", static_cast<double>(plan.memory.compact));
  parts.Set("working", static_cast<double>(plan.memory.working));
  Napi::Object result = Napi::Object::New(env);
  result.Set("bytesNeeded", static_cast<double>(plan.memory.total()));
  result.Set("bytesAvailable", static_cast<double>(plan.available));
  result.Set("longestPrompt", static_cast<double>(plan.longest));
  result.Set("memory", plan.memory_kind);
  result.Set("deviceName", plan.device_name);
  result.Set("parts", parts);
  return result;
}

Napi::Value ModelHandle::compress_one_shot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelOnThread& e = engine(env);
  std::shared_ptr<Model> m = e.model;
  auto prompt = std::make_shared<std::vector<int>>(tokens_from_js(info[0]));
  CompressOptions options = compress_options_from_js(options_argument(info, 1));
  auto cancel = CancelFlag::from(info.Length() > 2 ? info[2] : env.Undefined());
  auto progress = std::make_shared<ProgressChannel>(env, info.Length() > 3 ? info[3] : env.Undefined());
  auto result = std::make_shared<CompactCache>();
  return e.thread->run(
      env,
      [m, prompt, options, cancel, progress, result]() mutable {
        options.cancel = cancel.get();
        options.on_progress = [progress](int done, int total) { progress->report(done, total); };
        *result = snapkv::compress_one_shot(*m, *prompt, options);
      },
      [e, result](Napi::Env env) -> Napi::Value { return CompactCacheHandle::wrap(env, e, std::move(*result)); });
}

Napi::Value ModelHandle::dispose(const Napi::CallbackInfo& info) {
  // Work already queued keeps its own reference and finishes; memory is
  // released when the last user lets go.
  engine_ = {};
  return_free_memory_to_os();
  return info.Env().Undefined();
}

Napi::Value ModelHandle::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !engine_.model);
}

}  // namespace snapkv::binding
