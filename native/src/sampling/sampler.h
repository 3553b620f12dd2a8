#pragma once
// Picks the next token from logits: greedy, or sampled with temperature,
// top-k and top-p, from a seeded generator so runs can be repeated.
#include <cstdint>
#include <random>
#include <vector>

namespace snapkv {

struct SamplingOptions {
  float temperature = 0.0f;  // 0: greedy
  int top_k = 0;             // 0: no limit
  float top_p = 1.0f;        // 1: no limit
  std::uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);

  // The chosen token id. Greedy ties go to the lowest id.
  int sample(const float* logits, int vocab);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int>> candidates_;
};

// Throws when an option is out of range, saying which and why.
void validate_sampling_options(const SamplingOptions& options);

}  // namespace snapkv
