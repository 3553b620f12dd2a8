// Prefill flash attention and decode attention against the CPU's
// causal_attention on the same rounded queries, keys and values.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cpu/attention.h"
#include "cpu/thread_pool.h"
#include "decode_attention.h"
#include "flash_attention.h"
#include "harness.h"
#include "test_caches.h"

namespace snapkv::kernel_test {

namespace {

std::string shape_text(int heads, int kv_heads, int dim, int base, int past, int tokens, DType type) {
  return std::to_string(heads) + "/" + std::to_string(kv_heads) + " heads d" + std::to_string(dim) + " base " +
         std::to_string(base) + " past " + std::to_string(past) + " +" + std::to_string(tokens) + " " + gpu::dtype_name(type);
}

void check_flash_prefill(Context& ctx) {
  ThreadPool pool(ctx.threads);
  struct Case {
    DType type;
    int heads, kv_heads, dim, base, past, tokens;
  };
  const Case cases[] = {{DType::BF16, 8, 2, 128, 0, 0, 200},  {DType::F16, 6, 3, 64, 77, 130, 97},
                        {DType::BF16, 4, 2, 16, 0, 0, 33},    {DType::F16, 4, 4, 32, 0, 64, 65},
                        {DType::BF16, 28, 4, 128, 300, 1000, 129}, {DType::F16, 2, 1, 128, 0, 0, 1}};
  for (const Case& c : cases) {
    const int own_length = c.past + c.tokens;
    TestCache base;
    if (c.base > 0) base = make_cache(ctx.random, c.type, c.kv_heads, c.dim, c.base + 3, c.base, 1.0f, 1.0f);
    TestCache own = make_cache(ctx.random, c.type, c.kv_heads, c.dim, own_length + 5, own_length, 1.0f, 1.0f);
    const std::size_t width = static_cast<std::size_t>(c.heads) * c.dim;
    std::vector<float> q = ctx.random.nonzero_vector(c.tokens * width, 3.0f);
    for (float& x : q) x = round_to(x, c.type);

    std::vector<float> cpu_out(q.size());
    AttentionSource source;
    source.base = c.base > 0 ? base.cpu.get() : nullptr;
    source.base_length = c.base;
    source.own = own.cpu.get();
    causal_attention(q.data(), source, c.past, c.tokens, c.heads, cpu_out.data(), pool);

    DeviceBuffer d_q = upload_as(q, c.type);
    DeviceBuffer d_out(q.size() * 2);
    d_out.poison();
    gpu::flash_attention_prefill(d_q.get(), width, c.tokens, c.heads, view_of(c.base > 0 ? &base : nullptr, own), d_out.get(),
                                 width, ctx.stream);
    ctx.sync();
    // P is rounded to the operand type before P V: each weight moves by at
    // most u_T of itself, so the output by at most u_T max|v| (the row sum
    // stays f32); the output's own rounding adds u_T |o|. Score errors (f32
    // accumulation of q.k, Cauchy-Schwarz on the magnitudes) move each
    // probability by a relative 2 ds; plus 64 u of exponentials and sums.
    const double u = unit_roundoff(c.type);
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.dim));
    const double ds = (2.0 * c.dim + 16) * kUnitF32 * max_row_norm(q, c.dim) *
                      std::max(own.max_key_norm(), c.base > 0 ? base.max_key_norm() : 0.0) * scale;
    const int group = c.heads / c.kv_heads;
    std::vector<double> max_v(c.kv_heads);
    for (int h = 0; h < c.kv_heads; ++h) max_v[h] = std::max(own.max_abs_value(h), c.base > 0 ? base.max_abs_value(h) : 0.0);
    const std::vector<double> ref(cpu_out.begin(), cpu_out.end());
    ctx.report.add(compare("flash_attention_prefill " + shape_text(c.heads, c.kv_heads, c.dim, c.base, c.past, c.tokens, c.type),
                           download_as_f32(d_out, q.size(), c.type), ref, [&](std::size_t i) {
                             const int head = static_cast<int>((i / c.dim) % c.heads);
                             return (u + 2 * ds + 64 * kUnitF32) * max_v[head / group] + u * std::fabs(ref[i]);
                           }));
  }
}

