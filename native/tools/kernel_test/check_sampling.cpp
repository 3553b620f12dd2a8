// Device sampling against the CPU sampler (sampling/sampler.cpp) given the
// same random number: the CPU sampler draws uniform(0, total) from
// mt19937_64(seed), which libstdc++ computes as generate_canonical<double,
// 53>(engine) * total; the device kernel gets that canonical number and
// multiplies by its own total. The two totals are double sums in different
// orders, so a draw may differ only when the target lies within ~1e-12 of a
// boundary between two candidates' cumulative weights (a near-tie); such
// draws are counted and allowed, any other difference fails.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "harness.h"
#include "sampling.h"
#include "sampling/sampler.h"

namespace snapkv::kernel_test {

namespace {

double canonical_draw(std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  return std::generate_canonical<double, std::numeric_limits<double>::digits>(engine);
}

// How close the CPU's target came to a boundary between two candidates: the
// distance, relative to the total, from target to the nearest cumulative sum.
// A diagnostic for differing draws only (the CPU's own arithmetic, redone).
double boundary_distance(const std::vector<float>& logits, const SamplingOptions& o, double u) {
  std::vector<std::pair<float, int>> c;
  for (int i = 0; i < static_cast<int>(logits.size()); ++i) c.push_back({logits[i], i});
  std::sort(c.begin(), c.end(), [](auto a, auto b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::size_t keep = c.size();
  if (o.top_k > 0 && static_cast<std::size_t>(o.top_k) < keep) keep = static_cast<std::size_t>(o.top_k);
  std::vector<double> w(keep);
  double total = 0;
  for (std::size_t i = 0; i < keep; ++i) total += (w[i] = std::exp((c[i].first - static_cast<double>(c[0].first)) / o.temperature));
  double nearest = std::numeric_limits<double>::infinity();
  if (o.top_p < 1.0f) {
    double cumulative = 0;
    std::size_t nucleus = keep;
    for (std::size_t i = 0; i < keep; ++i) {
      cumulative += w[i] / total;
      nearest = std::min(nearest, std::fabs(cumulative - o.top_p));
      if (cumulative >= o.top_p) {
        nucleus = i + 1;
        break;
      }
    }
    keep = nucleus;
    total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += w[i];
  }
  double running = 0;
  for (std::size_t i = 0; i < keep; ++i) {
    running += w[i];
    nearest = std::min(nearest, std::fabs(running - u * total) / total);
  }
  return nearest;
}

}  // namespace

void check_sampling_kernels(Context& ctx) {
  const int vocab = 151943;
  struct Case {
    float temperature;
    int top_k;
    float top_p;
    bool quantised;
  };
  const Case cases[] = {{0.0f, 0, 1.0f, false}, {0.0f, 0, 1.0f, true},   {0.8f, 0, 1.0f, false},  {1.0f, 40, 1.0f, false},
                        {0.7f, 0, 0.9f, false}, {1.3f, 200, 0.8f, false}, {1.0f, 50, 0.95f, true}, {0.9f, 0, 0.5f, true},
                        {2.0f, 1, 1.0f, false}, {0.5f, vocab + 5, 0.3f, false}};
  const int draws = 64;
  DeviceBuffer workspace(gpu::sampling_workspace_bytes(vocab));
  DeviceBuffer token(4);
  for (const Case& c : cases) {
    std::vector<float> logits(static_cast<std::size_t>(vocab));
    for (float& x : logits) {
      x = ctx.random.nonzero(8.0f);
      if (c.quantised) x = std::round(x * 4) / 4;  // many equal logits: the lower id must win
    }
    // Equal maxima at two ids: greedy must return the lower.
    const int a = ctx.random.integer(0, vocab / 2), b = ctx.random.integer(vocab / 2 + 1, vocab - 1);
    logits[a] = logits[b] = 9.5f;
    DeviceBuffer d_logits = upload_vector(logits);
    std::size_t same = 0, near_ties = 0, wrong = 0;
    std::string first_wrong;
    const int runs = c.temperature == 0.0f ? 1 : draws;
    for (int run = 0; run < runs; ++run) {
      const std::uint64_t seed = ctx.options.seed * 1000003ull + static_cast<std::uint64_t>(run) * 7919ull + 17;
      SamplingOptions options;
      options.temperature = c.temperature;
      options.top_k = c.top_k;
      options.top_p = c.top_p;
      options.seed = seed;
      Sampler sampler(options);
      const int expected = sampler.sample(logits.data(), vocab);
      const double u = canonical_draw(seed);
      workspace.poison();
      token.poison();
      gpu::DeviceSampling device_options{c.temperature, c.top_k, c.top_p};
      gpu::sample_token(d_logits.as<float>(), vocab, device_options, u, workspace.get(), token.as<int>(), ctx.stream);
      ctx.sync();
      const int got = download_vector<int>(token, 1)[0];
      if (got == expected) {
        ++same;
      } else if (c.temperature > 0 && boundary_distance(logits, options, u) < 1e-12) {
        ++near_ties;
      } else {
        ++wrong;
        if (first_wrong.empty()) {
          first_wrong = "draw " + std::to_string(run) + " u " + std::to_string(u) + ": gpu " + std::to_string(got) + " cpu " +
                        std::to_string(expected);
        }
      }
    }
    CheckResult r;
    char name[160];
    std::snprintf(name, sizeof name, "sample_token vocab %d T %.2g top_k %d top_p %.2g%s", vocab, c.temperature, c.top_k, c.top_p,
                  c.quantised ? " (tied logits)" : "");
    r.name = name;
    r.pass = wrong == 0;
    char note[200];
    std::snprintf(note, sizeof note, "%zu of %d draws identical, %zu near-ties%s%s", same, runs, near_ties,
                  first_wrong.empty() ? "" : "; ", first_wrong.c_str());
    r.note = note;
    ctx.report.add(r);
  }
}

}  // namespace snapkv::kernel_test
