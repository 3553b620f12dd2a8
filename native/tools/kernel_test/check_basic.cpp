// Embedding lookup, weight repacking and conversion, RMSNorm, RoPE and the
// element-wise kernels against the CPU engine's functions.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cpu/vector_ops.h"
#include "elementwise.h"
#include "embedding.h"
#include "harness.h"
#include "host_weights.h"
#include "random_blocks.h"
#include "rms_norm.h"
#include "model/model_config.h"
#include "rope.h"
#include "weight_formats.h"

namespace snapkv::kernel_test {

namespace {

std::string label(const char* kernel, const std::string& detail) { return std::string(kernel) + " " + detail; }

void check_embedding(Context& ctx) {
  const int vocab = 1001;
  const int count = 37;
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0}) {
    const int cols = type == GgmlType::Q8_0 ? 608 : 611;
    const HostMatrix table = random_matrix(ctx.random, type, vocab, cols, 1.0f);
    DeviceWeights device = upload_weights(table, ctx.stream);
    std::vector<int> tokens(count);
    for (int& t : tokens) t = ctx.random.integer(0, vocab - 1);
    tokens[0] = 0;
    tokens[1] = vocab - 1;
    tokens[2] = vocab;  // out of range: the row must come back NaN
    tokens[3] = -5;
    DeviceBuffer d_tokens = upload_vector(tokens);
    std::vector<int> valid_tokens = tokens;
    valid_tokens[2] = valid_tokens[3] = 0;
    std::vector<float> reference(static_cast<std::size_t>(count) * cols);
    embed_tokens(table.view(), valid_tokens.data(), count, reference.data());
    for (int c = 0; c < cols; ++c) {
      reference[2 * static_cast<std::size_t>(cols) + c] = NAN;
      reference[3 * static_cast<std::size_t>(cols) + c] = NAN;
    }
    const std::vector<DType> outs = type == GgmlType::Q8_0 ? std::vector<DType>{DType::F32, DType::F16, DType::BF16}
                                                           : std::vector<DType>{DType::F32};
    for (DType out_type : outs) {
      DeviceBuffer out(reference.size() * gpu::dtype_bytes(out_type));
      out.poison();
      gpu::embed_tokens(device.matrix, d_tokens.as<int>(), count, out_type, out.get(), ctx.stream);
      ctx.sync();
      const std::vector<float> got = download_as_f32(out, reference.size(), out_type);
      std::vector<double> ref(reference.size());
      for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = std::isnan(reference[i]) ? NAN : round_to(reference[i], out_type);
      // Exact: one rounding of the same f32 value on both sides.
      ctx.report.add(compare(label("embed_tokens", std::string(type_label(type)) + "->" + gpu::dtype_name(out_type) + " " +
                                                       std::to_string(count) + "x" + std::to_string(cols) + " (2 bad ids)"),
                             got, ref, [](std::size_t) { return 0.0; }));
    }
  }
}

// The block-quantized types: rows decoded in place, against the CPU engine's
// decoders; exact (one rounding of the same f32 value).
void check_quantized_embedding(Context& ctx) {
  const int vocab = 1001;
  const int count = 29;
  for (GgmlType type : block_quantized_types()) {
    const bool k_quant = ggml_type_traits(static_cast<std::uint32_t>(type))->block_elements == 256;
    const int cols = k_quant ? 768 : 608;
    const HostMatrix table = random_matrix(ctx.random, type, vocab, cols, 1.0f);
    DeviceWeights device = upload_weights(table, ctx.stream);
    std::vector<int> tokens(count);
    for (int& t : tokens) t = ctx.random.integer(0, vocab - 1);
    tokens[0] = 0;
    tokens[1] = vocab - 1;
    tokens[2] = vocab;  // out of range: NaN row
    DeviceBuffer d_tokens = upload_vector(tokens);
    const std::vector<float> weights = table.to_f32();
    for (DType out_type : {DType::F32, DType::F16, DType::BF16}) {
      std::vector<double> ref(static_cast<std::size_t>(count) * cols);
      for (int t = 0; t < count; ++t) {
        for (int c = 0; c < cols; ++c) {
          ref[static_cast<std::size_t>(t) * cols + c] =
              t == 2 ? NAN : round_to(weights[static_cast<std::size_t>(tokens[t]) * cols + c], out_type);
        }
      }
      DeviceBuffer out(ref.size() * gpu::dtype_bytes(out_type));
      out.poison();
      gpu::embed_tokens(device.matrix, d_tokens.as<int>(), count, out_type, out.get(), ctx.stream);
      ctx.sync();
      ctx.report.add(compare(label("embed_tokens", type_label(type) + "->" + gpu::dtype_name(out_type) + " " +
                                                       std::to_string(count) + "x" + std::to_string(cols) + " (1 bad id)"),
                             download_as_f32(out, ref.size(), out_type), ref, [](std::size_t) { return 0.0; }));
    }
  }
}

