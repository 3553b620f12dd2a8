#include "model/rope_frequencies.h"

#include <algorithm>
#include <cmath>

namespace snapkv {

namespace {

constexpr double kPi = 3.14159265358979323846;

// The (fractional) pair index whose wavelength fits `rotations` times into the trained context.
double pair_turning(double rotations, int head_dim, int trained_context, double base) {
  return head_dim * std::log(trained_context / (rotations * 2.0 * kPi)) / (2.0 * std::log(base));
}

}  // namespace

RopeFrequencies rope_frequencies(const ModelConfig& c, const std::vector<float>& freq_factors) {
  const int pairs = c.head_dim / 2;
  const double base = c.rope_freq_base;
  const RopeScaling& s = c.rope_scaling;
  RopeFrequencies out;
  out.theta.resize(static_cast<std::size_t>(pairs));
  double low = 0, high = 0;
  if (s.kind == RopeScalingKind::Yarn) {
    low = std::max(0.0, std::floor(pair_turning(s.beta_fast, c.head_dim, s.original_context, base)));
    high = std::min(c.head_dim - 1.0, std::ceil(pair_turning(s.beta_slow, c.head_dim, s.original_context, base)));
    out.magnitude = s.attn_factor * (1.0 + 0.1 * std::log(s.factor));
  }
  for (int i = 0; i < pairs; ++i) {
    double theta = std::pow(base, -2.0 * i / c.head_dim);
    if (!freq_factors.empty()) theta /= freq_factors[static_cast<std::size_t>(i)];
    if (s.kind == RopeScalingKind::Linear) theta /= s.factor;
    if (s.kind == RopeScalingKind::Yarn) {
      const double keep = 1.0 - std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
      theta = theta / s.factor * (1.0 - keep) + theta * keep;
    }
    out.theta[static_cast<std::size_t>(i)] = theta;
  }
  return out;
}

}  // namespace snapkv
