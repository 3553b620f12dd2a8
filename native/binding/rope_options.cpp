#include "rope_options.h"

#include "js_values.h"

namespace snapkv::binding {

RopeScalingRequest rope_scaling_from_js(Napi::Object options) {
  RopeScalingRequest request;
  Napi::Env env = options.Env();
  const std::string kind = string_option(options, "ropeScaling", "");
  if (kind.empty()) return request;
  request.set = true;
  if (kind == "none") {
    request.kind = RopeScalingKind::None;
  } else if (kind == "linear") {
    request.kind = RopeScalingKind::Linear;
  } else if (kind == "yarn") {
    request.kind = RopeScalingKind::Yarn;
  } else {
    throw Napi::TypeError::New(env, "ropeScaling must be 'none', 'linear' or 'yarn'");
  }
  request.factor = number_option(options, "ropeScale", 1.0);
  if (request.kind != RopeScalingKind::None && !(request.factor >= 1.0 && request.factor <= 1024.0)) {
    throw Napi::RangeError::New(env, "ropeScale must be from 1 to 1024");
  }
  return request;
}

void set_rope_and_attention_info(Napi::Object info, const ModelConfig& c) {
  info.Set("fileContextLength", c.file_context_length);
  info.Set("ropeScaling", rope_scaling_name(c.rope_scaling.kind));
  info.Set("ropeScale", c.rope_scaling.factor);
  if (c.rope_scaling.kind != RopeScalingKind::None) info.Set("ropeOriginalContext", c.rope_scaling.original_context);
  info.Set("ropeFreqFactors", c.rope_freq_factors);
  info.Set("qkNorm", c.qk_norm);
}

}  // namespace snapkv::binding
