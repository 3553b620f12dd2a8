#include "cpu/matmul_quantized.h"

#include <algorithm>

#include "cpu/quant_prep.h"
#include "cpu/thread_pool.h"
#include "cpu/weight_unpack.h"

namespace snapkv {

namespace {

constexpr int kTokensPerTask = 16;     // quantization of activations
constexpr int kRowsPerMatvecTask = 32;  // Q8_0 rows against one token
constexpr int kMatvecRows = 4;          // rows per kernel call: independent chains

void quantize_tokens(QuantizedTokens& quantized, const float* in, int tokens, int cols, int group_size, ThreadPool& pool) {
  quantized.resize(tokens, cols, group_size);
  const int tasks = (tokens + kTokensPerTask - 1) / kTokensPerTask;
  pool.parallel_for(tasks, [&](int task, int) {
    quantized.quantize(in, task * kTokensPerTask, std::min(tokens, (task + 1) * kTokensPerTask));
  });
}

void matvec_q8_0(const WeightMatrix& w, const QuantizedTokens& x, float* out, ThreadPool& pool,
                 const QuantKernels& kernels) {
  const int tasks = (w.rows + kRowsPerMatvecTask - 1) / kRowsPerMatvecTask;
  pool.parallel_for(tasks, [&](int task, int) {
    const int last = std::min(w.rows, (task + 1) * kRowsPerMatvecTask);
    for (int r = task * kRowsPerMatvecTask; r < last; r += kMatvecRows) {
      const int count = std::min(kMatvecRows, last - r);
      const std::uint8_t* rows[kMatvecRows];
      for (int i = 0; i < count; ++i) rows[i] = w.row(r + i);
      kernels.q8_0_rows(rows, count, w.cols / 32, x.quants(0), x.block_scales(0), out + r);
    }
  });
}

}  // namespace

bool quantized_matmul_applies(const WeightMatrix& w, int tokens, const QuantKernels& kernels) {
  if (w.type == GgmlType::F16 || w.type == GgmlType::BF16) return tokens > 1 && kernels.bf16_panel_product != nullptr;
  if (weight_unpacker(w.type) == nullptr) return false;
  return tokens > 1 || w.type == GgmlType::Q8_0;
}

namespace {

void matmul_bf16(const WeightMatrix& w, const float* in, float* out, int tokens, ThreadPool& pool,
                 const QuantKernels& kernels) {
  thread_local Bf16TokenPairs buffer;
  Bf16TokenPairs& pairs = buffer;  // the caller's, inside the workers' lambda too
  pairs.convert(in, tokens, w.cols);
  const int panel_rows = kernels.panel_rows;
  const int panels = (w.rows + panel_rows - 1) / panel_rows;
  pool.parallel_for(panels, [&](int panel, int) {
    thread_local PackedBf16Panel packed;
    const int first = panel * panel_rows;
    packed.pack(w, panel_rows, first);
    kernels.bf16_panel_product(packed.view(), pairs.view(0), tokens, out + first, static_cast<std::size_t>(w.rows),
                               std::min(panel_rows, w.rows - first));
  });
}

}  // namespace

void matmul_quantized(const WeightMatrix& w, const float* in, float* out, int tokens, ThreadPool& pool,
                      const QuantKernels& kernels) {
  if (w.type == GgmlType::F16 || w.type == GgmlType::BF16) return matmul_bf16(w, in, out, tokens, pool, kernels);
  const WeightUnpacker& unpacker = *weight_unpacker(w.type);
  // The calling thread's buffer, named by a reference: inside the workers'
  // lambda a thread_local name would mean each worker's own.
  thread_local QuantizedTokens buffer;
  QuantizedTokens& quantized = buffer;
  quantize_tokens(quantized, in, tokens, w.cols, unpacker.group_size, pool);
  if (tokens == 1 && w.type == GgmlType::Q8_0) return matvec_q8_0(w, quantized, out, pool, kernels);

  const int panel_rows = kernels.panel_rows;
  const int panels = (w.rows + panel_rows - 1) / panel_rows;
  pool.parallel_for(panels, [&](int panel, int) {
    thread_local PackedPanel packed;
    const int first = panel * panel_rows;
    packed.pack(w, unpacker, kernels, first);
    kernels.panel_product(packed.view(), quantized.view(0), tokens, out + first, static_cast<std::size_t>(w.rows),
                          std::min(panel_rows, w.rows - first));
  });
}

}  // namespace snapkv
