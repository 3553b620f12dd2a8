// snapkv-bench: the CPU's measured peak and the engine's matrix products on it.
//
//   snapkv-bench peak [--threads N]
//       f32 FMA throughput of all threads (GFLOP/s): the ceiling for matmul.
//   snapkv-bench matmul --type TYPE --rows N --cols K --tokens T [--exact 0|1] [--threads N] [--repeats R]
//       median GFLOP/s of out[T x N] = in[T x K] * W[N x K]^T with W stored in TYPE (F32, F16, BF16,
//       Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K .. Q6_K), by the exact f32 path or (--exact 0, the
//       default, as a model loads) the fast path where it applies; "kernels" names the set in use.
//   snapkv-bench bandwidth [--threads N] [--mib M]
//       memory read bandwidth (GB/s) of all threads streaming M MiB (default 512, far past
//       the caches) through the engine's thread pool: the ceiling for decode, which reads
//       every weight and the KV cache once per token.
//   snapkv-bench attention --kv-type f32|f16|bf16|q8_0 --context N [--tokens T] [--layers L] [--heads H]
//                          [--kv-heads G] [--head-dim D] [--threads N] [--repeats R]
//       median ms of the attention of T new tokens (default 1: a decode step) whose last one sees N
//       cached positions, in every layer (cpuMs: CPU time of all threads, for a shared machine);
//       the KV bytes read per ms (GB/s), and for T > 1 the
//       GFLOP/s of the causal products (2 x head_dim x 2 per query head and visible key).
//   snapkv-bench select --kv-type f32|f16|bf16|q8_0 --context N [--layers L] [--heads H] [--kv-heads G]
//                       [--head-dim D] [--window W] [--budget C] [--threads N] [--repeats R]
//       median ms (wall, and cpuMs: CPU time of all threads) of SnapKV's selection (window scoring, pooling, top positions) over an N-position
//       prompt in every layer: the part of question compression that grows with the prompt
//       besides the question's own attention.
// Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "cpu/attention.h"
#include "cpu/block_decoders.h"
#include "cpu/kernel_choice.h"
#include "cpu/matmul.h"
#include "cpu/matmul_quantized.h"
#include "cpu/simd.h"
#include "cpu/thread_pool.h"
#include "gguf/ggml_type.h"
#include "kv/kv_cache.h"
#include "model/model_config.h"
#include "snapkv/selection.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds of every thread of this process: on a shared machine the wall
// clock also counts the time other programs held the cores.
double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Median wall and CPU seconds of `repeats` runs of `step`, after one warm-up run.
struct Medians {
  double wall;
  double cpu;
};
template <typename Step>
Medians timed_medians(int repeats, Step&& step) {
  step();
  std::vector<double> seconds, cpu;
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    const double cpu_start = process_cpu_seconds();
    step();
    seconds.push_back(seconds_since(start));
    cpu.push_back(process_cpu_seconds() - cpu_start);
  }
  std::sort(seconds.begin(), seconds.end());
  std::sort(cpu.begin(), cpu.end());
  return {seconds[seconds.size() / 2], cpu[cpu.size() / 2]};
}

std::string flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

// Twelve independent FMA chains per thread hide the FMA latency, so the loop
// runs at the units' throughput.
double fma_loop(long iterations) {
  using namespace snapkv::simd;
  constexpr int kChains = 12;
  Vec acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = broadcast(1.0f + 0.001f * i);
  const Vec a = broadcast(0.999999f), b = broadcast(1e-7f);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < kChains; ++i) acc[i] = fma(acc[i], a, b);
  }
  Vec total = acc[0];
  for (int i = 1; i < kChains; ++i) total = add(total, acc[i]);
  return sum(total);
}

int peak(int threads) {
  snapkv::ThreadPool pool(threads);
  const long iterations = 20'000'000;
  std::vector<double> sink(static_cast<std::size_t>(pool.size()));
  double best = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto start = Clock::now();
    pool.parallel_for(pool.size(), [&](int task, int) { sink[task] = fma_loop(iterations); });
    const double seconds = seconds_since(start);
    const double flops = 2.0 * 12 * snapkv::simd::kLanes * static_cast<double>(iterations) * pool.size();
    best = std::max(best, flops / seconds / 1e9);
  }
  double checksum = 0;
  for (double s : sink) checksum += s;
  std::cout << "{\"peakGflops\":" << best << ",\"threads\":" << pool.size() << ",\"lanes\":" << snapkv::simd::kLanes
            << ",\"checksum\":" << checksum << "}\n";
  return 0;
}

