// --bench: each kernel at the shapes of a real model (Qwen2.5-7B: hidden 3584,
// 28 query / 4 KV heads of 128, FFN 18944, vocabulary 152064) on random data,
// timed with CUDA events after warm-up (median of --repeats runs), next to the
// device-to-device copy bandwidth measured here (the memory ceiling).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "decode_attention.h"
#include "elementwise.h"
#include "embedding.h"
#include "flash_attention.h"
#include "gemm.h"
#include "harness.h"
#include "host_weights.h"
#include "matvec.h"
#include "random_blocks.h"
#include "rms_norm.h"
#include "rope.h"
#include "sampling.h"
#include "snapkv_scores.h"
#include "snapkv_select.h"
#include "weight_formats.h"

namespace snapkv::kernel_test {

namespace {

constexpr int kHidden = 3584, kFfn = 18944, kHeads = 28, kKvHeads = 4, kDim = 128, kVocab = 152064;

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [-scale, scale], never zero; fast enough for hundreds of millions.
float fast_nonzero(std::uint64_t& state, float scale) {
  const float unit = static_cast<float>(splitmix(state) >> 40) / static_cast<float>(1 << 24);  // [0, 1)
  const float x = (2.0f * unit - 1.0f) * scale;
  return std::fabs(x) < scale * 1e-3f ? scale * 1e-3f : x;
}

DeviceBuffer random_device(std::size_t count, DType type, float scale, std::uint64_t seed) {
  std::uint64_t state = seed;
  if (type == DType::F32) {
    std::vector<float> host(count);
    for (float& x : host) x = fast_nonzero(state, scale);
    return upload_vector(host);
  }
  std::vector<std::uint16_t> host(count);
  for (auto& x : host) x = f32_to_half_bits(fast_nonzero(state, scale), type);
  return upload_vector(host);
}

struct DeviceQ8 {
  DeviceBuffer quants, scales;
  gpu::DeviceMatrix matrix;
};

DeviceQ8 random_q8(int rows, int cols, std::uint64_t seed) {
  std::uint64_t state = seed;
  const std::size_t count = static_cast<std::size_t>(rows) * cols;
  std::vector<std::int8_t> quants(count);
  for (auto& q : quants) {
    int v = static_cast<int>(splitmix(state) % 255) - 127;
    q = static_cast<std::int8_t>(v == 0 ? 1 : v);
  }
  std::vector<std::uint16_t> scales(count / 32);
  for (auto& s : scales) s = f32_to_f16(0.01f + 0.01f * static_cast<float>(splitmix(state) % 1000) / 1000.0f);
  DeviceQ8 w{upload_vector(quants), upload_vector(scales), {}};
  w.matrix = gpu::DeviceMatrix{gpu::WeightType::Q8_0, rows, cols, w.quants.get(), w.scales.get()};
  return w;
}

void line(const char* kernel, const std::string& shape, double ms, double amount, const char* unit, double ceiling) {
  if (ceiling > 0) {
    std::printf("%-26s %-44s %10.4f ms %10.1f %-7s %5.0f%% of %s\n", kernel, shape.c_str(), ms, amount, unit, 100 * amount / ceiling,
                std::strcmp(unit, "GB/s") == 0 ? "copy" : "peak");
  } else {
    std::printf("%-26s %-44s %10.4f ms %10.1f %s\n", kernel, shape.c_str(), ms, amount, unit);
  }
  std::fflush(stdout);
}

std::string dims(std::initializer_list<long long> values) {
  std::string s;
  for (long long v : values) s += (s.empty() ? "" : "x") + std::to_string(v);
  return s;
}

}  // namespace

void run_benchmarks(Context& ctx) {
  const std::uint64_t seed = ctx.options.seed;
  cudaDeviceProp props{};
  int device = 0;
  gpu::check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  gpu::check_cuda(cudaGetDeviceProperties(&props, device), "cudaGetDeviceProperties");
  std::printf("bench: %s, %d SMs, L2 %d MB, median of %d runs after 3 warm-ups\n", props.name, props.multiProcessorCount,
              props.l2CacheSize >> 20, ctx.options.repeats);

  // The memory ceiling: a 2 GiB device-to-device copy, bytes read + written.
  double copy_gbs = 0;
  {
    const std::size_t bytes = std::size_t{1} << 31;
    DeviceBuffer a(bytes), b(bytes);
    gpu::check_cuda(cudaMemset(a.get(), 1, bytes), "cudaMemset");
    const double ms = median_ms(ctx, [&] { gpu::check_cuda(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, ctx.stream), "copy"); });
    copy_gbs = 2.0 * bytes / ms / 1e6;
    line("device copy (ceiling)", "2 GiB", ms, copy_gbs, "GB/s", 0);
  }
  // bf16 dense peak of the chip: not measured (no library here); H100 SXM's
  // datasheet is 989 TFLOP/s, which the lines below use as "peak".
  const double bf16_peak = 989.0;

