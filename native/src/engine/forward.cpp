#include "engine/forward.h"

#include <algorithm>
#include <cstring>

#include "common/engine_error.h"
#include "cpu/attention.h"
#include "cpu/matmul.h"
#include "cpu/vector_ops.h"
#include "kv/kv_cache.h"
#include "model/model.h"

namespace snapkv {

namespace {

// Activations of one chunk of tokens, reused by every layer.
struct ChunkBuffers {
  std::vector<float> x, normed, q, k, v, attended, projected, gate, up;
  std::vector<int> positions;

  ChunkBuffers(const ModelConfig& c, int tokens) {
    const auto n = static_cast<std::size_t>(tokens);
    x.resize(n * c.hidden);
    normed.resize(n * c.hidden);
    q.resize(n * c.q_dim());
    k.resize(n * c.kv_dim());
    v.resize(n * c.kv_dim());
    attended.resize(n * c.q_dim());
    projected.resize(n * c.hidden);
    gate.resize(n * c.ffn);
    up.resize(n * c.ffn);
    positions.resize(n);
  }
};

void store_keys_values(const ModelConfig& c, KvCache& cache, int layer, const float* k, const float* v,
                       int tokens, int first_slot) {
  const int d = c.head_dim;
  // A cache may hold one head per KV head or, for comparison runs, one per
  // query head; cache head ch then copies KV head ch * kv_heads / cache_heads.
  for (int ch = 0; ch < cache.heads(); ++ch) {
    const int source = ch * c.kv_heads / cache.heads();
    float* keys = cache.keys(layer, ch);
    float* values = cache.values(layer, ch);
    for (int t = 0; t < tokens; ++t) {
      const std::size_t from = (static_cast<std::size_t>(t) * c.kv_heads + source) * d;
      const std::size_t to = static_cast<std::size_t>(first_slot + t) * d;
      std::memcpy(keys + to, k + from, sizeof(float) * d);
      std::memcpy(values + to, v + from, sizeof(float) * d);
    }
  }
}

void run_layer(const Model& model, int l, KvCache& cache, ChunkBuffers& b, int tokens, int first_slot,
               QueryObserver* observer) {
  const ModelConfig& c = model.config();
  const LayerWeights& w = model.weights().layers[l];
  ThreadPool& pool = model.pool();

  rms_norm(b.x.data(), w.attn_norm.data(), b.normed.data(), tokens, c.hidden, c.rms_eps);
  matmul(w.wq, b.normed.data(), b.q.data(), tokens, pool);
  matmul(w.wk, b.normed.data(), b.k.data(), tokens, pool);
  matmul(w.wv, b.normed.data(), b.v.data(), tokens, pool);
  if (c.qkv_bias) {
    add_bias(b.q.data(), w.bq.data(), tokens, c.q_dim());
    add_bias(b.k.data(), w.bk.data(), tokens, c.kv_dim());
    add_bias(b.v.data(), w.bv.data(), tokens, c.kv_dim());
  }
  apply_rope(b.q.data(), b.positions.data(), tokens, c.heads, c.head_dim, c.rope_freq_base, c.rope_layout);
  apply_rope(b.k.data(), b.positions.data(), tokens, c.kv_heads, c.head_dim, c.rope_freq_base, c.rope_layout);
  if (observer != nullptr) observer->on_queries(l, b.q.data(), tokens, first_slot);
  store_keys_values(c, cache, l, b.k.data(), b.v.data(), tokens, first_slot);
  causal_attention(b.q.data(), cache, l, first_slot, tokens, c.heads, b.attended.data(), pool);
  matmul(w.wo, b.attended.data(), b.projected.data(), tokens, pool);
  add_in_place(b.x.data(), b.projected.data(), static_cast<std::size_t>(tokens) * c.hidden);

  rms_norm(b.x.data(), w.ffn_norm.data(), b.normed.data(), tokens, c.hidden, c.rms_eps);
  matmul(w.w_gate, b.normed.data(), b.gate.data(), tokens, pool);
  matmul(w.w_up, b.normed.data(), b.up.data(), tokens, pool);
  swiglu(b.gate.data(), b.up.data(), static_cast<std::size_t>(tokens) * c.ffn);
  matmul(w.w_down, b.gate.data(), b.projected.data(), tokens, pool);
  add_in_place(b.x.data(), b.projected.data(), static_cast<std::size_t>(tokens) * c.hidden);
}

void compute_logits(const Model& model, ChunkBuffers& b, int first_row, int rows, float* out) {
  const ModelConfig& c = model.config();
  const float* x = b.x.data() + static_cast<std::size_t>(first_row) * c.hidden;
  rms_norm(x, model.weights().output_norm.data(), b.normed.data(), rows, c.hidden, c.rms_eps);
  matmul(model.weights().output, b.normed.data(), out, rows, model.pool());
}

void validate(const Model& model, const KvCache& cache, const int* tokens, int count) {
  const ModelConfig& c = model.config();
  if (count <= 0) fail(ErrorCode::InvalidArgument, "no tokens to process");
  for (int i = 0; i < count; ++i) {
    if (tokens[i] < 0 || tokens[i] >= c.vocab) {
      fail(ErrorCode::InvalidArgument, "token id ", tokens[i], " at index ", i,
           " is outside the model's vocabulary of ", c.vocab, " tokens");
    }
  }
  if (cache.layers() != c.layers || cache.head_dim() != c.head_dim ||
      (cache.heads() != c.kv_heads && cache.heads() != c.heads)) {
    fail(ErrorCode::InvalidArgument, "the KV cache was made for another model shape");
  }
  if (count > cache.capacity() - cache.length()) {
    fail(ErrorCode::CapacityExceeded, "the KV cache holds ", cache.length(), " of ", cache.capacity(),
         " tokens and cannot take ", count, " more; create it with a larger capacity");
  }
}

}  // namespace

std::vector<float> run_forward(const Model& model, KvCache& cache, const int* tokens, int count,
                               const ForwardOptions& options) {
  validate(model, cache, tokens, count);
  const ModelConfig& c = model.config();
  const int chunk = std::max(1, options.chunk_tokens);
  const int start_length = cache.length();
  const int start_position = cache.next_position();

  std::vector<float> logits;
  if (options.logits == LogitsMode::Last) logits.resize(static_cast<std::size_t>(c.vocab));
  if (options.logits == LogitsMode::All) logits.resize(static_cast<std::size_t>(count) * c.vocab);

  ChunkBuffers buffers(c, std::min(chunk, count));
  try {
    for (int done = 0; done < count;) {
      if (options.cancel != nullptr && options.cancel->load()) fail(ErrorCode::Cancelled, "cancelled");
      const int n = std::min(chunk, count - done);
      const int first_slot = cache.length();
      for (int t = 0; t < n; ++t) buffers.positions[t] = cache.next_position() + t;
      embed_tokens(model.weights().token_embedding, tokens + done, n, buffers.x.data());
      for (int l = 0; l < c.layers; ++l) {
        if (options.cancel != nullptr && options.cancel->load()) fail(ErrorCode::Cancelled, "cancelled");
        run_layer(model, l, cache, buffers, n, first_slot, options.observer);
      }
      cache.append(n);
      if (options.logits == LogitsMode::All) {
        compute_logits(model, buffers, 0, n, logits.data() + static_cast<std::size_t>(done) * c.vocab);
      } else if (options.logits == LogitsMode::Last && done + n == count) {
        compute_logits(model, buffers, n - 1, 1, logits.data());
      }
      done += n;
      if (options.on_progress) options.on_progress(done, count);
    }
  } catch (...) {
    cache.reset(start_length, start_position);
    throw;
  }
  return logits;
}

}  // namespace snapkv
