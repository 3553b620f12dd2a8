#pragma once
// Conversions between engine values and JavaScript values.
#include <napi.h>

#include <vector>

#include "gguf/gguf_value.h"
#include "model/model_config.h"

namespace snapkv::binding {

Napi::Value gguf_value_to_js(Napi::Env env, const GgufValue& value);
Napi::Object model_config_to_js(Napi::Env env, const ModelConfig& config);
Napi::Float32Array floats_to_js(Napi::Env env, const std::vector<float>& values);

// Token ids from an Int32Array, Uint32Array or array of numbers.
std::vector<int> tokens_from_js(Napi::Value value);

// Optional option readers: `fallback` when the property is undefined, a
// TypeError naming the option when it has the wrong type.
double number_option(Napi::Object options, const char* name, double fallback);
std::string string_option(Napi::Object options, const char* name, const std::string& fallback);
bool bool_option(Napi::Object options, const char* name, bool fallback);
Napi::Object options_argument(const Napi::CallbackInfo& info, std::size_t index);

}  // namespace snapkv::binding
