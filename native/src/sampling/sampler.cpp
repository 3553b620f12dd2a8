#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>

#include "common/engine_error.h"

namespace snapkv {

void validate_sampling_options(const SamplingOptions& o) {
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature)) {
    fail(ErrorCode::InvalidArgument, "temperature must be 0 (greedy) or positive, got ", o.temperature);
  }
  if (o.top_k < 0) fail(ErrorCode::InvalidArgument, "topK must be 0 (off) or positive, got ", o.top_k);
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) {
    fail(ErrorCode::InvalidArgument, "topP must be in (0, 1], got ", o.top_p);
  }
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  validate_sampling_options(options);
}

int Sampler::sample(const float* logits, int vocab) {
  if (options_.temperature == 0.0f) {
    return static_cast<int>(std::max_element(logits, logits + vocab) - logits);
  }
  candidates_.resize(static_cast<std::size_t>(vocab));
  for (int i = 0; i < vocab; ++i) candidates_[i] = {logits[i], i};
  // Highest logit first; equal logits by lower id, so the order is deterministic.
  auto higher = [](const std::pair<float, int>& a, const std::pair<float, int>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  std::size_t keep = candidates_.size();
  if (options_.top_k > 0 && static_cast<std::size_t>(options_.top_k) < keep) {
    keep = static_cast<std::size_t>(options_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), higher);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), higher);
  }
  // Softmax over the survivors at the given temperature, in double.
  const double top = candidates_[0].first;
  std::vector<double> weights(keep);
  double total = 0;
  for (std::size_t i = 0; i < keep; ++i) {
    weights[i] = std::exp((candidates_[i].first - top) / options_.temperature);
    total += weights[i];
  }
  if (options_.top_p < 1.0f) {
    // The smallest prefix whose probability reaches top_p.
    double cumulative = 0;
    std::size_t nucleus = keep;
    for (std::size_t i = 0; i < keep; ++i) {
      cumulative += weights[i] / total;
      if (cumulative >= options_.top_p) {
        nucleus = i + 1;
        break;
      }
    }
    keep = nucleus;
    total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += weights[i];
  }
  std::uniform_real_distribution<double> uniform(0.0, total);
  double target = uniform(rng_);
  for (std::size_t i = 0; i < keep; ++i) {
    target -= weights[i];
    if (target < 0) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

}  // namespace snapkv