// Sums n floats with four independent accumulators: loads, not adds, set the pace.
float read_sum(const float* p, std::size_t n) {
  using namespace snapkv::simd;
  Vec a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
  std::size_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    a0 = add(a0, load(p + i));
    a1 = add(a1, load(p + i + kLanes));
    a2 = add(a2, load(p + i + 2 * kLanes));
    a3 = add(a3, load(p + i + 3 * kLanes));
  }
  float total = sum(add(add(a0, a1), add(a2, a3)));
  for (; i < n; ++i) total += p[i];
  return total;
}

int bandwidth(int threads, std::size_t mib) {
  snapkv::ThreadPool pool(threads);
  const int parts = pool.size();
  const std::size_t per_part = (mib << 20) / sizeof(float) / parts / 64 * 64;
  std::vector<float> buffer(per_part * parts);
  // Each part is first written by a pool thread, as the engine's caches and weights are first touched.
  pool.parallel_for(parts, [&](int part, int) {
    float* p = buffer.data() + per_part * part;
    for (std::size_t i = 0; i < per_part; ++i) p[i] = 1.0f + static_cast<float>(i & 7);
  });
  std::vector<double> sums(static_cast<std::size_t>(parts));
  double best = 0;
  for (int repeat = 0; repeat < 7; ++repeat) {
    const auto start = Clock::now();
    pool.parallel_for(parts, [&](int part, int) { sums[part] += read_sum(buffer.data() + per_part * part, per_part); });
    const double seconds = seconds_since(start);
    best = std::max(best, static_cast<double>(buffer.size() * sizeof(float)) / seconds / 1e9);
  }
  double checksum = 0;
  for (double s : sums) checksum += s;
  std::cout << "{\"readGBps\":" << best << ",\"bytes\":" << buffer.size() * sizeof(float) << ",\"threads\":" << parts
            << ",\"checksum\":" << checksum << "}\n";
  return 0;
}

int attention(int argc, char** argv) {
  const snapkv::KvType type = snapkv::parse_kv_type(flag(argc, argv, "--kv-type", "f16"));
  const int context = std::stoi(flag(argc, argv, "--context", "32768"));
  const int layers = std::stoi(flag(argc, argv, "--layers", "24"));
  const int heads = std::stoi(flag(argc, argv, "--heads", "14"));
  const int kv_heads = std::stoi(flag(argc, argv, "--kv-heads", "2"));
  const int d = std::stoi(flag(argc, argv, "--head-dim", "64"));
  const int repeats = std::stoi(flag(argc, argv, "--repeats", "9"));
  const int tokens = std::max(1, std::min(context + 1, std::stoi(flag(argc, argv, "--tokens", "1"))));
  snapkv::ThreadPool pool(std::stoi(flag(argc, argv, "--threads", "0")));
  snapkv::KvCache cache(layers, kv_heads, d, context + 1, type);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> rows(static_cast<std::size_t>(context + 1) * d);
  for (float& x : rows) x = value(rng);
  for (int l = 0; l < layers; ++l) {
    for (int h = 0; h < kv_heads; ++h) {
      for (int kind = 0; kind < 2; ++kind) cache.write_rows(l, kind, h, 0, context + 1, rows.data());
    }
  }
  cache.reset(context + 1, context + 1);
  std::vector<float> q(static_cast<std::size_t>(tokens) * heads * d), out(q.size());
  for (float& x : q) x = value(rng);
  auto step = [&] {
    for (int l = 0; l < layers; ++l) {
      snapkv::AttentionSource source;
      source.own = &cache;
      source.own_layer = l;
      snapkv::causal_attention(q.data(), source, context + 1 - tokens, tokens, heads, out.data(), pool);
    }
  };
  const Medians timed = timed_medians(repeats, step);
  const double median = timed.wall;
  const double bytes = static_cast<double>(cache.used_bytes());
  double pairs = 0;  // (query head, visible key) pairs of one layer
  for (int t = 0; t < tokens; ++t) pairs += static_cast<double>(heads) * (context + 2 - tokens + t);
  const double gflops = pairs * 4.0 * d * layers / median / 1e9;
  std::cout << "{\"kvType\":\"" << snapkv::kv_type_name(type) << "\",\"context\":" << context << ",\"tokens\":" << tokens
            << ",\"gflops\":" << gflops << ",\"cpuMs\":" << timed.cpu * 1e3 << ",\"layers\":" << layers
            << ",\"kvBytes\":" << bytes << ",\"medianMs\":" << median * 1e3 << ",\"kvGBps\":" << bytes / median / 1e9
            << ",\"threads\":" << pool.size() << ",\"checksum\":" << out[0] << "}\n";
  return 0;
}

