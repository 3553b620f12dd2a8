#include "unit_test_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>

#include "cpu/attention.h"
#include "cpu/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/model_config.h"
#include "snapkv/selection.h"
#include "snapkv/window_attention.h"

namespace snapkv_unit {

namespace {

using namespace snapkv;

void expect(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error(what);
}

struct Shape {
  int heads, cache_heads, d, base_length, past, tokens;
};

std::string describe(KvType type, const Shape& s) {
  return std::string(kv_type_name(type)) + " heads " + std::to_string(s.heads) + "/" + std::to_string(s.cache_heads) +
         " d " + std::to_string(s.d) + " base " + std::to_string(s.base_length) + " past " + std::to_string(s.past) +
         " tokens " + std::to_string(s.tokens);
}

// Random non-zero values, both signs, magnitudes spread over 2^-3 .. 2^1.
std::vector<float> random_values(std::size_t count, std::mt19937& random) {
  std::uniform_real_distribution<float> exponent(-3.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = std::exp2(exponent(random)) * ((random() & 1u) ? 1.0f : -1.0f);
  return values;
}

// One call of causal_attention; returns its output.
std::vector<float> attend(const float* q, const AttentionSource& source, int past, int tokens, int heads, int d,
                          ThreadPool& pool) {
  std::vector<float> out(static_cast<std::size_t>(tokens) * heads * d, std::nanf(""));
  causal_attention(q, source, past, tokens, heads, out.data(), pool);
  return out;
}

void check_shape(KvType type, const Shape& s, unsigned seed, double& worst) {
  const std::string where = describe(type, s);
  std::mt19937 random(seed);
  const int length = s.base_length + s.past + s.tokens;
  const int own_length = s.past + s.tokens;
  // keys[h][j], values[h][j]: rows of the whole sequence, as written.
  std::vector<std::vector<float>> keys, values;
  for (int h = 0; h < s.cache_heads; ++h) {
    keys.push_back(random_values(static_cast<std::size_t>(length) * s.d, random));
    values.push_back(random_values(static_cast<std::size_t>(length) * s.d, random));
  }
  const std::vector<float> q = random_values(static_cast<std::size_t>(s.tokens) * s.heads * s.d, random);

  KvCache whole(1, s.cache_heads, s.d, length, type);
  KvCache base(1, s.cache_heads, s.d, std::max(1, s.base_length), type);
  KvCache own(1, s.cache_heads, s.d, own_length, type);
  for (int h = 0; h < s.cache_heads; ++h) {
    whole.write_rows(0, 0, h, 0, length, keys[h].data());
    whole.write_rows(0, 1, h, 0, length, values[h].data());
    if (s.base_length > 0) {
      base.write_rows(0, 0, h, 0, s.base_length, keys[h].data());
      base.write_rows(0, 1, h, 0, s.base_length, values[h].data());
    }
    own.write_rows(0, 0, h, 0, own_length, keys[h].data() + static_cast<std::size_t>(s.base_length) * s.d);
    own.write_rows(0, 1, h, 0, own_length, values[h].data() + static_cast<std::size_t>(s.base_length) * s.d);
  }
  AttentionSource split;
  split.base = s.base_length > 0 ? &base : nullptr;
  split.base_length = s.base_length;
  split.own = &own;
  AttentionSource single;
  single.own = &whole;

  ThreadPool one(1), two(2), three(3);
  const std::vector<float> got = attend(q.data(), split, s.past, s.tokens, s.heads, s.d, two);
  expect(attend(q.data(), single, s.base_length + s.past, s.tokens, s.heads, s.d, one) == got,
         where + ": one cache and a base split at " + std::to_string(s.base_length) + " differ");
  expect(attend(q.data(), split, s.past, s.tokens, s.heads, s.d, three) == got, where + ": 3 threads differ from 2");
  const std::size_t row = static_cast<std::size_t>(s.heads) * s.d;
  for (int t = 0; t < s.tokens; t += std::max(1, s.tokens / 5)) {
    for (ThreadPool* pool : {&one, &three}) {
      const std::vector<float> step = attend(q.data() + t * row, single, s.base_length + s.past + t, 1, s.heads, s.d, *pool);
      expect(std::equal(step.begin(), step.end(), got.begin() + t * row),
             where + ": token " + std::to_string(t) + " alone differs from its batch (" +
                 std::to_string(pool->size()) + " threads)");
    }
  }

  // float64 over the stored rows (what the type rounded them to).
  std::vector<std::vector<float>> stored_keys(s.cache_heads), stored_values(s.cache_heads);
  for (int h = 0; h < s.cache_heads; ++h) {
    stored_keys[h].resize(keys[h].size());
    stored_values[h].resize(values[h].size());
    whole.read_rows(0, 0, h, 0, length, stored_keys[h].data());
    whole.read_rows(0, 1, h, 0, length, stored_values[h].data());
  }
  const int group = s.heads / s.cache_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.d));
  std::vector<double> scores(static_cast<std::size_t>(length));
  for (int t = 0; t < s.tokens; ++t) {
    const int visible = s.base_length + s.past + t + 1;
    for (int h = 0; h < s.heads; ++h) {
      const float* query = q.data() + t * row + static_cast<std::size_t>(h) * s.d;
      const std::vector<float>& k = stored_keys[h / group];
      const std::vector<float>& v = stored_values[h / group];
      double largest = -INFINITY, magnitude = 0;
      for (int j = 0; j < visible; ++j) {
        double dot = 0, size = 0;
        for (int c = 0; c < s.d; ++c) {
          dot += static_cast<double>(query[c]) * k[static_cast<std::size_t>(j) * s.d + c];
          size += std::fabs(static_cast<double>(query[c]) * k[static_cast<std::size_t>(j) * s.d + c]);
        }
        scores[j] = dot * scale;
        largest = std::max(largest, scores[j]);
        magnitude = std::max(magnitude, size * scale);
      }
      double total = 0;
      for (int j = 0; j < visible; ++j) total += (scores[j] = std::exp(scores[j] - largest));
      // Each f32 score is off by at most ~d roundings of its magnitude; each
      // weight by that plus the exponential's few ulp; the output by that
      // relative to the largest value in its column, plus its own sums.
      const double weight_error = s.d * 6e-8 * magnitude + 1e-6;
      for (int c = 0; c < s.d; ++c) {
        double expected = 0, column = 0;
        for (int j = 0; j < visible; ++j) {
          expected += scores[j] * v[static_cast<std::size_t>(j) * s.d + c];
          column = std::max(column, std::fabs(static_cast<double>(v[static_cast<std::size_t>(j) * s.d + c])));
        }
        expected /= total;
        const double error = std::fabs(got[t * row + static_cast<std::size_t>(h) * s.d + c] - expected);
        const double bound = 2 * weight_error * column;
        worst = std::max(worst, error / bound);
        expect(error <= bound, where + ": token " + std::to_string(t) + " head " + std::to_string(h) + " column " +
                                   std::to_string(c) + " is " + std::to_string(got[t * row + h * s.d + c]) +
                                   ", float64 " + std::to_string(expected));
      }
    }
  }
}

// SnapKV's window sums against float64: both passes' ways (kept weights and
// scoring again), a base split at an odd position, and thread counts.
void check_window_sums(KvType type, int heads, int kv_heads, int d, int base_length, int length, int window,
                       unsigned seed, double& worst) {
  const std::string where = std::string(kv_type_name(type)) + " heads " + std::to_string(heads) + "/" +
                            std::to_string(kv_heads) + " d " + std::to_string(d) + " length " + std::to_string(length) +
                            " window " + std::to_string(window);
  std::mt19937 random(seed);
  ModelConfig c;
  c.heads = heads;
  c.kv_heads = kv_heads;
  c.head_dim = d;
  KvCache whole(1, kv_heads, d, length, type);
  KvCache base(1, kv_heads, d, base_length, type);
  KvCache own(1, kv_heads, d, length - base_length, type);
  std::vector<std::vector<float>> stored(static_cast<std::size_t>(kv_heads));
  for (int h = 0; h < kv_heads; ++h) {
    const std::vector<float> keys = random_values(static_cast<std::size_t>(length) * d, random);
    whole.write_rows(0, 0, h, 0, length, keys.data());
    base.write_rows(0, 0, h, 0, base_length, keys.data());
    own.write_rows(0, 0, h, 0, length - base_length, keys.data() + static_cast<std::size_t>(base_length) * d);
    stored[h].resize(keys.size());
    whole.read_rows(0, 0, h, 0, length, stored[h].data());
  }
  const std::vector<float> queries = random_values(static_cast<std::size_t>(window) * heads * d, random);
  const PromptKeys single{nullptr, 0, 0, &whole, length, 0};
  const PromptKeys split{&base, base_length, 0, &own, length - base_length, 0};
  ThreadPool one(1), three(3);
  const auto got = window_attention_sums(split, queries.data(), window, c, three);  // weights kept
  expect(window_attention_sums(split, queries.data(), window, c, one) == got, where + ": 1 thread differs from 3");
  const auto scored_again = window_attention_sums(single, queries.data(), window, c, one);  // no base: scored twice
  expect(window_attention_sums(split, queries.data(), window, c, three, 0) == scored_again,
         where + ": one cache and a base split differ");

  const int scored = length - window, group = heads / kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (int h = 0; h < heads; ++h) {
    std::vector<double> expected(static_cast<std::size_t>(scored), 0.0);
    double magnitude = 0;
    for (int t = 0; t < window; ++t) {
      const float* q = queries.data() + (static_cast<std::size_t>(t) * heads + h) * d;
      const int visible = scored + t + 1;
      std::vector<double> p(static_cast<std::size_t>(visible));
      double largest = -INFINITY, total = 0;
      for (int j = 0; j < visible; ++j) {
        double dot = 0, size = 0;
        for (int i = 0; i < d; ++i) {
          dot += static_cast<double>(q[i]) * stored[h / group][static_cast<std::size_t>(j) * d + i];
          size += std::fabs(static_cast<double>(q[i]) * stored[h / group][static_cast<std::size_t>(j) * d + i]);
        }
        p[j] = dot * scale;
        largest = std::max(largest, p[j]);
        magnitude = std::max(magnitude, size * scale);
      }
      for (int j = 0; j < visible; ++j) total += (p[j] = std::exp(p[j] - largest));
      for (int j = 0; j < scored; ++j) expected[j] += p[j] / total;
    }
    // Each probability is off by its weight's error (as in check_shape) relative, twice over
    // (pass 1's totals and pass 2's weights), plus the window's f32 additions.
    const double relative = 2 * (d * 6e-8 * magnitude + 1e-6) + window * 6e-8;
    for (int j = 0; j < scored; ++j) {
      for (const auto* sums : {&got, &scored_again}) {
        const double error = std::fabs((*sums)[h][j] - expected[j]);
        worst = std::max(worst, error / (relative * expected[j]));
        expect(error <= relative * expected[j], where + (sums == &got ? "" : " (scored again)") + ": head " +
                                                    std::to_string(h) + " column " + std::to_string(j) + " sums " +
                                                    std::to_string((*sums)[h][j]) + ", float64 " +
                                                    std::to_string(expected[j]));
      }
    }
  }
}

}  // namespace

