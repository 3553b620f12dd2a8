// SnapKV on the device against the CPU engine's selection (snapkv/selection,
// cpu_backend/kept_gather): the scoring pass, pooling, top-k, keep-all, gather,
// and the whole selection.
//
// How selections are compared. Pooling, top-k, keep-all and gather get the
// same inputs on both sides and must agree exactly (ties included: the top-k
// inputs are quantised so that many scores are equal). The scoring pass sums
// f32 softmax probabilities in another order than the CPU, so its scores
// agree within a stated relative bound `rel`, and the whole selection agrees
// as a set except at near-ties: a position kept by one side only is accepted
// when its pooled score lies within 2 rel of the selection threshold (the
// lowest kept score), i.e. when the two sides' rounding could order it either
// way. The count and share of such positions are printed; any other
// difference fails.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "cpu/simd.h"
#include "cpu/thread_pool.h"
#include "cpu_backend/kept_gather.h"
#include "harness.h"
#include "kv/kv_cache.h"
#include "model/model_config.h"
#include "snapkv/selection.h"
#include "snapkv_scores.h"
#include "snapkv_select.h"
#include "test_caches.h"

namespace snapkv::kernel_test {

namespace {

struct Prompt {
  DType type;
  int heads, kv_heads, dim, base_length, own_length, window;
  TestCache base, own;
  std::vector<float> window_queries;  // window x heads x dim, rounded
  int length() const { return base_length + own_length; }
  int scored() const { return length() - window; }
};

Prompt make_prompt(Random& random, DType type, int heads, int kv_heads, int dim, int base_length, int own_length, int window) {
  Prompt p{type, heads, kv_heads, dim, base_length, own_length, window, {}, {}, {}};
  if (base_length > 0) p.base = make_cache(random, type, kv_heads, dim, base_length + 2, base_length, 1.0f, 1.0f);
  p.own = make_cache(random, type, kv_heads, dim, own_length + 3, own_length, 1.0f, 1.0f);
  p.window_queries = random.nonzero_vector(static_cast<std::size_t>(window) * heads * dim, 3.0f);
  for (float& x : p.window_queries) x = round_to(x, type);
  return p;
}

PromptKeys prompt_keys(const Prompt& p) {
  PromptKeys keys;
  keys.base = p.base_length > 0 ? p.base.cpu.get() : nullptr;
  keys.base_length = p.base_length;
  keys.own = p.own.cpu.get();
  keys.own_length = p.own_length;
  return keys;
}

ModelConfig config_of(const Prompt& p) {
  ModelConfig c;
  c.heads = p.heads;
  c.kv_heads = p.kv_heads;
  c.head_dim = p.dim;
  c.context_length = 1 << 30;
  return c;
}

gpu::KvView prompt_view(const Prompt& p) { return view_of(p.base_length > 0 ? &p.base : nullptr, p.own); }

// The scores' relative bound: each score q.k / sqrt(d) errs by at most ds on
// either side (f32 sums of d products, Cauchy-Schwarz on the magnitudes),
// which moves exp(s - max) / sum by a relative 4 ds at most (the score, the
// max and the sum); exponentials, the window sum (W terms per head) and the
// GQA mean (group heads) add (W group + 64) u.
double score_bound(const Prompt& p) {
  const double ds = (2.0 * p.dim + 16) * kUnitF32 * max_row_norm(p.window_queries, p.dim) *
                    std::max(p.own.max_key_norm(), p.base_length > 0 ? p.base.max_key_norm() : 0.0) /
                    std::sqrt(static_cast<double>(p.dim));
  return 4 * ds + (static_cast<double>(p.window) * (p.heads / p.kv_heads) + 64) * kUnitF32;
}

std::string prompt_text(const Prompt& p) {
  return std::to_string(p.heads) + "/" + std::to_string(p.kv_heads) + " heads d" + std::to_string(p.dim) + " L " +
         std::to_string(p.length()) + " (base " + std::to_string(p.base_length) + ") W " + std::to_string(p.window) + " " +
         gpu::dtype_name(p.type);
}

// GPU scores: cache_heads x scored.
std::vector<float> gpu_scores(Context& ctx, const Prompt& p, gpu::GqaCombine gqa) {
  const int cache_heads = gqa == gpu::GqaCombine::Mean ? p.kv_heads : p.heads;
  DeviceBuffer queries = upload_as(p.window_queries, p.type);
  DeviceBuffer scores(static_cast<std::size_t>(cache_heads) * p.scored() * 4);
  scores.poison();
  DeviceBuffer workspace(gpu::snapkv_score_workspace_bytes(p.heads, p.window));
  workspace.poison();
  gpu::SnapKvScoreJob job;
  job.window_queries = queries.get();
  job.query_row_stride = static_cast<std::size_t>(p.heads) * p.dim;
  job.window = p.window;
  job.heads = p.heads;
  job.keys = prompt_view(p);
  job.gqa = gqa;
  job.scores = scores.as<float>();
  job.workspace = workspace.get();
  gpu::snapkv_scores(job, ctx.stream);
  ctx.sync();
  return download_vector<float>(scores, static_cast<std::size_t>(cache_heads) * p.scored());
}

void check_scores(Context& ctx) {
  ThreadPool pool(ctx.threads);
  struct Case {
    DType type;
    int heads, kv_heads, dim, base, own, window;
  };
  const Case cases[] = {{DType::BF16, 8, 2, 128, 0, 3001, 32}, {DType::F16, 6, 3, 64, 200, 317, 17}, {DType::BF16, 4, 2, 16, 0, 100, 40}};
  for (const Case& c : cases) {
    const Prompt p = make_prompt(ctx.random, c.type, c.heads, c.kv_heads, c.dim, c.base, c.own, c.window);
    const double rel = score_bound(p);
    for (GqaMode mode : {GqaMode::Mean, GqaMode::Repeat}) {
      // Budget = L and kernel 1: the CPU keeps every scored position with its
      // raw combined score, which makes the whole score vector comparable.
      SnapKvParams params;
      params.window = p.window;
      params.budget = p.length();
      params.kernel = 1;
      params.gqa = mode;
      const std::vector<KeptHead> kept = select_positions(prompt_keys(p), p.window_queries.data(), params, config_of(p), pool);
      const std::vector<float> got =
          gpu_scores(ctx, p, mode == GqaMode::Mean ? gpu::GqaCombine::Mean : gpu::GqaCombine::Repeat);
      std::vector<double> ref;
      for (const KeptHead& head : kept) ref.insert(ref.end(), head.scores.begin(), head.scores.begin() + p.scored());
      ctx.report.add(compare(std::string("snapkv_scores ") + (mode == GqaMode::Mean ? "mean " : "repeat ") + prompt_text(p), got, ref,
                             [&](std::size_t i) { return rel * std::fabs(ref[i]) + 1e-30; }));
    }
  }
}

void check_pool(Context& ctx) {
  for (int length : {10007, 3, 1}) {
    for (bool quantised : {false, true}) {
      const int heads = 3;
      std::vector<float> scores(static_cast<std::size_t>(heads) * length);
      for (float& s : scores) {
        s = static_cast<float>(ctx.random.uniform01()) + 1e-3f;
        if (quantised) s = std::floor(s * 16) / 16 + 0.0625f;
      }
      DeviceBuffer d_scores = upload_vector(scores);
      for (int kernel : {1, 5, 7, 9}) {
        for (Pooling pooling : {Pooling::Max, Pooling::Avg}) {
          std::vector<double> ref;
          for (int h = 0; h < heads; ++h) {
            const std::vector<float> row(scores.begin() + static_cast<std::ptrdiff_t>(h) * length,
                                         scores.begin() + static_cast<std::ptrdiff_t>(h + 1) * length);
            const std::vector<float> pooled = pool_scores(row, kernel, pooling);
            ref.insert(ref.end(), pooled.begin(), pooled.end());
          }
          DeviceBuffer out(scores.size() * 4);
          out.poison();
          gpu::snapkv_pool(d_scores.as<float>(), heads, length, kernel, pooling == Pooling::Max ? gpu::PoolKind::Max : gpu::PoolKind::Avg,
                           out.as<float>(), ctx.stream);
          ctx.sync();
          if (length == 10007 || kernel == 7) {
            ctx.report.add(compare(std::string("snapkv_pool ") + (pooling == Pooling::Max ? "max" : "avg") + " k" +
                                       std::to_string(kernel) + " " + std::to_string(heads) + "x" + std::to_string(length) +
                                       (quantised ? " (ties)" : ""),
                                   download_vector<float>(out, scores.size()), ref, [](std::size_t) { return 0.0; }));
          } else {  // fewer lines: the small cases only need to pass
            const CheckResult r = compare("snapkv_pool small", download_vector<float>(out, scores.size()), ref, [](std::size_t) { return 0.0; });
            if (!r.pass) ctx.report.add(r);
          }
        }
      }
    }
  }
}

// GPU top-k on given pooled scores; returns positions and scores (heads x budget).
void gpu_select(Context& ctx, const std::vector<float>& pooled, int heads, int scored, int budget, int window,
                std::vector<int>& positions, std::vector<float>& scores) {
  DeviceBuffer d_pooled = upload_vector(pooled);
  DeviceBuffer d_positions(static_cast<std::size_t>(heads) * budget * 4), d_scores(static_cast<std::size_t>(heads) * budget * 4);
  d_positions.poison();
  d_scores.poison();
  gpu::snapkv_select_top(d_pooled.as<float>(), heads, scored, budget, window, d_positions.as<int>(), d_scores.as<float>(), ctx.stream);
  ctx.sync();
  positions = download_vector<int>(d_positions, static_cast<std::size_t>(heads) * budget);
  scores = download_vector<float>(d_scores, static_cast<std::size_t>(heads) * budget);
}

void check_select_top(Context& ctx) {
  struct Case {
    int heads, scored, budget, window;
    bool quantised;
  };
  const Case cases[] = {{3, 100003, 2048, 32, true}, {2, 1000003, 4096, 32, false}, {2, 777, 32, 32, true},
                        {2, 500, 532, 32, true},     {4, 5, 3, 1, true},           {1, 70001, 20000, 7, true}};
  for (const Case& c : cases) {
    std::vector<float> pooled(static_cast<std::size_t>(c.heads) * c.scored);
    for (float& s : pooled) {
      s = static_cast<float>(ctx.random.uniform01()) + 1e-4f;
      if (c.quantised) s = std::floor(s * 50) / 50 + 0.02f;  // many exactly equal scores: the tie rule decides
    }
    std::vector<int> positions;
    std::vector<float> scores;
    gpu_select(ctx, pooled, c.heads, c.scored, c.budget, c.window, positions, scores);
    std::vector<float> got;
    std::vector<double> ref;
    for (int h = 0; h < c.heads; ++h) {
      const std::vector<float> row(pooled.begin() + static_cast<std::ptrdiff_t>(h) * c.scored,
                                   pooled.begin() + static_cast<std::ptrdiff_t>(h + 1) * c.scored);
      std::vector<int> expected = top_positions(row, c.budget - c.window);
      for (int t = 0; t < c.window; ++t) expected.push_back(c.scored + t);
      for (int i = 0; i < c.budget; ++i) {
        const int position = expected[i];
        got.push_back(static_cast<float>(positions[static_cast<std::size_t>(h) * c.budget + i]));
        ref.push_back(position);
        got.push_back(scores[static_cast<std::size_t>(h) * c.budget + i]);
        ref.push_back(position < c.scored ? static_cast<double>(row[position]) : INFINITY);
      }
    }
    ctx.report.add(compare("snapkv_select_top " + std::to_string(c.heads) + "x" + std::to_string(c.scored) + " budget " +
                               std::to_string(c.budget) + " W " + std::to_string(c.window) + (c.quantised ? " (ties)" : ""),
                           got, ref, [](std::size_t) { return 0.0; }));
  }
}

void check_keep_all(Context& ctx) {
  ThreadPool pool(ctx.threads);
  const Prompt p = make_prompt(ctx.random, DType::BF16, 4, 2, 64, 0, 517, 32);
  SnapKvParams params;
  params.window = 32;
  params.budget = 2048;  // > L: keep everything
  const std::vector<KeptHead> kept = select_positions(prompt_keys(p), p.window_queries.data(), params, config_of(p), pool);
  DeviceBuffer positions(static_cast<std::size_t>(p.kv_heads) * p.length() * 4), scores(positions.bytes());
  positions.poison();
  scores.fill(0x7f);  // the expected scores are NaN: an unwritten one must not pass as NaN
  gpu::snapkv_keep_all(p.kv_heads, p.length(), positions.as<int>(), scores.as<float>(), ctx.stream);
  ctx.sync();
  const std::vector<int> got_positions = download_vector<int>(positions, static_cast<std::size_t>(p.kv_heads) * p.length());
  const std::vector<float> got_scores = download_vector<float>(scores, got_positions.size());
  std::vector<float> got;
  std::vector<double> ref;
  for (int h = 0; h < p.kv_heads; ++h) {
    for (int i = 0; i < p.length(); ++i) {
      got.push_back(static_cast<float>(got_positions[static_cast<std::size_t>(h) * p.length() + i]));
      ref.push_back(kept[h].positions[i]);
      got.push_back(got_scores[static_cast<std::size_t>(h) * p.length() + i]);
      ref.push_back(kept[h].scores[i]);
    }
  }
  ctx.report.add(compare("snapkv_keep_all (L " + std::to_string(p.length()) + " < budget 2048) vs select_positions", got, ref,
                         [](std::size_t) { return 0.0; }));
}

void check_gather(Context& ctx) {
  struct Case {
    DType type;
    int kv_heads, dim, cache_heads;
  };
  const Case cases[] = {{DType::BF16, 4, 128, 4}, {DType::BF16, 4, 128, 28}, {DType::F16, 2, 64, 2}, {DType::F16, 2, 16, 6}};
  for (const Case& c : cases) {
    const int base_length = 300, own_length = 700, length = base_length + own_length;
    const int count = 257, stride = 260, capacity = 300;
    const TestCache base = make_cache(ctx.random, c.type, c.kv_heads, c.dim, 310, base_length, 1.0f, 1.0f);
    const TestCache own = make_cache(ctx.random, c.type, c.kv_heads, c.dim, 720, own_length, 1.0f, 1.0f);
    std::vector<KeptHead> kept(static_cast<std::size_t>(c.cache_heads));
    std::vector<int> positions(static_cast<std::size_t>(c.cache_heads) * stride, -1);
    for (int h = 0; h < c.cache_heads; ++h) {
      std::set<int> chosen;
      while (static_cast<int>(chosen.size()) < count - 16) chosen.insert(ctx.random.integer(0, length - 17));
      for (int t = length - 16; t < length; ++t) chosen.insert(t);
      kept[h].positions.assign(chosen.begin(), chosen.end());
      std::copy(chosen.begin(), chosen.end(), positions.begin() + static_cast<std::ptrdiff_t>(h) * stride);
    }
    PromptKeys keys;
    keys.base = base.cpu.get();
    keys.base_length = base_length;
    keys.own = own.cpu.get();
    keys.own_length = own_length;
    ModelConfig config;
    config.kv_heads = c.kv_heads;
    config.head_dim = c.dim;
    KvCache compact(1, c.cache_heads, c.dim, capacity);
    gather_kept(keys, kept, compact, 0, config);

    DeviceBuffer d_positions = upload_vector(positions);
    const std::size_t total = static_cast<std::size_t>(c.cache_heads) * capacity * c.dim;
    DeviceBuffer d_keys(total * 2), d_values(total * 2);
    d_keys.poison();
    d_values.poison();
    gpu::CompactTarget target{d_keys.get(), d_values.get(), static_cast<std::size_t>(capacity) * c.dim, c.cache_heads};
    gpu::snapkv_gather(view_of(&base, own), d_positions.as<int>(), stride, count, target, ctx.stream);
    ctx.sync();
    const std::vector<float> got_keys = download_as_f32(d_keys, total, c.type);
    const std::vector<float> got_values = download_as_f32(d_values, total, c.type);
    std::vector<float> got;
    std::vector<double> ref;
    for (int h = 0; h < c.cache_heads; ++h) {
      for (int slot = 0; slot < capacity; ++slot) {
        for (int d = 0; d < c.dim; ++d) {
          const std::size_t i = (static_cast<std::size_t>(h) * capacity + slot) * c.dim + d;
          const bool written = slot < count;  // slots past `count` must stay poisoned (NaN)
          got.push_back(got_keys[i]);
          ref.push_back(written ? compact.keys(0, h)[static_cast<std::size_t>(slot) * c.dim + d] : NAN);
          got.push_back(got_values[i]);
          ref.push_back(written ? compact.values(0, h)[static_cast<std::size_t>(slot) * c.dim + d] : NAN);
        }
      }
    }
    ctx.report.add(compare("snapkv_gather " + std::to_string(count) + " of " + std::to_string(length) + " (base " +
                               std::to_string(base_length) + ") " + std::to_string(c.kv_heads) + "->" + std::to_string(c.cache_heads) +
                               " heads d" + std::to_string(c.dim) + " " + gpu::dtype_name(c.type),
                           got, ref, [](std::size_t) { return 0.0; }));
  }
}

void check_selection(Context& ctx) {
  ThreadPool pool(ctx.threads);
  struct Case {
    DType type;
    int heads, kv_heads, dim, base, own, window, budget, kernel;
  };
  const Case cases[] = {{DType::BF16, 8, 2, 128, 1000, 3099, 32, 512, 7}, {DType::F16, 6, 3, 64, 0, 2000, 17, 300, 5}};
  for (const Case& c : cases) {
    const Prompt p = make_prompt(ctx.random, c.type, c.heads, c.kv_heads, c.dim, c.base, c.own, c.window);
    const double rel = score_bound(p);
    for (GqaMode mode : {GqaMode::Mean, GqaMode::Repeat}) {
      for (Pooling pooling : {Pooling::Max, Pooling::Avg}) {
        SnapKvParams params;
        params.window = c.window;
        params.budget = c.budget;
        params.kernel = c.kernel;
        params.pooling = pooling;
        params.gqa = mode;
        const std::vector<KeptHead> kept = select_positions(prompt_keys(p), p.window_queries.data(), params, config_of(p), pool);
        const int cache_heads = mode == GqaMode::Mean ? p.kv_heads : p.heads;
        const std::vector<float> scores = gpu_scores(ctx, p, mode == GqaMode::Mean ? gpu::GqaCombine::Mean : gpu::GqaCombine::Repeat);
        DeviceBuffer d_scores = upload_vector(scores);
        DeviceBuffer d_pooled(scores.size() * 4);
        d_pooled.poison();
        gpu::snapkv_pool(d_scores.as<float>(), cache_heads, p.scored(), c.kernel,
                         pooling == Pooling::Max ? gpu::PoolKind::Max : gpu::PoolKind::Avg, d_pooled.as<float>(), ctx.stream);
        ctx.sync();
        const std::vector<float> pooled = download_vector<float>(d_pooled, scores.size());
        std::vector<int> positions;
        std::vector<float> kept_scores;
        gpu_select(ctx, pooled, cache_heads, p.scored(), c.budget, c.window, positions, kept_scores);

        const int count = c.budget - c.window;
        std::size_t differences = 0, near_ties = 0, total = 0;
        double max_score_error = 0, bound_at_max = 0;
        std::string problem;
        for (int h = 0; h < cache_heads; ++h) {
          const int* gpu_row = positions.data() + static_cast<std::size_t>(h) * c.budget;
          const float* gpu_kept = kept_scores.data() + static_cast<std::size_t>(h) * c.budget;
          const float* pooled_row = pooled.data() + static_cast<std::size_t>(h) * p.scored();
          for (int i = 1; i < c.budget; ++i) {
            if (gpu_row[i] <= gpu_row[i - 1]) problem = "positions not strictly ascending";
          }
          for (int t = 0; t < c.window; ++t) {
            if (gpu_row[count + t] != p.scored() + t || kept[h].positions[count + t] != p.scored() + t) problem = "window positions";
          }
          const std::set<int> cpu_set(kept[h].positions.begin(), kept[h].positions.begin() + count);
          const std::set<int> gpu_set(gpu_row, gpu_row + count);
          float threshold = INFINITY;
          for (int i = 0; i < count; ++i) threshold = std::min(threshold, gpu_kept[i]);
          for (int i = 0; i < count; ++i) {
            const int position = kept[h].positions[i];
            if (gpu_set.count(position) == 0) continue;
            const auto at = std::lower_bound(gpu_row, gpu_row + count, position) - gpu_row;
            const double err = std::fabs(static_cast<double>(gpu_kept[at]) - kept[h].scores[i]);
            if (err > max_score_error) max_score_error = err, bound_at_max = rel * std::fabs(kept[h].scores[i]);
            if (err > rel * std::fabs(kept[h].scores[i])) problem = "a kept score outside the bound";
          }
          std::vector<int> only;
          std::set_symmetric_difference(cpu_set.begin(), cpu_set.end(), gpu_set.begin(), gpu_set.end(), std::back_inserter(only));
          for (int position : only) {
            ++differences;
            if (std::fabs(pooled_row[position] - threshold) <= 2 * rel * threshold) {
              ++near_ties;
            } else {
              problem = "position " + std::to_string(position) + " differs and is no near-tie";
            }
          }
          total += static_cast<std::size_t>(count);
        }
        CheckResult r;
        r.name = std::string("snapkv selection ") + (mode == GqaMode::Mean ? "mean " : "repeat ") +
                 (pooling == Pooling::Max ? "max" : "avg") + " k" + std::to_string(c.kernel) + " budget " +
                 std::to_string(c.budget) + " " + prompt_text(p);
        r.pass = problem.empty();
        r.max_error = max_score_error;
        r.bound_at_worst = bound_at_max;
        r.worst_ratio = bound_at_max > 0 ? max_score_error / bound_at_max : 0;
        char note[200];
        std::snprintf(note, sizeof note, "sets differ at %zu of %zu kept (%.3f%%), %zu near-ties (tolerance %.2g)%s%s", differences,
                      total, 100.0 * differences / total, near_ties, 2 * rel, problem.empty() ? "" : "; ", problem.c_str());
        r.note = note;
        ctx.report.add(r);
      }
    }
  }
}

}  // namespace

void check_snapkv_kernels(Context& ctx) {
  check_scores(ctx);
  check_pool(ctx);
  check_select_top(ctx);
  check_keep_all(ctx);
  check_gather(ctx);
  check_selection(ctx);
}

}  // namespace snapkv::kernel_test