  // Decode: matrix-vector products (bytes = weights + x + y).
  {
    const DeviceBuffer x = random_device(kFfn, DType::F32, 1.0f, seed + 1);
    DeviceBuffer y(static_cast<std::size_t>(kVocab) * 4);
    struct Shape {
      int rows, cols;
      const char* name;
    };
    const Shape shapes[] = {{kFfn, kHidden, "gate/up"}, {kHidden, kFfn, "down"}};
    for (GgmlType type : {GgmlType::F16, GgmlType::BF16}) {
      for (const Shape& s : shapes) {
        const DeviceBuffer w = random_device(static_cast<std::size_t>(s.rows) * s.cols, type == GgmlType::F16 ? DType::F16 : DType::BF16,
                                             0.05f, seed + 2);
        const gpu::DeviceMatrix m{*gpu_weight_type(type), s.rows, s.cols, w.get(), nullptr};
        const double ms = median_ms(ctx, [&] { gpu::matvec(m, x.as<float>(), y.as<float>(), false, ctx.stream); });
        const double bytes = 2.0 * s.rows * s.cols + 4.0 * (s.rows + s.cols);
        line(type == GgmlType::F16 ? "matvec F16" : "matvec BF16", std::string(s.name) + " " + dims({s.rows, s.cols}), ms,
             bytes / ms / 1e6, "GB/s", copy_gbs);
      }
    }
    const Shape q8_shapes[] = {{kFfn, kHidden, "gate/up"}, {kHidden, kFfn, "down"}, {kVocab, kHidden, "lm head"}};
    for (const Shape& s : q8_shapes) {
      const DeviceQ8 w = random_q8(s.rows, s.cols, seed + 3);
      const double ms = median_ms(ctx, [&] { gpu::matvec(w.matrix, x.as<float>(), y.as<float>(), false, ctx.stream); });
      const double bytes = 1.0625 * s.rows * s.cols + 4.0 * (s.rows + s.cols);
      line("matvec Q8_0", std::string(s.name) + " " + dims({s.rows, s.cols}), ms, bytes / ms / 1e6, "GB/s", copy_gbs);
    }
    // The block-quantized types, decoded in place (gate/up: rows of 3584 =
    // 14 K-quant blocks), and their conversion for the prefill GEMM (bytes:
    // the blocks read + 2 per weight written).
    Random random(seed + 5);
    for (GgmlType type : block_quantized_types()) {
      const HostMatrix host = random_matrix(random, type, kFfn, kHidden, 0.05f);
      const DeviceWeights w = upload_weights(host, ctx.stream);
      const double weight_bytes = static_cast<double>(host.bytes.size());
      const std::string shape = "gate/up " + dims({kFfn, kHidden});
      double ms = median_ms(ctx, [&] { gpu::matvec(w.matrix, x.as<float>(), y.as<float>(), false, ctx.stream); });
      line(("matvec " + type_label(type)).c_str(), shape, ms, (weight_bytes + 4.0 * (kFfn + kHidden)) / ms / 1e6, "GB/s", copy_gbs);
      DeviceBuffer converted(static_cast<std::size_t>(kFfn) * kHidden * 2);
      ms = median_ms(ctx, [&] { gpu::convert_matrix(w.matrix, DType::BF16, converted.get(), ctx.stream); });
      line(("convert_matrix " + type_label(type) + "->bf16").c_str(), shape, ms, (weight_bytes + 2.0 * kFfn * kHidden) / ms / 1e6, "GB/s",
           copy_gbs);
    }
  }