std::uint16_t to_f16(float x) {
#if defined(__F16C__)
  return _cvtss_sh(x, 0);
#else
  (void)x;
  return 0x3c00;  // 1.0: only the speed is measured here
#endif
}

std::vector<std::uint8_t> random_weights(snapkv::GgmlType type, int rows, int cols, std::size_t& row_bytes) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<std::uint8_t> bytes;
  if (const snapkv::BlockFormat* format = block_format(type); format && type != snapkv::GgmlType::Q8_0) {
    // Speed does not depend on the values; bytes below 0x3c keep every f16
    // scale finite and small.
    row_bytes = static_cast<std::size_t>(cols / format->values) * format->bytes;
    bytes.resize(row_bytes * rows);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng() % 0x3c);
    return bytes;
  }
  switch (type) {
    case snapkv::GgmlType::F32: row_bytes = cols * 4u; break;
    case snapkv::GgmlType::F16: case snapkv::GgmlType::BF16: row_bytes = cols * 2u; break;
    default: row_bytes = cols / 32 * 34u; break;
  }
  bytes.resize(row_bytes * rows);
  for (int r = 0; r < rows; ++r) {
    std::uint8_t* row = bytes.data() + row_bytes * r;
    for (int c = 0; c < cols; ++c) {
      const float x = value(rng);
      if (type == snapkv::GgmlType::F32) {
        std::memcpy(row + 4 * c, &x, 4);
      } else if (type == snapkv::GgmlType::F16) {
        const std::uint16_t h = to_f16(x);
        std::memcpy(row + 2 * c, &h, 2);
      } else if (type == snapkv::GgmlType::BF16) {
        std::uint32_t bits;
        std::memcpy(&bits, &x, 4);
        const std::uint16_t h = static_cast<std::uint16_t>(bits >> 16);
        std::memcpy(row + 2 * c, &h, 2);
      } else {
        std::uint8_t* block = row + (c / 32) * 34;
        if (c % 32 == 0) {
          const std::uint16_t scale = to_f16(1.0f / 127);
          std::memcpy(block, &scale, 2);
        }
        block[2 + c % 32] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::lround(x * 127)));
      }
    }
  }
  return bytes;
}

int matmul(int argc, char** argv) {
  const std::string type_name = flag(argc, argv, "--type", "F32");
  snapkv::GgmlType type = snapkv::GgmlType::F32;
  bool known = false;
  for (std::uint32_t id = 0; id < 64 && !known; ++id) {
    const auto traits = snapkv::ggml_type_traits(id);
    if (traits && type_name == traits->name) {
      type = static_cast<snapkv::GgmlType>(id);
      known = type == snapkv::GgmlType::F32 || type == snapkv::GgmlType::F16 || type == snapkv::GgmlType::BF16 ||
              snapkv::block_format(type) != nullptr;
    }
  }
  if (!known) {
    std::cerr << "snapkv-bench: unknown --type " << type_name << "\n";
    return 2;
  }
  const int rows = std::stoi(flag(argc, argv, "--rows", "896"));
  const int cols = std::stoi(flag(argc, argv, "--cols", "896"));
  const int tokens = std::stoi(flag(argc, argv, "--tokens", "256"));
  const int repeats = std::stoi(flag(argc, argv, "--repeats", "7"));
  snapkv::ThreadPool pool(std::stoi(flag(argc, argv, "--threads", "0")));

  snapkv::WeightMatrix w;
  w.type = type;
  w.rows = rows;
  w.cols = cols;
  w.exact = flag(argc, argv, "--exact", "0") == "1";
  std::vector<std::uint8_t> bytes = random_weights(type, rows, cols, w.row_bytes);
  w.data = bytes.data();
  std::vector<float> in(static_cast<std::size_t>(tokens) * cols), out(static_cast<std::size_t>(tokens) * rows);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (float& x : in) x = value(rng);

  // Which path ran: the fast one only where it applies (matmul() decides the same way).
  const bool fast = !w.exact && snapkv::quantized_matmul_applies(w, tokens, snapkv::active_quant_kernels());
  const Medians timed = timed_medians(repeats, [&] { snapkv::matmul(w, in.data(), out.data(), tokens, pool); });
  const double median = timed.wall;
  const double flops = 2.0 * tokens * static_cast<double>(rows) * cols;
  std::cout << "{\"type\":\"" << type_name << "\",\"rows\":" << rows << ",\"cols\":" << cols << ",\"tokens\":" << tokens
            << ",\"medianMs\":" << median * 1e3 << ",\"cpuMs\":" << timed.cpu * 1e3 << ",\"gflops\":" << flops / median / 1e9
            << ",\"weightGBps\":" << static_cast<double>(bytes.size()) / median / 1e9 << ",\"threads\":" << pool.size()
            << ",\"exact\":" << (w.exact ? "true" : "false") << ",\"kernels\":\""
            << (fast ? snapkv::active_quant_kernels().name : "f32") << "\",\"checksum\":" << out[out.size() / 2] << "}\n";
  return 0;
}

}  // namespace

