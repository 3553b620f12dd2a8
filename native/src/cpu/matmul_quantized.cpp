#include "cpu/matmul_quantized.h"

#include <algorithm>
#include <vector>

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

// A decode step's rows are split into a few long runs per thread, not many
// short ones: each run starts with cold rows (the prefetch of the next rows
// reaches past a run's end into another thread's) and costs an atomic on a
// line both threads write. Eight per thread still balance a thread that the
// system delays.
constexpr int kMatvecTasksPerThread = 8;
constexpr int kMinRowsPerMatvecTask = 32;

// `step`: the rows one kernel call takes, which a task's rows are a multiple of.
int rows_per_matvec_task(int rows, int threads, int step) {
  const int even = (rows + threads * kMatvecTasksPerThread - 1) / (threads * kMatvecTasksPerThread);
  return std::max(kMinRowsPerMatvecTask, (even + step - 1) / step * step);
}

// One token: where the set reads the type's stored blocks (StoredRowKernel),
// its 8 or 16 rows at a time straight from the weights; else, and for the rows left
// over, rows are unpacked a few at a time into buffers that stay in L1 (no
// panel is interleaved) and meet the token in row_products. Both take
// panel_product's f32 steps, so a decoded token has the bits of a prefilled one.
void matvec_quantized(const WeightMatrix& w, const WeightUnpacker& unpacker, const QuantizedTokens& x, float* out,
                      ThreadPool& pool, const QuantKernels& kernels) {
  const int groups = w.cols / unpacker.group_size;
  const int blocks = blocks_in_row(w.type, w.cols);
  const auto row_values = static_cast<std::size_t>(w.cols);
  const QuantTokens token = x.view(0);
  const StoredRowKernel stored =
      kernels.stored_row_products != nullptr ? kernels.stored_row_products(w.type) : StoredRowKernel{nullptr, 1};
  const int task_rows = rows_per_matvec_task(w.rows, pool.size(), stored.rows);
  const int tasks = (w.rows + task_rows - 1) / task_rows;
  pool.parallel_for(tasks, [&](int task, int) {
    const int last = std::min(w.rows, (task + 1) * task_rows);
    int first = task * task_rows;
    if (stored.products != nullptr) {
      for (; first + stored.rows <= last; first += stored.rows) stored.products(w.row(first), w.row_bytes, blocks, token, out + first);
      if (first == last) return;
    }
    thread_local std::vector<std::uint8_t> quants;
    thread_local std::vector<float> scales, offsets;
    quants.resize(row_values * kRowProductRows);
    scales.resize(static_cast<std::size_t>(groups) * kRowProductRows);
    offsets.resize(scales.size());
    for (int r = first; r < last; r += kRowProductRows) {
      const int count = std::min(kRowProductRows, last - r);
      for (int i = 0; i < count; ++i) {
        std::uint8_t* q = quants.data() + i * row_values;
        float* s = scales.data() + static_cast<std::size_t>(i) * groups;
        float* o = offsets.data() + static_cast<std::size_t>(i) * groups;
        unpack_row_for_kernels(w.type, kernels.signed_weights, w.row(r + i), w.cols, q, s, o);
      }
      kernels.row_products(quants.data(), scales.data(), offsets.data(), count, groups, unpacker.group_size, token,
                           out + r);
    }
  });
}

// The set's one-token kernel for F16 or BF16 rows, or null where it has none.
Bf16StoredRowProducts bf16_stored_rows(const QuantKernels& kernels, GgmlType type) {
  return kernels.bf16_stored_row_products != nullptr ? kernels.bf16_stored_row_products(type) : nullptr;
}

}  // namespace

bool quantized_matmul_applies(const WeightMatrix& w, int tokens, const QuantKernels& kernels) {
  if (tokens < 1) return false;
  if (w.type == GgmlType::F16 || w.type == GgmlType::BF16) {
    if (kernels.bf16_panel_product == nullptr) return false;
    return tokens > 1 || bf16_stored_rows(kernels, w.type) != nullptr;
  }
  return weight_unpacker(w.type) != nullptr;
}

namespace {

// One token of F16 or BF16 weights: kBf16StoredRows rows at a time read
// straight from the stored rows, with the bits of a prefilled token.
void matvec_bf16(const WeightMatrix& w, const Bf16TokenPairs& pairs, float* out, ThreadPool& pool,
                 Bf16StoredRowProducts stored) {
  const Bf16Tokens token = pairs.view(0);
  const int task_rows = rows_per_matvec_task(w.rows, pool.size(), kBf16StoredRows);
  const int tasks = (w.rows + task_rows - 1) / task_rows;
  pool.parallel_for(tasks, [&](int task, int) {
    const int last = std::min(w.rows, (task + 1) * task_rows);
    for (int first = task * task_rows; first < last; first += kBf16StoredRows) {
      stored(w.row(first), w.row_bytes, std::min(kBf16StoredRows, last - first), w.cols, token, out + first);
    }
  });
}

void matmul_bf16(const WeightMatrix& w, const float* in, float* out, int tokens, ThreadPool& pool,
                 const QuantKernels& kernels) {
  thread_local Bf16TokenPairs buffer;
  Bf16TokenPairs& pairs = buffer;  // the caller's, inside the workers' lambda too
  pairs.convert(in, tokens, w.cols);
  // A set without stored-row products (the tests force one) takes the panels for one token too.
  if (tokens == 1) {
    if (const Bf16StoredRowProducts stored = bf16_stored_rows(kernels, w.type)) return matvec_bf16(w, pairs, out, pool, stored);
  }
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
  if (tokens == 1) return matvec_quantized(w, unpacker, quantized, out, pool, kernels);
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
