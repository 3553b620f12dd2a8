#include "engine/layer_step.h"

#include "cpu/matmul.h"
#include "cpu/vector_ops.h"
#include "engine/forward.h"
#include "kv/kv_cache.h"
#include "model/model.h"

namespace snapkv {

ChunkBuffers::ChunkBuffers(const ModelConfig& c, int max_tokens) {
  const auto n = static_cast<std::size_t>(max_tokens);
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

std::size_t ChunkBuffers::bytes(const ModelConfig& c, int max_tokens) {
  const auto n = static_cast<std::size_t>(max_tokens);
  const std::size_t floats = 3 * static_cast<std::size_t>(c.hidden) + 2 * static_cast<std::size_t>(c.q_dim()) +
                             2 * static_cast<std::size_t>(c.kv_dim()) + 2 * static_cast<std::size_t>(c.ffn);
  return n * (floats * sizeof(float) + sizeof(int));
}

namespace {

void store_keys_values(const ModelConfig& c, KvCache& cache, int layer, const float* k, const float* v, int tokens,
                       int first_slot) {
  const int d = c.head_dim;
  // A cache may hold one head per KV head or one per query head; cache head
  // ch copies KV head ch * kv_heads / cache_heads.
  for (int ch = 0; ch < cache.heads(); ++ch) {
    const int source = ch * c.kv_heads / cache.heads();
    for (int t = 0; t < tokens; ++t) {
      const std::size_t from = (static_cast<std::size_t>(t) * c.kv_heads + source) * d;
      cache.write_rows(layer, 0, ch, first_slot + t, 1, k + from);
      cache.write_rows(layer, 1, ch, first_slot + t, 1, v + from);
    }
  }
}

}  // namespace

void run_layer(const Model& model, int l, KvCache& cache, int cache_layer, const KvCache* base, int base_length,
               ChunkBuffers& b, int tokens, int first_slot, QueryObserver* observer) {
  const ModelConfig& c = model.config();
  const LayerWeights& w = model.weights().layers[l];
  ThreadPool& pool = model.pool();

  rms_norm(b.x.data(), w.attn_norm.data(), b.normed.data(), tokens, c.hidden, c.rms_eps);
  matmul(w.wq, b.normed.data(), b.q.data(), tokens, pool);
  matmul(w.wk, b.normed.data(), b.k.data(), tokens, pool);
  matmul(w.wv, b.normed.data(), b.v.data(), tokens, pool);
  if (!w.bq.empty()) add_bias(b.q.data(), w.bq.data(), tokens, c.q_dim());
  if (!w.bk.empty()) add_bias(b.k.data(), w.bk.data(), tokens, c.kv_dim());
  if (!w.bv.empty()) add_bias(b.v.data(), w.bv.data(), tokens, c.kv_dim());
  if (c.qk_norm) {  // qwen3: each head of q and k normalised on its own
    rms_norm(b.q.data(), w.q_norm.data(), b.q.data(), tokens * c.heads, c.head_dim, c.rms_eps);
    rms_norm(b.k.data(), w.k_norm.data(), b.k.data(), tokens * c.kv_heads, c.head_dim, c.rms_eps);
  }
  apply_rope(b.q.data(), b.positions.data(), tokens, c.heads, c.head_dim, model.rope(), c.rope_layout);
  apply_rope(b.k.data(), b.positions.data(), tokens, c.kv_heads, c.head_dim, model.rope(), c.rope_layout);
  if (observer != nullptr) observer->on_queries(l, b.q.data(), tokens, b.positions.data());
  store_keys_values(c, cache, cache_layer, b.k.data(), b.v.data(), tokens, first_slot);
  AttentionSource source;
  source.base = base;
  source.base_length = base ? base_length : 0;
  source.base_layer = l;
  source.own = &cache;
  source.own_layer = cache_layer;
  causal_attention(b.q.data(), source, first_slot, tokens, c.heads, b.attended.data(), pool);
  matmul(w.wo, b.attended.data(), b.projected.data(), tokens, pool);
  if (!w.bo.empty()) add_bias(b.projected.data(), w.bo.data(), tokens, c.hidden);
  add_in_place(b.x.data(), b.projected.data(), static_cast<std::size_t>(tokens) * c.hidden);

  rms_norm(b.x.data(), w.ffn_norm.data(), b.normed.data(), tokens, c.hidden, c.rms_eps);
  matmul(w.w_gate, b.normed.data(), b.gate.data(), tokens, pool);
  matmul(w.w_up, b.normed.data(), b.up.data(), tokens, pool);
  swiglu(b.gate.data(), b.up.data(), static_cast<std::size_t>(tokens) * c.ffn);
  matmul(w.w_down, b.gate.data(), b.projected.data(), tokens, pool);
  add_in_place(b.x.data(), b.projected.data(), static_cast<std::size_t>(tokens) * c.hidden);
}

void compute_logits(const Model& model, const float* x, float* normed, int rows, float* out) {
  const ModelConfig& c = model.config();
  rms_norm(x, model.weights().output_norm.data(), normed, rows, c.hidden, c.rms_eps);
  matmul(model.weights().output, normed, out, rows, model.pool());
}

}  // namespace snapkv