int select(int argc, char** argv) {
  const snapkv::KvType type = snapkv::parse_kv_type(flag(argc, argv, "--kv-type", "f16"));
  const int context = std::stoi(flag(argc, argv, "--context", "8192"));
  const int layers = std::stoi(flag(argc, argv, "--layers", "24"));
  const int repeats = std::stoi(flag(argc, argv, "--repeats", "3"));
  snapkv::ModelConfig config;
  config.heads = std::stoi(flag(argc, argv, "--heads", "14"));
  config.kv_heads = std::stoi(flag(argc, argv, "--kv-heads", "2"));
  config.head_dim = std::stoi(flag(argc, argv, "--head-dim", "64"));
  snapkv::SnapKvParams params;
  params.window = std::stoi(flag(argc, argv, "--window", "32"));
  params.budget = std::stoi(flag(argc, argv, "--budget", "2048"));
  snapkv::ThreadPool pool(std::stoi(flag(argc, argv, "--threads", "0")));
  const int d = config.head_dim;
  snapkv::KvCache cache(layers, config.kv_heads, d, context, type);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> rows(static_cast<std::size_t>(context) * d);
  for (float& x : rows) x = value(rng);
  for (int l = 0; l < layers; ++l) {
    for (int h = 0; h < config.kv_heads; ++h) cache.write_rows(l, 0, h, 0, context, rows.data());
  }
  std::vector<float> queries(static_cast<std::size_t>(params.window) * config.heads * d);
  for (float& x : queries) x = value(rng);
  double checksum = 0;
  auto step = [&] {
    for (int l = 0; l < layers; ++l) {
      const snapkv::PromptKeys keys{nullptr, 0, 0, &cache, context, l};
      checksum += snapkv::select_positions(keys, queries.data(), params, config, pool)[0].scores[0];
    }
  };
  const Medians timed = timed_medians(repeats, step);
  std::cout << "{\"kvType\":\"" << snapkv::kv_type_name(type) << "\",\"context\":" << context << ",\"layers\":" << layers
            << ",\"medianMs\":" << timed.wall * 1e3 << ",\"cpuMs\":" << timed.cpu * 1e3 << ",\"threads\":" << pool.size()
            << ",\"checksum\":" << checksum << "}\n";
  return 0;
}

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "peak") return peak(std::stoi(flag(argc, argv, "--threads", "0")));
  if (mode == "matmul") return matmul(argc, argv);
  if (mode == "attention") return attention(argc, argv);
  if (mode == "select") return select(argc, argv);
  if (mode == "bandwidth") {
    return bandwidth(std::stoi(flag(argc, argv, "--threads", "0")),
                     static_cast<std::size_t>(std::stoul(flag(argc, argv, "--mib", "512"))));
  }
  std::cerr << "usage: snapkv-bench peak [--threads N]\n"
               "       snapkv-bench bandwidth [--threads N] [--mib M]\n"
               "       snapkv-bench attention --kv-type f32|f16|bf16|q8_0 --context N [--tokens T] [--threads N]\n"
               "       snapkv-bench select --kv-type f32|f16|bf16|q8_0 --context N [--threads N]\n"
               "       snapkv-bench matmul --type TYPE --rows N --cols K --tokens T [--exact 0|1] [--threads N]\n";
  return 2;
}
