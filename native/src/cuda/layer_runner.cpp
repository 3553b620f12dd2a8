#include "cuda/layer_runner.h"

#include <algorithm>

#include "cuda_check.h"
#include "decode_attention.h"
#include "elementwise.h"
#include "flash_attention.h"
#include "gemm.h"
#include "matvec.h"
#include "rms_norm.h"
#include "rope.h"
#include "weight_formats.h"

namespace snapkv::cuda {

namespace {

using gpu::DType;

constexpr std::size_t kF32 = sizeof(float);
constexpr std::size_t kBf16 = sizeof(std::uint16_t);

}  // namespace

LayerRunner::LayerRunner(const ModelConfig& config, const DeviceWeights& weights, std::shared_ptr<MemoryBudget> budget)
    : config_(config),
      weights_(weights),
      normed_(budget, "normed activations"),
      q_(budget, "queries"),
      k_(budget, "keys"),
      v_(budget, "values"),
      q16_(budget, "bf16 queries"),
      attended_(budget, "attention output"),
      gate_(budget, "feed-forward gate"),
      up_(budget, "feed-forward up projection"),
      act_(budget, "feed-forward activations"),
      operand_(budget, "a weight matrix converted for the tensor cores"),
      decode_workspace_(budget, "decode attention partial results") {
  // Sized once for the largest matrix: growing it mid-pass would free a
  // scratch that a queued GEMM still reads.
  bool converts = false;
  for (const DeviceLayer& l : weights.layers) {
    for (const gpu::DeviceMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      converts = converts || m->type != gpu::WeightType::BF16;
    }
  }
  if (converts) operand_.get(weights.largest_matrix_elements() * kBf16);
}

std::size_t LayerRunner::scratch_bytes(const ModelConfig& c, std::size_t largest_matrix, int rows) {
  const auto n = static_cast<std::size_t>(std::max(rows, 1));
  return n * c.hidden * std::max(kBf16, kF32) + n * c.q_dim() * (kF32 + 2 * std::max(kBf16, kF32)) +
         2 * n * c.kv_dim() * kF32 + 2 * n * c.ffn * kF32 + n * c.ffn * kBf16 + largest_matrix * kBf16 +
         gpu::decode_attention_workspace_bytes(c.heads, c.head_dim);
}

std::size_t LayerRunner::held_bytes() const {
  std::size_t total = 0;
  for (const GrowingBuffer* b : {&normed_, &q_, &k_, &v_, &q16_, &attended_, &gate_, &up_, &act_, &operand_, &decode_workspace_}) {
    total += b->bytes();
  }
  return total;
}

const void* LayerRunner::bf16_operand(const gpu::DeviceMatrix& w, cudaStream_t stream) {
  if (w.type == gpu::WeightType::BF16) return w.data;
  // Stream order makes one scratch enough: the next conversion starts after
  // this GEMM has read it.
  void* scratch = operand_.get(static_cast<std::size_t>(w.rows) * w.cols * kBf16);
  gpu::convert_matrix(w, DType::BF16, scratch, stream);
  return scratch;
}

void LayerRunner::gemm(const void* activations, int k, const gpu::DeviceMatrix& w, float* out, int rows,
                       bool accumulate, cudaStream_t stream) {
  gpu::gemm(DType::BF16, activations, k, bf16_operand(w, stream), w.cols, out, w.rows, rows, w.rows, k, accumulate,
            stream);
}

gpu::RopeJob LayerRunner::rope_job(const float* in, int heads, const float* bias, const int* positions, int rows) const {
  gpu::RopeJob job;
  job.in = in;
  job.in_row_stride = static_cast<std::size_t>(heads) * config_.head_dim;
  job.bias = bias;
  job.positions = positions;
  job.rows = rows;
  job.heads = heads;
  job.head_dim = config_.head_dim;
  job.freq_base = config_.rope_freq_base;
  job.adjacent_pairs = config_.rope_layout == RopeLayout::AdjacentPairs;
  return job;
}

void LayerRunner::rotate_queries(const DeviceLayer& w, const PassRows& pass, int row0, int rows, const float* q,
                                 DType out_type, void* out, cudaStream_t stream) {
  gpu::RopeJob job = rope_job(q, config_.heads, w.bq, pass.positions + row0, rows);
  job.out_type = out_type;
  job.out = out;
  job.out_row_stride = static_cast<std::size_t>(config_.q_dim());
  job.out_head_stride = static_cast<std::size_t>(config_.head_dim);
  gpu::rope(job, stream);
}

void LayerRunner::store_keys_values(const DeviceLayer& w, const PassRows& pass, int row0, int rows, const float* k,
                                    const float* v, const LayerKv& own, cudaStream_t stream) {
  const ModelConfig& c = config_;
  // A repeated compact cache holds each KV head `group` times, in adjacent cache heads.
  const int group = own.heads / c.kv_heads;
  for (int replica = 0; replica < group; ++replica) {
    for (int kind = 0; kind < 2; ++kind) {
      gpu::RopeJob job = rope_job(kind == 0 ? k : v, c.kv_heads, kind == 0 ? w.bk : w.bv, pass.positions + row0, rows);
      job.rotate = kind == 0;
      job.out_type = DType::BF16;
      std::uint16_t* block = kind == 0 ? own.keys : own.values;
      job.out = block + replica * own.head_stride + static_cast<std::size_t>(pass.first_slot + row0) * c.head_dim;
      job.out_row_stride = static_cast<std::size_t>(c.head_dim);
      job.out_head_stride = own.head_stride * group;
      gpu::rope(job, stream);
    }
  }
}

void LayerRunner::run(int layer, const PassRows& pass, int row0, int rows, const LayerKv& base, int base_length,
                      const LayerKv& own, cudaStream_t stream) {
  const DeviceLayer& w = weights_.layers[static_cast<std::size_t>(layer)];
  gpu::KvView view;
  view.type = DType::BF16;
  view.heads = own.heads;
  view.head_dim = config_.head_dim;
  if (base_length > 0) view.base = base.segment(base_length);
  view.own = own.segment(pass.first_slot + row0 + rows);
  if (rows == 1) {
    run_single(w, pass, row0, view, own, stream);
  } else {
    run_batched(w, pass, row0, rows, view, own, stream);
  }
}

void LayerRunner::run_batched(const DeviceLayer& w, const PassRows& pass, int row0, int n, const gpu::KvView& view,
                              const LayerKv& own, cudaStream_t stream) {
  const ModelConfig& c = config_;
  const auto rows = static_cast<std::size_t>(n);
  float* x = pass.hidden + static_cast<std::size_t>(row0) * c.hidden;
  auto* normed = normed_.as<std::uint16_t>(rows * c.hidden);
  float* q = q_.as<float>(rows * c.q_dim());
  float* k = k_.as<float>(rows * c.kv_dim());
  float* v = v_.as<float>(rows * c.kv_dim());
  auto* q16 = q16_.as<std::uint16_t>(rows * c.q_dim());
  auto* attended = attended_.as<std::uint16_t>(rows * c.q_dim());

  gpu::rms_norm(x, w.attn_norm, n, c.hidden, c.rms_eps, DType::BF16, normed, stream);
  gemm(normed, c.hidden, w.wq, q, n, false, stream);
  gemm(normed, c.hidden, w.wk, k, n, false, stream);
  gemm(normed, c.hidden, w.wv, v, n, false, stream);
  rotate_queries(w, pass, row0, n, q, DType::BF16, q16, stream);
  store_keys_values(w, pass, row0, n, k, v, own, stream);

  if (pass.window_from >= 0 && row0 + n > pass.window_from) {
    const int first = std::max(row0, pass.window_from);
    const std::size_t row_bytes = static_cast<std::size_t>(c.q_dim()) * kBf16;
    gpu::check_cuda(cudaMemcpyAsync(pass.window_queries + static_cast<std::size_t>(first - pass.window_from) * c.q_dim(),
                                    q16 + static_cast<std::size_t>(first - row0) * c.q_dim(),
                                    row_bytes * (row0 + n - first), cudaMemcpyDeviceToDevice, stream),
                    "copying the window's queries");
  }

  gpu::flash_attention_prefill(q16, static_cast<std::size_t>(c.q_dim()), n, c.heads, view, attended,
                               static_cast<std::size_t>(c.q_dim()), stream);
  gemm(attended, c.q_dim(), w.wo, x, n, true, stream);

  float* gate = gate_.as<float>(rows * c.ffn);
  float* up = up_.as<float>(rows * c.ffn);
  auto* act = act_.as<std::uint16_t>(rows * c.ffn);
  gpu::rms_norm(x, w.ffn_norm, n, c.hidden, c.rms_eps, DType::BF16, normed, stream);
  gemm(normed, c.hidden, w.w_gate, gate, n, false, stream);
  gemm(normed, c.hidden, w.w_up, up, n, false, stream);
  gpu::swiglu(gate, up, rows * c.ffn, DType::BF16, act, stream);
  gemm(act, c.ffn, w.w_down, x, n, true, stream);
}

void LayerRunner::run_single(const DeviceLayer& w, const PassRows& pass, int row0, const gpu::KvView& view,
                             const LayerKv& own, cudaStream_t stream) {
  const ModelConfig& c = config_;
  float* x = pass.hidden + static_cast<std::size_t>(row0) * c.hidden;
  float* normed = normed_.as<float>(static_cast<std::size_t>(c.hidden));
  float* q = q_.as<float>(static_cast<std::size_t>(c.q_dim()));
  float* k = k_.as<float>(static_cast<std::size_t>(c.kv_dim()));
  float* v = v_.as<float>(static_cast<std::size_t>(c.kv_dim()));
  float* attended = attended_.as<float>(static_cast<std::size_t>(c.q_dim()));

  gpu::rms_norm(x, w.attn_norm, 1, c.hidden, c.rms_eps, DType::F32, normed, stream);
  gpu::matvec(w.wq, normed, q, false, stream);
  gpu::matvec(w.wk, normed, k, false, stream);
  gpu::matvec(w.wv, normed, v, false, stream);

  rotate_queries(w, pass, row0, 1, q, DType::F32, q, stream);  // in place
  store_keys_values(w, pass, row0, 1, k, v, own, stream);

  if (pass.window_from >= 0 && row0 >= pass.window_from) {
    gpu::convert_f32(q, static_cast<std::size_t>(c.q_dim()), DType::BF16,
                     pass.window_queries + static_cast<std::size_t>(row0 - pass.window_from) * c.q_dim(), stream);
  }

  void* workspace = decode_workspace_.get(gpu::decode_attention_workspace_bytes(c.heads, c.head_dim));
  gpu::decode_attention(q, c.heads, view, attended, workspace, stream);
  gpu::matvec(w.wo, attended, x, true, stream);

  float* gate = gate_.as<float>(static_cast<std::size_t>(c.ffn));
  float* up = up_.as<float>(static_cast<std::size_t>(c.ffn));
  gpu::rms_norm(x, w.ffn_norm, 1, c.hidden, c.rms_eps, DType::F32, normed, stream);
  gpu::matvec(w.w_gate, normed, gate, false, stream);
  gpu::matvec(w.w_up, normed, up, false, stream);
  gpu::swiglu(gate, up, static_cast<std::size_t>(c.ffn), DType::F32, gate, stream);
  gpu::matvec(w.w_down, gate, x, true, stream);
}

void LayerRunner::logits(const float* hidden_row, float* logits, cudaStream_t stream) {
  float* normed = normed_.as<float>(static_cast<std::size_t>(config_.hidden));
  gpu::rms_norm(hidden_row, weights_.output_norm, 1, config_.hidden, config_.rms_eps, DType::F32, normed, stream);
  gpu::matvec(weights_.output, normed, logits, false, stream);
}

}  // namespace snapkv::cuda