void check_weight_conversion(Context& ctx) {
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0}) {
    for (int cols : {608, 611}) {
      if (type == GgmlType::Q8_0 && cols % 32 != 0) continue;
      const int rows = 67;
      const HostMatrix host = random_matrix(ctx.random, type, rows, cols, 3.0f);
      DeviceWeights device = upload_weights(host, ctx.stream);
      const std::vector<float> exact = host.to_f32();
      for (DType out_type : {DType::F16, DType::BF16}) {
        DeviceBuffer out(exact.size() * 2);
        out.poison();
        gpu::convert_matrix(device.matrix, out_type, out.get(), ctx.stream);
        ctx.sync();
        const std::vector<float> got = download_as_f32(out, exact.size(), out_type);
        std::vector<double> ref(exact.size());
        for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = round_to(exact[i], out_type);
        ctx.report.add(compare(label("convert_matrix", std::string(type_label(type)) + "->" + gpu::dtype_name(out_type) + " " +
                                                           std::to_string(rows) + "x" + std::to_string(cols) +
                                                           (type == GgmlType::Q8_0 ? " (after repack_q8_0)" : "")),
                               got, ref, [](std::size_t) { return 0.0; }));
      }
    }
  }
  // The block-quantized types, decoded in place: F32 (the decoded values
  // themselves) and the two operand types, exact against the reference.
  for (GgmlType type : block_quantized_types()) {
    const bool k_quant = ggml_type_traits(static_cast<std::uint32_t>(type))->block_elements == 256;
    const int rows = 67, cols = k_quant ? 1280 : 608;
    const HostMatrix host = random_matrix(ctx.random, type, rows, cols, 3.0f);
    DeviceWeights device = upload_weights(host, ctx.stream);
    const std::vector<float> exact = host.to_f32();
    for (DType out_type : {DType::F32, DType::F16, DType::BF16}) {
      DeviceBuffer out(exact.size() * gpu::dtype_bytes(out_type));
      out.poison();
      gpu::convert_matrix(device.matrix, out_type, out.get(), ctx.stream);
      ctx.sync();
      std::vector<double> ref(exact.size());
      for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = round_to(exact[i], out_type);
      ctx.report.add(compare(label("convert_matrix", type_label(type) + "->" + gpu::dtype_name(out_type) + " " +
                                                         std::to_string(rows) + "x" + std::to_string(cols) + " (blocks in place)"),
                             download_as_f32(out, exact.size(), out_type), ref, [](std::size_t) { return 0.0; }));
    }
  }
}

void check_rms_norm(Context& ctx) {
  const int rows = 37;
  for (int width : {4099, 3584}) {
    const std::vector<float> x = ctx.random.nonzero_vector(static_cast<std::size_t>(rows) * width, 2.0f);
    const std::vector<float> weight = ctx.random.nonzero_vector(static_cast<std::size_t>(width), 1.5f);
    const float eps = 1e-6f;
    std::vector<float> reference(x.size());
    rms_norm(x.data(), weight.data(), reference.data(), rows, width, eps);
    DeviceBuffer d_x = upload_vector(x), d_w = upload_vector(weight);
    for (DType out_type : {DType::F32, DType::BF16, DType::F16}) {
      DeviceBuffer out(x.size() * gpu::dtype_bytes(out_type));
      out.poison();
      gpu::rms_norm(d_x.as<float>(), d_w.as<float>(), rows, width, eps, out_type, out.get(), ctx.stream);
      ctx.sync();
      const std::vector<float> got = download_as_f32(out, x.size(), out_type);
      const std::vector<double> ref(reference.begin(), reference.end());
      // The CPU sums squares in double; the GPU in f32 over width / 256 + 8
      // steps per thread and a tree: the scale's relative error is at most
      // (width / 256 + 16) u, the two products add 2 u on each side; a 16-bit
      // output adds its own rounding, u_out relative.
      const double relative = (width / 256.0 + 24.0) * kUnitF32 + (out_type == DType::F32 ? 0.0 : unit_roundoff(out_type));
      ctx.report.add(compare(label("rms_norm", std::string("f32->") + gpu::dtype_name(out_type) + " " + std::to_string(rows) + "x" +
                                                   std::to_string(width) + (width % 4 ? " (scalar path)" : "")),
                             got, ref, [&](std::size_t i) { return relative * std::fabs(ref[i]) + 1e-30; }));
    }
  }
}