std::vector<std::pair<std::string, std::function<void()>>> attention_checks() {
  return {
      {"attention, every KV type: float64 softmax over the stored rows; batch, base split, decode steps and threads "
       "agree bit for bit",
       [] {
         // Odd lengths: not multiples of the 64-key tile, the 8 or 16 lanes, or a block's rows.
         const std::vector<Shape> shapes = {
             {14, 2, 64, 45, 700, 77},  // Qwen2.5-0.5B's groups of 7, a prompt past a dozen tiles
             {12, 2, 64, 0, 131, 70},   // Qwen2.5-Coder-1.5B's groups of 6, no base
             {6, 3, 40, 19, 0, 53},     // d not a multiple of 16
             {4, 4, 36, 70, 3, 9},      // one head per query head, d not a multiple of 8
             {8, 1, 96, 1, 64, 130},    // one KV head; a base of one slot
         };
         double worst = 0;
         unsigned seed = 1;
         for (KvType type : {KvType::F32, KvType::F16, KvType::BF16, KvType::Q8_0}) {
           for (const Shape& shape : shapes) {
             if (type == KvType::Q8_0 && shape.d % 32 != 0) continue;
             check_shape(type, shape, seed++, worst);
           }
         }
         std::printf("INFO attention: largest error %.3f of its bound\n", worst);
       }},
      {"SnapKV window sums, every KV type: float64 softmax sums over the stored keys, kept weights or scored again; "
       "a base split and thread counts agree bit for bit",
       [] {
         double worst = 0;
         unsigned seed = 100;
         for (KvType type : {KvType::F32, KvType::F16, KvType::BF16, KvType::Q8_0}) {
           check_window_sums(type, 14, 2, 64, 77, 301, 32, seed++, worst);  // window reaching back into a tile of its own
           check_window_sums(type, 12, 2, 64, 130, 197, 16, seed++, worst);
           if (type != KvType::Q8_0) check_window_sums(type, 4, 4, 40, 3, 150, 7, seed++, worst);
         }
         std::printf("INFO window sums: largest error %.3f of its bound\n", worst);
       }},
  };
}

}  // namespace snapkv_unit
