// The addon's entry point: loadModel() and the build's capabilities. Every
// class the engine exposes to JavaScript is registered here.
#include <napi.h>

#include "addon_data.h"
#include "cancel_flag.h"
#include "common/cuda_probe.h"
#include "common/engine_error.h"
#include "js_values.h"
#include "model_handle.h"
#include "model/model_inspection.h"
#include "engine_thread.h"
#include "rope_options.h"
#include "compact_cache_handle.h"
#include "prefix_cache_handle.h"
#include "stream_handle.h"

namespace snapkv::binding {

namespace {

// loadModel(path, { threads, backend: 'cpu' | 'cuda', gpuMemoryBytes, prefixInHostMemory, ropeScaling, ropeScale,
//   kvType: 'f16' | 'bf16' | 'q8_0' | 'f32', exact }) -> Promise<Model>
Napi::Value load_model(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadModel needs a file path");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Object options = options_argument(info, 1);
  ModelLoadOptions load;
  load.threads = static_cast<int>(number_option(options, "threads", 0));
  load.backend = string_option(options, "backend", "cpu");  // "auto" is resolved by the TypeScript wrapper
  const double budget = number_option(options, "gpuMemoryBytes", 0);
  if (!(budget >= 0)) throw Napi::RangeError::New(env, "gpuMemoryBytes must not be negative");
  load.device.memory_budget = static_cast<std::size_t>(budget);
  load.device.prefix_in_host_memory = bool_option(options, "prefixInHostMemory", false);
  load.rope_scaling = rope_scaling_from_js(options);
  try {
    load.device.kv_type = parse_kv_type(string_option(options, "kvType", kv_type_name(load.device.kv_type)));
  } catch (const EngineError& error) {
    throw Napi::TypeError::New(env, error.what());  // kv/kv_type.cpp names the types
  }
  load.exact = bool_option(options, "exact", false);
  // The model's thread from its load on: the CUDA backend is made there, and all the model's work runs there.
  auto thread = std::make_shared<EngineThread>();
  auto model = std::make_shared<std::shared_ptr<Model>>();
  return thread->run(
      env, [path, load, model] { *model = Model::load(path, load); },
      [thread, model](Napi::Env env) -> Napi::Value { return ModelHandle::create(env, {*model, thread}); });
}

// inspectModel(path, { ropeScaling, ropeScale }) -> Promise<{ runs, errorCode?, error?, architecture, name,
// tensorTypes, fileBytes, weightBytes, config? }>: Model::load's checks on the header alone, no weights read.
Napi::Value inspect_model(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "inspectModel needs a file path");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  const RopeScalingRequest request = rope_scaling_from_js(options_argument(info, 1));
  auto result = std::make_shared<ModelInspection>();
  // A thread of its own: a header is read quickly, but must not wait behind another model's prefill.
  return std::make_shared<EngineThread>()->run(
      env, [path, request, result] { *result = snapkv::inspect_model(path, request); },
      [result](Napi::Env env) -> Napi::Value {
        const ModelInspection& r = *result;
        Napi::Object out = Napi::Object::New(env);
        out.Set("runs", r.runs);
        if (!r.runs) {
          out.Set("errorCode", r.error_code);
          out.Set("error", r.error);
        }
        out.Set("architecture", r.architecture);
        out.Set("name", r.name);
        Napi::Object types = Napi::Object::New(env);
        for (const auto& [type, count] : r.tensor_types) types.Set(type, count);
        out.Set("tensorTypes", types);
        out.Set("fileBytes", static_cast<double>(r.file_bytes));
        out.Set("weightBytes", static_cast<double>(r.weight_bytes));
        if (r.configured) out.Set("config", model_config_to_js(env, r.config));
        return out;
      });
}

const char* simd_name() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2";
#else
  return "scalar";
#endif
}

// buildInfo() -> { cuda: { compiled, devices, ... }, simd }
Napi::Value build_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("simd", simd_name());
  const CudaProbe probe = probe_cuda();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", probe.compiled);
  cuda.Set("devices", probe.device_count);
  cuda.Set("usable", probe.usable);
  cuda.Set("deviceName", probe.device_name);
  cuda.Set("totalMemory", static_cast<double>(probe.total_memory));
  cuda.Set("message", probe.message);
  result.Set("cuda", cuda);
  return result;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);  // deleted by Node when the environment ends
  Napi::Function cancel_flag = CancelFlag::define(env);
  data->cancel_flag = Napi::Persistent(cancel_flag);
  data->model = Napi::Persistent(ModelHandle::define(env));
  data->prefix_cache = Napi::Persistent(PrefixCacheHandle::define(env));
  data->compact_cache = Napi::Persistent(CompactCacheHandle::define(env));
  data->token_stream = Napi::Persistent(TokenStreamHandle::define(env));
  exports.Set("CancelFlag", cancel_flag);
  exports.Set("loadModel", Napi::Function::New(env, load_model, "loadModel"));
  exports.Set("inspectModel", Napi::Function::New(env, inspect_model, "inspectModel"));
  exports.Set("buildInfo", Napi::Function::New(env, build_info, "buildInfo"));
  return exports;
}

}  // namespace

}  // namespace snapkv::binding

Napi::Object InitSnapkvAddon(Napi::Env env, Napi::Object exports) {
  return snapkv::binding::init(env, exports);
}

NODE_API_MODULE(snapkv, InitSnapkvAddon)