void check_rope(Context& ctx) {
  struct Case {
    RopeLayout layout;
    int heads, head_dim;
    float base;
    bool bias;
  };
  const Case cases[] = {{RopeLayout::Halves, 5, 128, 1000000.0f, true},
                        {RopeLayout::AdjacentPairs, 6, 128, 10000.0f, false},
                        {RopeLayout::Halves, 4, 16, 10000.0f, true},
                        {RopeLayout::AdjacentPairs, 3, 64, 500000.0f, false}};
  const int rows = 29;
  for (const Case& c : cases) {
    const std::size_t width = static_cast<std::size_t>(c.heads) * c.head_dim;
    const std::vector<float> x = ctx.random.nonzero_vector(rows * width, 2.0f);
    const std::vector<float> bias = ctx.random.nonzero_vector(width, 0.5f);
    std::vector<int> positions(rows);
    for (int& p : positions) p = ctx.random.integer(0, 1'000'000);
    positions[0] = 0;
    positions[1] = 1'048'575;
    std::vector<float> with_bias = x;
    if (c.bias) add_bias(with_bias.data(), bias.data(), rows, static_cast<int>(width));
    std::vector<float> reference = with_bias;
    apply_rope(reference.data(), positions.data(), rows, c.heads, c.head_dim, c.base, c.layout);
    const std::string shape = std::string(c.layout == RopeLayout::Halves ? "halves" : "pairs") + " " + std::to_string(rows) +
                              "x" + std::to_string(c.heads) + "x" + std::to_string(c.head_dim) + (c.bias ? " +bias" : "") +
                              " pos<=1048575";
    // |error| <= 4 u (|x0| + |x1|) for the pair (cos/sin in f32 from double on
    // both sides, fused or separate products), plus the output rounding.
    auto pair_bound = [&](std::size_t i, DType out_type) {
      const std::size_t row_head = i / c.head_dim;
      const int k = static_cast<int>(i % c.head_dim);
      const int half = c.head_dim / 2;
      const int partner = c.layout == RopeLayout::Halves ? (k < half ? k + half : k - half) : (k ^ 1);
      const double magnitude = std::fabs(with_bias[i]) + std::fabs(with_bias[row_head * c.head_dim + partner]);
      return 4 * kUnitF32 * magnitude + (out_type == DType::F32 ? 0.0 : unit_roundoff(out_type) * std::fabs(reference[i]));
    };
    DeviceBuffer d_positions = upload_vector(positions), d_bias = upload_vector(bias);
    {  // in place, f32, activation layout
      DeviceBuffer d_x = upload_vector(x);
      gpu::RopeJob job;
      job.in = d_x.as<float>();
      job.in_row_stride = width;
      job.bias = c.bias ? d_bias.as<float>() : nullptr;
      job.positions = d_positions.as<int>();
      job.rows = rows, job.heads = c.heads, job.head_dim = c.head_dim, job.freq_base = c.base, job.adjacent_pairs = c.layout == RopeLayout::AdjacentPairs;
      job.out_type = DType::F32, job.out = d_x.get(), job.out_row_stride = width, job.out_head_stride = c.head_dim;
      gpu::rope(job, ctx.stream);
      ctx.sync();
      const std::vector<float> got = download_vector<float>(d_x, x.size());
      const std::vector<double> ref(reference.begin(), reference.end());
      ctx.report.add(compare("rope in place f32 " + shape, got, ref, [&](std::size_t i) { return pair_bound(i, DType::F32); }));
    }
    // Into a poisoned bf16 cache layout [head][slot][dim] at slots 11.., with
    // rows of the input padded (row stride > width): every written slot must
    // match and every other slot must stay NaN.
    for (bool rotate : {true, false}) {
      const int capacity = rows + 20, first_slot = 11;
      const std::size_t stride = width + 8;
      std::vector<float> padded(rows * stride, 0.0f);
      for (int t = 0; t < rows; ++t)
        for (std::size_t k = 0; k < width; ++k) padded[t * stride + k] = x[t * width + k];
      DeviceBuffer d_in = upload_vector(padded);
      const DType cache_type = DType::BF16;
      DeviceBuffer cache(static_cast<std::size_t>(c.heads) * capacity * c.head_dim * 2);
      cache.poison();
      gpu::RopeJob job;
      job.in = d_in.as<float>();
      job.in_row_stride = stride;
      job.bias = c.bias ? d_bias.as<float>() : nullptr;
      job.positions = d_positions.as<int>();
      job.rows = rows, job.heads = c.heads, job.head_dim = c.head_dim, job.freq_base = c.base, job.adjacent_pairs = c.layout == RopeLayout::AdjacentPairs;
      job.rotate = rotate;
      job.out_type = cache_type;
      job.out = cache.as<std::uint16_t>() + static_cast<std::size_t>(first_slot) * c.head_dim;
      job.out_row_stride = c.head_dim;
      job.out_head_stride = static_cast<std::size_t>(capacity) * c.head_dim;
      gpu::rope(job, ctx.stream);
      ctx.sync();
      const std::size_t total = static_cast<std::size_t>(c.heads) * capacity * c.head_dim;
      const std::vector<float> got = download_as_f32(cache, total, cache_type);
      std::vector<double> ref(total, NAN);
      std::vector<double> bound(total, 0.0);
      for (int t = 0; t < rows; ++t) {
        for (int h = 0; h < c.heads; ++h) {
          for (int k = 0; k < c.head_dim; ++k) {
            const std::size_t from = (static_cast<std::size_t>(t) * c.heads + h) * c.head_dim + k;
            const std::size_t to = (static_cast<std::size_t>(h) * capacity + first_slot + t) * c.head_dim + k;
            if (rotate) {
              ref[to] = reference[from];
              bound[to] = pair_bound(from, cache_type);
            } else {
              ref[to] = round_to(with_bias[from], cache_type);  // exact: one rounding
            }
          }
        }
      }
      ctx.report.add(compare(std::string(rotate ? "rope -> bf16 cache slots " : "store (no rotation) -> bf16 cache ") + shape,
                             got, ref, [&](std::size_t i) { return bound[i]; }));
    }
  }
}