void check_decode(Context& ctx) {
  ThreadPool pool(ctx.threads);
  struct Case {
    DType type;
    int heads, cache_heads, dim, base, own;
    const char* what;
  };
  const Case cases[] = {{DType::BF16, 28, 4, 128, 0, 2085, "compact cache (group 7)"},
                        {DType::F16, 8, 8, 64, 1000, 3001, "prefix + own (group 1)"},
                        {DType::BF16, 14, 14, 64, 0, 533, "repeated cache (a head per query head)"},
                        {DType::F16, 4, 2, 16, 0, 5, "tiny"},
                        {DType::BF16, 32, 2, 128, 40000, 1, "long prefix, group 16"}};
  for (const Case& c : cases) {
    TestCache base;
    if (c.base > 0) base = make_cache(ctx.random, c.type, c.cache_heads, c.dim, c.base, c.base, 1.0f, 1.0f);
    TestCache own = make_cache(ctx.random, c.type, c.cache_heads, c.dim, c.own + 7, c.own, 1.0f, 1.0f);
    const std::size_t width = static_cast<std::size_t>(c.heads) * c.dim;
    const std::vector<float> q = ctx.random.nonzero_vector(width, 3.0f);
    std::vector<float> cpu_out(width);
    AttentionSource source;
    source.base = c.base > 0 ? base.cpu.get() : nullptr;
    source.base_length = c.base;
    source.own = own.cpu.get();
    causal_attention(q.data(), source, c.own - 1, 1, c.heads, cpu_out.data(), pool);

    DeviceBuffer d_q = upload_vector(q);
    DeviceBuffer d_out(width * 4);
    d_out.poison();
    DeviceBuffer workspace(gpu::decode_attention_workspace_bytes(c.heads, c.dim));
    workspace.poison();
    gpu::decode_attention(d_q.as<float>(), c.heads, view_of(c.base > 0 ? &base : nullptr, own), d_out.as<float>(), workspace.get(),
                          ctx.stream);
    ctx.sync();
    // All f32: the CPU sums n weighted values in a row (depth n), the GPU over
    // a split then across splits; each sum errs by its depth times u max|v|,
    // score errors move probabilities by a relative 2 ds.
    const long long n = static_cast<long long>(c.base) + c.own;
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.dim));
    const double ds = (2.0 * c.dim + 16) * kUnitF32 * max_row_norm(q, c.dim) *
                      std::max(own.max_key_norm(), c.base > 0 ? base.max_key_norm() : 0.0) * scale;
    const double depth = static_cast<double>(n) + gpu::decode_attention_keys_per_split(n) + 256;
    const int group = c.heads / c.cache_heads;
    std::vector<double> max_v(c.cache_heads);
    for (int h = 0; h < c.cache_heads; ++h) max_v[h] = std::max(own.max_abs_value(h), c.base > 0 ? base.max_abs_value(h) : 0.0);
    const std::vector<double> ref(cpu_out.begin(), cpu_out.end());
    ctx.report.add(compare(std::string("decode_attention ") + c.what + " " + std::to_string(c.heads) + "/" +
                               std::to_string(c.cache_heads) + " d" + std::to_string(c.dim) + " keys " + std::to_string(n) + " " +
                               gpu::dtype_name(c.type),
                           download_vector<float>(d_out, width), ref, [&](std::size_t i) {
                             const int head = static_cast<int>(i / c.dim);
                             return (depth * kUnitF32 + 2 * ds) * max_v[head / group] + 8 * kUnitF32 * std::fabs(ref[i]);
                           }));
  }
}

}  // namespace

void check_attention_kernels(Context& ctx) {
  check_flash_prefill(ctx);
  check_decode(ctx);
}

}  // namespace snapkv::kernel_test
