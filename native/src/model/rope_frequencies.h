#pragma once
// The rotation speed of each RoPE dimension pair, with the file's (or the
// user's) scaling applied once at load:
//
//   theta_i = base^(-2i/d) / freq_factor_i        (freq_factor: rope_freqs.weight, Llama 3.1/3.2; else 1)
//   none:    angle = position * theta_i
//   linear:  angle = position * theta_i / s
//   yarn:    angle = position * (theta_i / s * (1 - keep_i) + theta_i * keep_i),
//            keep_i = 1 - clamp((i - low) / (high - low), 0, 1), where low and high are the
//            pairs that turn beta_fast and beta_slow times over the trained context:
//            pair(r) = d * ln(trained / (2 pi r)) / (2 ln base), low = floor(pair(beta_fast)),
//            high = ceil(pair(beta_slow)), both clamped to [0, d - 1];
//            the rotated vector is scaled by attn_factor * (1 + 0.1 ln s), so the
//            attention logits q.k grow by its square (YaRN's temperature).
#include <vector>

#include "model/model_config.h"

namespace snapkv {

struct RopeFrequencies {
  std::vector<double> theta;  // radians per position, one per dimension pair
  double magnitude = 1.0;     // multiplies cos and sin
};

// `freq_factors`: head_dim / 2 divisors, or empty.
RopeFrequencies rope_frequencies(const ModelConfig& config, const std::vector<float>& freq_factors);

}  // namespace snapkv