  // Prefill: conversion pass and tensor-core GEMM.
  {
    const DeviceQ8 w = random_q8(kFfn, kHidden, seed + 4);
    DeviceBuffer converted(static_cast<std::size_t>(kFfn) * kHidden * 2);
    const double ms = median_ms(ctx, [&] { gpu::convert_matrix(w.matrix, DType::BF16, converted.get(), ctx.stream); });
    line("convert_matrix Q8_0->bf16", dims({kFfn, kHidden}), ms, 3.0625 * kFfn * kHidden / ms / 1e6, "GB/s", copy_gbs);
  }
  {
    struct Shape {
      int m, n, k;
    };
    const Shape shapes[] = {{2048, kFfn, kHidden}, {2048, kHidden, kFfn}, {4096, 4096, 4096}, {512, kHidden, kHidden}, {8192, 8192, 8192}};
    for (DType type : {DType::BF16, DType::F16}) {
      for (const Shape& s : shapes) {
        const DeviceBuffer a = random_device(static_cast<std::size_t>(s.m) * s.k, type, 1.0f, seed + 5);
        const DeviceBuffer b = random_device(static_cast<std::size_t>(s.n) * s.k, type, 0.05f, seed + 6);
        DeviceBuffer c(static_cast<std::size_t>(s.m) * s.n * 4);
        const double ms = median_ms(ctx, [&] { gpu::gemm(type, a.get(), s.k, b.get(), s.k, c.as<float>(), s.n, s.m, s.n, s.k, false, ctx.stream); });
        line(type == DType::BF16 ? "gemm bf16" : "gemm f16", dims({s.m, s.n, s.k}), ms, 2.0 * s.m * s.n * s.k / ms / 1e9, "TFLOP/s",
             bf16_peak);
      }
    }
  }

  // Prefill attention: one chunk of `tokens` queries after `past` keys.
  {
    struct Shape {
      int past, tokens;
    };
    const Shape shapes[] = {{0, 4096}, {30720, 2048}, {0, 16384}};
    for (const Shape& s : shapes) {
      const int length = s.past + s.tokens;
      const std::size_t head_stride = static_cast<std::size_t>(length) * kDim;
      const DeviceBuffer keys = random_device(kKvHeads * head_stride, DType::BF16, 1.0f, seed + 7);
      const DeviceBuffer values = random_device(kKvHeads * head_stride, DType::BF16, 1.0f, seed + 8);
      const DeviceBuffer q = random_device(static_cast<std::size_t>(s.tokens) * kHeads * kDim, DType::BF16, 2.0f, seed + 9);
      DeviceBuffer out(static_cast<std::size_t>(s.tokens) * kHeads * kDim * 2);
      gpu::KvView view;
      view.type = DType::BF16, view.heads = kKvHeads, view.head_dim = kDim;
      view.own = gpu::KvSegment{keys.get(), values.get(), head_stride, length};
      const double ms = median_ms(ctx, [&] {
        gpu::flash_attention_prefill(q.get(), static_cast<std::size_t>(kHeads) * kDim, s.tokens, kHeads, view, out.get(),
                                     static_cast<std::size_t>(kHeads) * kDim, ctx.stream);
      });
      const double pairs = static_cast<double>(s.tokens) * s.past + 0.5 * s.tokens * (s.tokens + 1.0);
      line("flash_attention_prefill", "28/4 d128 bf16 past " + std::to_string(s.past) + " +" + std::to_string(s.tokens), ms,
           4.0 * kDim * kHeads * pairs / ms / 1e9, "TFLOP/s", bf16_peak);
    }
  }

