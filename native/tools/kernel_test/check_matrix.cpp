// Matrix-vector products (decode) against the CPU's dot_row, and the tensor-
// core GEMM (prefill) against a float64 loop over the same 16-bit operands,
// plus the whole Q8_0 -> conversion -> GEMM path against the CPU's matmul;
// for the other block-quantized types both against float64 products of the
// CPU engine's decoded weights (random blocks from random_blocks.h).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cpu/matmul.h"
#include "cpu/simd.h"
#include "cpu/thread_pool.h"
#include "gemm.h"
#include "harness.h"
#include "host_weights.h"
#include "matvec.h"
#include "random_blocks.h"
#include "weight_formats.h"

namespace snapkv::kernel_test {

namespace {

// The longest chain of roundings in the CPU's canonical dot product: one
// vector accumulator over cols / kLanes steps, a horizontal sum, the leftovers.
double cpu_dot_depth(int cols) {
  const int lanes = simd::kLanes;
  return cols / lanes + std::log2(static_cast<double>(lanes)) + cols % lanes + 2;
}

void check_matvec(Context& ctx) {
  ThreadPool pool(ctx.threads);
  struct Case {
    GgmlType type;
    int rows, cols;
    bool accumulate;
  };
  const Case cases[] = {{GgmlType::F32, 1023, 4096, false}, {GgmlType::F16, 1023, 4096, false},
                        {GgmlType::BF16, 1023, 4096, false}, {GgmlType::Q8_0, 1023, 4096, false},
                        {GgmlType::Q8_0, 517, 18944, true},  {GgmlType::F16, 333, 4100, false},
                        {GgmlType::BF16, 7, 64, true},       {GgmlType::Q8_0, 3, 32, false}};
  for (const Case& c : cases) {
    const HostMatrix w = random_matrix(ctx.random, c.type, c.rows, c.cols, 1.0f);
    DeviceWeights device = upload_weights(w, ctx.stream);
    const std::vector<float> x = ctx.random.nonzero_vector(static_cast<std::size_t>(c.cols), 1.0f);
    const std::vector<float> y0 = ctx.random.nonzero_vector(static_cast<std::size_t>(c.rows), 4.0f);
    const std::vector<float> wf = w.to_f32();
    std::vector<double> ref(c.rows), bound(c.rows);
    // Any order of summing n products errs by at most (depth) u sum |x w| for
    // the longest chain `depth` of roundings; the CPU and the GPU each, so the
    // sum of both depths bounds their difference. GPU chain: cols / 32 chunks
    // per lane of up to 16 products each, one scale product, 5 shuffles.
    const double depth = cpu_dot_depth(c.cols) + c.cols / 32.0 + 16 + 8;
    for (int r = 0; r < c.rows; ++r) {
      double magnitude = 0;
      for (int k = 0; k < c.cols; ++k) magnitude += std::fabs(static_cast<double>(x[k]) * wf[static_cast<std::size_t>(r) * c.cols + k]);
      const float dot = dot_row(w.view(), r, x.data());
      ref[r] = c.accumulate ? static_cast<double>(y0[r] + dot) : dot;
      bound[r] = depth * kUnitF32 * magnitude + (c.accumulate ? 2 * kUnitF32 * std::fabs(ref[r]) : 0.0);
    }
    DeviceBuffer d_x = upload_vector(x);
    DeviceBuffer d_y(static_cast<std::size_t>(c.rows) * 4);
    if (c.accumulate) {
      d_y.upload(y0.data(), y0.size() * 4);
    } else {
      d_y.poison();
    }
    gpu::matvec(device.matrix, d_x.as<float>(), d_y.as<float>(), c.accumulate, ctx.stream);
    ctx.sync();
    const bool vector_path = c.cols % (c.type == GgmlType::F32 ? 4 : c.type == GgmlType::Q8_0 ? 16 : 8) == 0;
    ctx.report.add(compare(std::string("matvec ") + type_label(c.type) + " " + std::to_string(c.rows) + "x" + std::to_string(c.cols) +
                               (c.accumulate ? " y+=" : " y=") + (vector_path ? "" : " (scalar path)"),
                           download_vector<float>(d_y, c.rows), ref, [&](std::size_t i) { return bound[i]; }));
  }
}

// The block-quantized types read in place, against a float64 dot product of
// the reference decoder's weights: row lengths of whole blocks (multiples of
// 256 for the K-quants, 32 otherwise), with and without the residual add.
void check_quantized_matvec(Context& ctx) {
  for (GgmlType type : block_quantized_types()) {
    const bool k_quant = ggml_type_traits(static_cast<std::uint32_t>(type))->block_elements == 256;
    struct Case {
      int rows, cols;
      bool accumulate;
    };
    const Case cases[] = {{515, k_quant ? 2048 : 1056, false}, {33, k_quant ? 256 * 5 : 32 * 3, true}};
    for (const Case& c : cases) {
      const HostMatrix w = random_matrix(ctx.random, type, c.rows, c.cols, 1.0f);
      DeviceWeights device = upload_weights(w, ctx.stream);
      const std::vector<float> x = ctx.random.nonzero_vector(static_cast<std::size_t>(c.cols), 1.0f);
      const std::vector<float> y0 = ctx.random.nonzero_vector(static_cast<std::size_t>(c.rows), 4.0f);
      const std::vector<float> wf = w.to_f32();
      std::vector<double> ref(c.rows), bound(c.rows);
      // The GPU's longest chain of f32 roundings: 32 products of a group, its
      // add to the lane's total once per group the lane takes, 5 shuffles;
      // the decoded weights are the reference's exactly.
      const double depth = 32 + c.cols / 32.0 + 8;
      for (int r = 0; r < c.rows; ++r) {
        double dot = 0, magnitude = 0;
        for (int k = 0; k < c.cols; ++k) {
          const double product = static_cast<double>(x[k]) * wf[static_cast<std::size_t>(r) * c.cols + k];
          dot += product;
          magnitude += std::fabs(product);
        }
        ref[r] = c.accumulate ? y0[r] + dot : dot;
        bound[r] = depth * kUnitF32 * magnitude + (c.accumulate ? 2 * kUnitF32 * std::fabs(ref[r]) : 0.0);
      }
      DeviceBuffer d_x = upload_vector(x);
      DeviceBuffer d_y(static_cast<std::size_t>(c.rows) * 4);
      if (c.accumulate) {
        d_y.upload(y0.data(), y0.size() * 4);
      } else {
        d_y.poison();
      }
      gpu::matvec(device.matrix, d_x.as<float>(), d_y.as<float>(), c.accumulate, ctx.stream);
      ctx.sync();
      ctx.report.add(compare("matvec " + type_label(type) + " " + std::to_string(c.rows) + "x" + std::to_string(c.cols) +
                                 (c.accumulate ? " y+=" : " y=") + " (blocks in place)",
                             download_vector<float>(d_y, c.rows), ref, [&](std::size_t i) { return bound[i]; }));
    }
  }
}

// C = A B^T in float64 over the rounded operands; magnitude = sum |a b|.
void reference_gemm(const std::vector<float>& a, int lda, const std::vector<float>& b, int ldb, int m, int n, int k,
                    std::vector<double>& c, std::vector<double>& magnitude, ThreadPool& pool) {
  c.assign(static_cast<std::size_t>(m) * n, 0.0);
  magnitude.assign(c.size(), 0.0);
  pool.parallel_for(m, [&](int i, int) {
    for (int j = 0; j < n; ++j) {
      double sum = 0, mag = 0;
      const float* ar = a.data() + static_cast<std::size_t>(i) * lda;
      const float* br = b.data() + static_cast<std::size_t>(j) * ldb;
      for (int p = 0; p < k; ++p) {
        const double prod = static_cast<double>(ar[p]) * br[p];
        sum += prod;
        mag += std::fabs(prod);
      }
      c[static_cast<std::size_t>(i) * n + j] = sum;
      magnitude[static_cast<std::size_t>(i) * n + j] = mag;
    }
  });
}

void check_gemm(Context& ctx) {
  ThreadPool pool(ctx.threads);
  struct Case {
    DType type;
    int m, n, k, lda_pad;
    bool accumulate;
  };
  const Case cases[] = {{DType::BF16, 333, 517, 1000, 0, false}, {DType::F16, 333, 517, 1000, 8, false},
                        {DType::BF16, 300, 700, 3584, 0, true},  {DType::F16, 1, 129, 64, 0, false},
                        {DType::BF16, 129, 257, 24, 16, false},  {DType::F16, 256, 384, 512, 0, true}};
  for (const Case& c : cases) {
    const int lda = c.k + c.lda_pad, ldb = c.k, ldc = c.n;
    std::vector<float> a = ctx.random.nonzero_vector(static_cast<std::size_t>(c.m) * lda, 2.0f);
    std::vector<float> b = ctx.random.nonzero_vector(static_cast<std::size_t>(c.n) * ldb, 1.0f);
    for (float& v : a) v = round_to(v, c.type);
    for (float& v : b) v = round_to(v, c.type);
    const std::vector<float> c0 = ctx.random.nonzero_vector(static_cast<std::size_t>(c.m) * ldc, 8.0f);
    std::vector<double> ref, magnitude;
    reference_gemm(a, lda, b, ldb, c.m, c.n, c.k, ref, magnitude, pool);
    if (c.accumulate)
      for (std::size_t i = 0; i < ref.size(); ++i) ref[i] += c0[i];
    DeviceBuffer d_a = upload_as(a, c.type), d_b = upload_as(b, c.type);
    DeviceBuffer d_c(static_cast<std::size_t>(c.m) * ldc * 4);
    if (c.accumulate) {
      d_c.upload(c0.data(), c0.size() * 4);
    } else {
      d_c.poison();
    }
    gpu::gemm(c.type, d_a.get(), lda, d_b.get(), ldb, d_c.as<float>(), ldc, c.m, c.n, c.k, c.accumulate, ctx.stream);
    ctx.sync();
    // Products of 16-bit operands are exact in f32; the tensor cores add 16
    // of them per mma into the f32 accumulator, with at most ~2 roundings
    // (alignment truncation, then the sum) per mma: (k / 8 + 16) u sum |a b|
    // covers the k / 16 steps with room; an accumulated C adds 2 u |C|.
    const double depth = c.k / 8.0 + 16;
    ctx.report.add(compare(std::string("gemm ") + gpu::dtype_name(c.type) + " " + std::to_string(c.m) + "x" + std::to_string(c.n) +
                               "x" + std::to_string(c.k) + (c.lda_pad ? " lda+" + std::to_string(c.lda_pad) : "") +
                               (c.accumulate ? " C+=" : " C="),
                           download_vector<float>(d_c, ref.size()), ref,
                           [&](std::size_t i) { return depth * kUnitF32 * magnitude[i] + 2 * kUnitF32 * std::fabs(ref[i]); }));
  }

  // The prefill path for a Q8_0 matrix: convert to bf16, GEMM with bf16
  // activations, against the CPU's f32 matmul on the unrounded activations.
  // The bf16 bound: rounding each activation and each converted weight to
  // bf16 moves each product by at most 2 u_bf16 |a w| (plus u_bf16^2), so the
  // sum moves by (2 u_bf16) sum |a w|; the f32 sums of both sides add
  // (k / 8 + 16 + CPU depth) u_f32 sum |a w|.
  for (DType type : {DType::BF16, DType::F16}) {
    const int m = 77, n = 391, k = 1024;
    const HostMatrix w = random_matrix(ctx.random, GgmlType::Q8_0, n, k, 1.0f);
    DeviceWeights device = upload_weights(w, ctx.stream);
    const std::vector<float> x = ctx.random.nonzero_vector(static_cast<std::size_t>(m) * k, 2.0f);
    std::vector<float> cpu(static_cast<std::size_t>(m) * n);
    matmul(w.view(), x.data(), cpu.data(), m, pool);
    const std::vector<float> wf = w.to_f32();
    std::vector<double> magnitude;
    std::vector<double> unused;
    reference_gemm(x, k, wf, k, m, n, k, unused, magnitude, pool);
    DeviceBuffer converted(static_cast<std::size_t>(n) * k * 2);
    converted.poison();
    gpu::convert_matrix(device.matrix, type, converted.get(), ctx.stream);
    DeviceBuffer d_x = upload_as(x, type);
    DeviceBuffer d_c(cpu.size() * 4);
    d_c.poison();
    gpu::gemm(type, d_x.get(), k, converted.get(), k, d_c.as<float>(), n, m, n, k, false, ctx.stream);
    ctx.sync();
    const std::vector<double> ref(cpu.begin(), cpu.end());
    const double u = unit_roundoff(type);
    const double relative = 2 * u + u * u + (k / 8.0 + 16 + cpu_dot_depth(k)) * kUnitF32;
    ctx.report.add(compare(std::string("Q8_0->") + gpu::dtype_name(type) + " convert + gemm vs CPU matmul " + std::to_string(m) + "x" +
                               std::to_string(n) + "x" + std::to_string(k),
                           download_vector<float>(d_c, ref.size()), ref, [&](std::size_t i) { return relative * magnitude[i]; }));
  }
}

// The prefill path of the block-quantized types: decoded into a bf16 scratch
// (convert_matrix), then the bf16 GEMM, against the float64 product of the
// reference decoder's weights and the unrounded activations. Bound as for
// Q8_0 above: 2 u_bf16 (+ u_bf16^2) for the two operand roundings, the GEMM's
// f32 sums on top.
void check_quantized_gemm(Context& ctx) {
  ThreadPool pool(ctx.threads);
  for (GgmlType type : block_quantized_types()) {
    const int m = 77, n = 391, k = 1024;
    const HostMatrix w = random_matrix(ctx.random, type, n, k, 1.0f);
    DeviceWeights device = upload_weights(w, ctx.stream);
    const std::vector<float> x = ctx.random.nonzero_vector(static_cast<std::size_t>(m) * k, 2.0f);
    const std::vector<float> wf = w.to_f32();
    std::vector<double> ref, magnitude;
    reference_gemm(x, k, wf, k, m, n, k, ref, magnitude, pool);
    DeviceBuffer converted(static_cast<std::size_t>(n) * k * 2);
    converted.poison();
    gpu::convert_matrix(device.matrix, DType::BF16, converted.get(), ctx.stream);
    DeviceBuffer d_x = upload_as(x, DType::BF16);
    DeviceBuffer d_c(ref.size() * 4);
    d_c.poison();
    gpu::gemm(DType::BF16, d_x.get(), k, converted.get(), k, d_c.as<float>(), n, m, n, k, false, ctx.stream);
    ctx.sync();
    const double u = kUnitBF16;
    const double relative = 2 * u + u * u + (k / 8.0 + 16) * kUnitF32;
    ctx.report.add(compare(type_label(type) + "->bf16 convert + gemm vs CPU reference " + std::to_string(m) + "x" +
                               std::to_string(n) + "x" + std::to_string(k),
                           download_vector<float>(d_c, ref.size()), ref, [&](std::size_t i) { return relative * magnitude[i]; }));
  }
}

}  // namespace

void check_matrix_kernels(Context& ctx) {
  check_matvec(ctx);
  check_quantized_matvec(ctx);
  check_gemm(ctx);
  check_quantized_gemm(ctx);
}

}  // namespace snapkv::kernel_test
