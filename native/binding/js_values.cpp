#include "js_values.h"

#include "rope_options.h"

#include <cmath>
#include <cstring>

namespace snapkv::binding {

Napi::Value gguf_value_to_js(Napi::Env env, const GgufValue& value) {
  switch (value.type) {
    case GgufValueType::U8: case GgufValueType::U16: case GgufValueType::U32:
      return Napi::Number::New(env, static_cast<double>(value.unsigned_value));
    case GgufValueType::I8: case GgufValueType::I16: case GgufValueType::I32:
      return Napi::Number::New(env, static_cast<double>(value.signed_value));
    case GgufValueType::U64:
      return Napi::BigInt::New(env, static_cast<std::uint64_t>(value.unsigned_value));
    case GgufValueType::I64:
      return Napi::BigInt::New(env, static_cast<std::int64_t>(value.signed_value));
    case GgufValueType::F32: case GgufValueType::F64:
      return Napi::Number::New(env, value.float_value);
    case GgufValueType::Bool:
      return Napi::Boolean::New(env, value.unsigned_value != 0);
    case GgufValueType::String:
      return Napi::String::New(env, value.string_value);
    case GgufValueType::Array: {
      Napi::Array array = Napi::Array::New(env, static_cast<std::size_t>(value.item_count));
      for (std::uint32_t i = 0; i < value.item_count; ++i) {
        if (value.item_type == GgufValueType::String) {
          array.Set(i, Napi::String::New(env, value.string_items[i]));
        } else if (value.item_type == GgufValueType::Array) {
          array.Set(i, gguf_value_to_js(env, value.items[i]));
        } else {
          array.Set(i, gguf_value_to_js(env, value.scalar_item(i)));
        }
      }
      return array;
    }
  }
  return env.Undefined();
}

Napi::Object model_config_to_js(Napi::Env env, const ModelConfig& c) {
  Napi::Object info = Napi::Object::New(env);
  info.Set("architecture", c.architecture);
  info.Set("name", c.name);
  info.Set("layers", c.layers);
  info.Set("hidden", c.hidden);
  info.Set("ffn", c.ffn);
  info.Set("heads", c.heads);
  info.Set("kvHeads", c.kv_heads);
  info.Set("headDim", c.head_dim);
  info.Set("vocab", c.vocab);
  info.Set("contextLength", c.context_length);
  info.Set("rmsEps", c.rms_eps);
  info.Set("ropeFreqBase", c.rope_freq_base);
  info.Set("ropeLayout", c.rope_layout == RopeLayout::AdjacentPairs ? "adjacent" : "halves");
  info.Set("qkvBias", c.qkv_bias);
  info.Set("tiedEmbeddings", c.tied_embeddings);
  set_rope_and_attention_info(info, c);
  return info;
}

Napi::Float32Array floats_to_js(Napi::Env env, const std::vector<float>& values) {
  Napi::Float32Array array = Napi::Float32Array::New(env, values.size());
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(float));
  return array;
}

std::vector<int> tokens_from_js(Napi::Value value) {
  Napi::Env env = value.Env();
  std::vector<int> tokens;
  if (value.IsTypedArray()) {
    Napi::TypedArray typed = value.As<Napi::TypedArray>();
    if (typed.TypedArrayType() == napi_int32_array) {
      Napi::Int32Array ints = value.As<Napi::Int32Array>();
      tokens.assign(ints.Data(), ints.Data() + ints.ElementLength());
      return tokens;
    }
    if (typed.TypedArrayType() == napi_uint32_array) {
      Napi::Uint32Array ints = value.As<Napi::Uint32Array>();
      for (std::size_t i = 0; i < ints.ElementLength(); ++i) {
        if (ints[i] > static_cast<std::uint32_t>(INT32_MAX)) throw Napi::RangeError::New(env, "token id too large");
        tokens.push_back(static_cast<int>(ints[i]));
      }
      return tokens;
    }
  }
  if (value.IsArray()) {
    Napi::Array array = value.As<Napi::Array>();
    tokens.reserve(array.Length());
    for (std::uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Value item = array.Get(i);
      if (!item.IsNumber()) throw Napi::TypeError::New(env, "token ids must be integers");
      double id = item.As<Napi::Number>().DoubleValue();
      if (id != std::floor(id) || id < INT32_MIN || id > INT32_MAX) {
        throw Napi::TypeError::New(env, "token ids must be integers");
      }
      tokens.push_back(static_cast<int>(id));
    }
    return tokens;
  }
  throw Napi::TypeError::New(env, "tokens must be an Int32Array, a Uint32Array or an array of integers");
}

double number_option(Napi::Object options, const char* name, double fallback) {
  Napi::Value value = options.Get(name);
  if (value.IsUndefined()) return fallback;
  if (!value.IsNumber()) throw Napi::TypeError::New(options.Env(), std::string("option '") + name + "' must be a number");
  return value.As<Napi::Number>().DoubleValue();
}

std::string string_option(Napi::Object options, const char* name, const std::string& fallback) {
  Napi::Value value = options.Get(name);
  if (value.IsUndefined()) return fallback;
  if (!value.IsString()) throw Napi::TypeError::New(options.Env(), std::string("option '") + name + "' must be a string");
  return value.As<Napi::String>().Utf8Value();
}

bool bool_option(Napi::Object options, const char* name, bool fallback) {
  Napi::Value value = options.Get(name);
  if (value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) throw Napi::TypeError::New(options.Env(), std::string("option '") + name + "' must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

Napi::Object options_argument(const Napi::CallbackInfo& info, std::size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[index].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
  return info[index].As<Napi::Object>();
}

}  // namespace snapkv::binding