  // Decode attention over compact and full caches (bytes: K and V read once).
  {
    DeviceBuffer workspace(gpu::decode_attention_workspace_bytes(kHeads, kDim));
    const DeviceBuffer q = random_device(static_cast<std::size_t>(kHeads) * kDim, DType::F32, 2.0f, seed + 10);
    DeviceBuffer out(static_cast<std::size_t>(kHeads) * kDim * 4);
    for (int keys_count : {2048, 32768, 131072, 1048576}) {
      const std::size_t head_stride = static_cast<std::size_t>(keys_count) * kDim;
      const DeviceBuffer keys = random_device(kKvHeads * head_stride, DType::BF16, 1.0f, seed + 11);
      const DeviceBuffer values = random_device(kKvHeads * head_stride, DType::BF16, 1.0f, seed + 12);
      gpu::KvView view;
      view.type = DType::BF16, view.heads = kKvHeads, view.head_dim = kDim;
      view.own = gpu::KvSegment{keys.get(), values.get(), head_stride, keys_count};
      const double ms = median_ms(ctx, [&] { gpu::decode_attention(q.as<float>(), kHeads, view, out.as<float>(), workspace.get(), ctx.stream); });
      line("decode_attention", "28/4 d128 bf16 keys " + std::to_string(keys_count), ms, 2.0 * 2 * kKvHeads * head_stride / ms / 1e6,
           "GB/s", copy_gbs);
    }
  }

  // SnapKV: scoring, pooling + top-k, gather.
  {
    const int window = 32, budget = 2048;
    for (int length : {32768, 131072, 1048576}) {
      const std::size_t head_stride = static_cast<std::size_t>(length) * kDim;
      const DeviceBuffer keys = random_device(kKvHeads * head_stride, DType::BF16, 1.0f, seed + 13);
      const DeviceBuffer q = random_device(static_cast<std::size_t>(window) * kHeads * kDim, DType::BF16, 3.0f, seed + 14);
      const int scored = length - window;
      DeviceBuffer scores(static_cast<std::size_t>(kKvHeads) * scored * 4), pooled(scores.bytes());
      DeviceBuffer workspace(gpu::snapkv_score_workspace_bytes(kHeads, window));
      gpu::SnapKvScoreJob job;
      job.window_queries = q.get();
      job.query_row_stride = static_cast<std::size_t>(kHeads) * kDim;
      job.window = window, job.heads = kHeads;
      job.keys.type = DType::BF16, job.keys.heads = kKvHeads, job.keys.head_dim = kDim;
      job.keys.own = gpu::KvSegment{keys.get(), keys.get(), head_stride, length};
      job.scores = scores.as<float>(), job.workspace = workspace.get();
      double ms = median_ms(ctx, [&] { gpu::snapkv_scores(job, ctx.stream); });
      line("snapkv_scores", "28/4 d128 W32 L " + std::to_string(length), ms, 2.0 * 2 * kDim * kHeads * window * static_cast<double>(length) / ms / 1e9,
           "TFLOP/s", 0);
      ms = median_ms(ctx, [&] { gpu::snapkv_pool(scores.as<float>(), kKvHeads, scored, 7, gpu::PoolKind::Max, pooled.as<float>(), ctx.stream); });
      line("snapkv_pool max k7", "4 heads x " + std::to_string(scored), ms, 8.0 * kKvHeads * scored / ms / 1e6, "GB/s", copy_gbs);
      DeviceBuffer positions(static_cast<std::size_t>(kKvHeads) * budget * 4), kept(positions.bytes());
      ms = median_ms(ctx, [&] {
        gpu::snapkv_select_top(pooled.as<float>(), kKvHeads, scored, budget, window, positions.as<int>(), kept.as<float>(), ctx.stream);
      });
      line("snapkv_select_top", "4 heads x " + std::to_string(scored) + " budget 2048", ms, 4.0 * kKvHeads * scored / ms / 1e6, "GB/s", 0);
      if (length == 32768) {
        std::vector<int> host_positions(static_cast<std::size_t>(kKvHeads) * budget);
        for (int h = 0; h < kKvHeads; ++h)
          for (int i = 0; i < budget; ++i) host_positions[static_cast<std::size_t>(h) * budget + i] = i * (length / budget);
        positions.upload(host_positions.data(), host_positions.size() * 4);
        DeviceBuffer ck(static_cast<std::size_t>(kKvHeads) * budget * kDim * 2), cv(ck.bytes());
        const gpu::CompactTarget target{ck.get(), cv.get(), static_cast<std::size_t>(budget) * kDim, kKvHeads};
        ms = median_ms(ctx, [&] { gpu::snapkv_gather(job.keys, positions.as<int>(), budget, budget, target, ctx.stream); });
        line("snapkv_gather", "4 heads x 2048 slots d128 (K and V)", ms, 2.0 * 2 * 2 * kKvHeads * budget * kDim / ms / 1e6, "GB/s", copy_gbs);
      }
    }
  }

