#pragma once
// The RoPE scaling a caller asks for: { ropeScaling: 'none' | 'linear' | 'yarn', ropeScale: number }.
#include <napi.h>

#include "model/model_config.h"

namespace snapkv::binding {

// Unset when `ropeScaling` is absent; a TypeError/RangeError for bad values.
RopeScalingRequest rope_scaling_from_js(Napi::Object options);

// ropeScaling, ropeScale, ropeOriginalContext, fileContextLength, ropeFreqFactors, qkNorm on `info`.
void set_rope_and_attention_info(Napi::Object info, const ModelConfig& config);

}  // namespace snapkv::binding
