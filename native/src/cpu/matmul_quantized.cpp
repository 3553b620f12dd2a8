#include "cpu/matmul_quantized.h"

#include <algorithm>

#include "cpu/quant_prep.h"
#include "cpu/thread_pool.h"
#include "cpu/weight_unpack.h"

namespace snapkv {

namespace {

constexpr int kTokensPerTask = 16;     // quantization of activations

void quantize_tokens(QuantizedTokens& quantized, const float* in, int tokens, int cols, int group_size, ThreadPool& pool) {
  quantized.resize(tokens, cols, group_size);
  const int tasks = (tokens + kTokensPerTask - 1) / kTokensPerTask;
  pool.parallel_for(tasks, [&](int task, int) {
    quantized.quantize(in, task * kTokensPerTask, std::min(tokens, (task + 1) * kTokensPerTask));
  });
}

}  // namespace

bool quantized_matmul_applies(const WeightMatrix& w, int tokens, const QuantKernels& kernels) {
  if (tokens < 1) return false;
  if (w.type == GgmlType::F16 || w.type == GgmlType::BF16) return kernels.bf16_panel_product != nullptr;
  return weight_unpacker(w.type) != nullptr;
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
  // One token runs the same panel kernels as a batch (a tile of one token
  // does per token what a tile of four does), so decoding a token gives the
  // bits that prefilling it in any batch gives.
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