  // The block's element-wise steps for a 2048-token chunk.
  {
    const int rows = 2048;
    const DeviceBuffer x = random_device(static_cast<std::size_t>(rows) * kFfn, DType::F32, 2.0f, seed + 15);
    const DeviceBuffer y = random_device(static_cast<std::size_t>(rows) * kFfn, DType::F32, 2.0f, seed + 16);
    const DeviceBuffer weight = random_device(kHidden, DType::F32, 1.0f, seed + 17);
    DeviceBuffer out(static_cast<std::size_t>(rows) * kFfn * 4);
    double ms = median_ms(ctx, [&] { gpu::rms_norm(x.as<float>(), weight.as<float>(), rows, kHidden, 1e-6f, DType::BF16, out.get(), ctx.stream); });
    line("rms_norm f32->bf16", dims({rows, kHidden}), ms, 6.0 * rows * kHidden / ms / 1e6, "GB/s", copy_gbs);
    ms = median_ms(ctx, [&] { gpu::swiglu(x.as<float>(), y.as<float>(), static_cast<std::size_t>(rows) * kFfn, DType::BF16, out.get(), ctx.stream); });
    line("swiglu f32->bf16", dims({rows, kFfn}), ms, 10.0 * rows * kFfn / ms / 1e6, "GB/s", copy_gbs);
    ms = median_ms(ctx, [&] { gpu::add_in_place(out.as<float>(), y.as<float>(), static_cast<std::size_t>(rows) * kHidden, ctx.stream); });
    line("add_in_place", dims({rows, kHidden}), ms, 12.0 * rows * kHidden / ms / 1e6, "GB/s", copy_gbs);
    std::vector<int> positions(rows);
    for (int i = 0; i < rows; ++i) positions[i] = 100000 + i;
    const DeviceBuffer d_positions = upload_vector(positions);
    gpu::RopeJob job;
    job.in = x.as<float>(), job.in_row_stride = static_cast<std::size_t>(kHeads) * kDim, job.positions = d_positions.as<int>();
    job.rows = rows, job.heads = kHeads, job.head_dim = kDim, job.freq_base = 1e6f, job.adjacent_pairs = false;
    job.out_type = DType::BF16, job.out = out.get(), job.out_row_stride = job.in_row_stride, job.out_head_stride = kDim;
    ms = median_ms(ctx, [&] { gpu::rope(job, ctx.stream); });
    line("rope f32->bf16 (q)", dims({rows, kHeads, kDim}), ms, 6.0 * rows * kHeads * kDim / ms / 1e6, "GB/s", copy_gbs);
    const DeviceQ8 table = random_q8(kVocab, kHidden, seed + 18);
    std::vector<int> tokens(rows);
    for (int i = 0; i < rows; ++i) tokens[i] = (i * 7919) % kVocab;
    const DeviceBuffer d_tokens = upload_vector(tokens);
    ms = median_ms(ctx, [&] { gpu::embed_tokens(table.matrix, d_tokens.as<int>(), rows, DType::F32, out.get(), ctx.stream); });
    line("embed_tokens Q8_0->f32", dims({rows, kHidden}), ms, 5.0625 * rows * kHidden / ms / 1e6, "GB/s", copy_gbs);
  }

  // Sampling over the vocabulary.
  {
    const DeviceBuffer logits = random_device(kVocab, DType::F32, 8.0f, seed + 19);
    DeviceBuffer workspace(gpu::sampling_workspace_bytes(kVocab)), token(4);
    const gpu::DeviceSampling settings[] = {{0.0f, 0, 1.0f}, {0.8f, 0, 1.0f}, {0.7f, 40, 1.0f}, {0.7f, 0, 0.9f}};
    for (const gpu::DeviceSampling& s : settings) {
      const double ms = median_ms(ctx, [&] { gpu::sample_token(logits.as<float>(), kVocab, s, 0.37, workspace.get(), token.as<int>(), ctx.stream); });
      char shape[96];
      std::snprintf(shape, sizeof shape, "vocab %d T %.1f top_k %d top_p %.1f", kVocab, s.temperature, s.top_k, s.top_p);
      line("sample_token", shape, ms, ms * 1000, "us", 0);
    }
  }
}

}  // namespace snapkv::kernel_test
