#pragma once
// Causal softmax attention of new queries against a KV cache layer.
namespace snapkv {

class KvCache;
class ThreadPool;

// q: `tokens` rows of `heads` x head_dim (RoPE applied). The cache layer holds
// `past` earlier slots followed by the `tokens` new ones; query t sees slots
// [0, past + t]. Query head h reads cache head h * cache.heads() / heads, which
// covers grouped-query caches and caches with one head per query head.
// out: `tokens` rows of heads x head_dim.
void causal_attention(const float* q, const KvCache& cache, int layer, int past, int tokens, int heads,
                      float* out, ThreadPool& pool);

}  // namespace snapkv