void check_elementwise(Context& ctx) {
  for (std::size_t n : {std::size_t{1'000'003}, std::size_t{1} << 20}) {
    const std::string size = std::to_string(n) + (n % 4 ? " (scalar path)" : "");
    const std::vector<float> a = ctx.random.nonzero_vector(n, 4.0f), b = ctx.random.nonzero_vector(n, 4.0f);
    {
      std::vector<float> reference = a;
      add_in_place(reference.data(), b.data(), n);
      DeviceBuffer d_a = upload_vector(a), d_b = upload_vector(b);
      gpu::add_in_place(d_a.as<float>(), d_b.as<float>(), n, ctx.stream);
      ctx.sync();
      const std::vector<double> ref(reference.begin(), reference.end());
      ctx.report.add(compare("add_in_place " + size, download_vector<float>(d_a, n), ref, [](std::size_t) { return 0.0; }));
    }
    {
      std::vector<float> reference = a;
      swiglu(reference.data(), b.data(), n);
      const std::vector<double> ref(reference.begin(), reference.end());
      DeviceBuffer d_a = upload_vector(a), d_b = upload_vector(b);
      for (DType out_type : {DType::F32, DType::BF16}) {
        DeviceBuffer out(n * gpu::dtype_bytes(out_type));
        out.poison();
        gpu::swiglu(d_a.as<float>(), d_b.as<float>(), n, out_type, out.get(), ctx.stream);
        ctx.sync();
        // expf (2 ulp) against the CPU's exp (1 ulp) inside 1 + exp(-g), one
        // division and one product on each side: 8 u relative; plus the output rounding.
        const double relative = 8 * kUnitF32 + (out_type == DType::F32 ? 0.0 : unit_roundoff(out_type));
        ctx.report.add(compare(std::string("swiglu f32->") + gpu::dtype_name(out_type) + " " + size,
                               download_as_f32(out, n, out_type), ref,
                               [&](std::size_t i) { return relative * std::fabs(ref[i]) + 1e-37; }));
      }
      DeviceBuffer in_place = upload_vector(a);
      gpu::swiglu(in_place.as<float>(), d_b.as<float>(), n, DType::F32, in_place.get(), ctx.stream);
      ctx.sync();
      ctx.report.add(compare("swiglu in place f32 " + size, download_vector<float>(in_place, n), ref,
                             [&](std::size_t i) { return 8 * kUnitF32 * std::fabs(ref[i]) + 1e-37; }));
    }
    {
      DeviceBuffer d_a = upload_vector(a);
      for (DType out_type : {DType::F16, DType::BF16}) {
        DeviceBuffer out(n * 2);
        out.poison();
        gpu::convert_f32(d_a.as<float>(), n, out_type, out.get(), ctx.stream);
        ctx.sync();
        std::vector<double> ref(n);
        for (std::size_t i = 0; i < n; ++i) ref[i] = round_to(a[i], out_type);
        ctx.report.add(compare(std::string("convert_f32 ->") + gpu::dtype_name(out_type) + " " + size,
                               download_as_f32(out, n, out_type), ref, [](std::size_t) { return 0.0; }));
      }
    }
  }
}

}  // namespace

void check_basic_kernels(Context& ctx) {
  check_embedding(ctx);
  check_quantized_embedding(ctx);
  check_weight_conversion(ctx);
  check_rms_norm(ctx);
  check_rope(ctx);
  check_elementwise(ctx);
}

}  // namespace snapkv::kernel_test
