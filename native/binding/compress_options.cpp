#include "compress_options.h"

#include <cmath>

#include "js_values.h"

namespace snapkv::binding {

namespace {
int integer_option(Napi::Object options, const char* name, int fallback) {
  const double value = number_option(options, name, fallback);
  if (value != std::floor(value) || std::abs(value) > 1e9) {
    throw Napi::RangeError::New(options.Env(), std::string("option '") + name + "' must be an integer");
  }
  return static_cast<int>(value);
}
}  // namespace

CompressOptions compress_options_from_js(Napi::Object options) {
  Napi::Env env = options.Env();
  CompressOptions result;
  SnapKvParams& p = result.snapkv;
  p.window = integer_option(options, "window", p.window);
  p.budget = integer_option(options, "budget", p.budget);
  p.kernel = integer_option(options, "kernel", p.kernel);
  const std::string pooling = string_option(options, "pooling", "max");
  if (pooling == "max") {
    p.pooling = Pooling::Max;
  } else if (pooling == "avg") {
    p.pooling = Pooling::Avg;
  } else {
    throw Napi::RangeError::New(env, "pooling must be 'max' or 'avg'");
  }
  const std::string gqa = string_option(options, "gqa", "mean");
  if (gqa == "mean") {
    p.gqa = GqaMode::Mean;
  } else if (gqa == "repeat") {
    p.gqa = GqaMode::Repeat;
  } else {
    throw Napi::RangeError::New(env, "gqa must be 'mean' or 'repeat'");
  }
  result.reserve_tokens = integer_option(options, "reserveTokens", result.reserve_tokens);
  result.chunk_tokens = integer_option(options, "chunkTokens", result.chunk_tokens);
  if (result.chunk_tokens < 1) throw Napi::RangeError::New(env, "chunkTokens must be positive");
  return result;
}

}  // namespace snapkv::binding
