#pragma once
// Causal softmax attention of new queries against a KV cache layer, optionally
// preceded by a read-only base cache (a shared prompt prefix).
namespace snapkv {

class KvCache;
class ThreadPool;

// The keys and values a query attends to: `base_length` slots of `base` (if
// any), then the slots of `own`. Both use the same head layout; each is read
// in its own KvType.
struct AttentionSource {
  const KvCache* base = nullptr;
  int base_length = 0;
  int base_layer = 0;
  const KvCache* own = nullptr;
  int own_layer = 0;
};

// q: `tokens` rows of `heads` x head_dim (RoPE applied). `own` holds `past`
// earlier slots followed by the `tokens` new ones; query t sees every base
// slot and own slots [0, past + t]. Query head h reads cache head
// h * cache_heads / heads, which covers grouped-query caches and caches with
// one head per query head. out: `tokens` rows of heads x head_dim.
void causal_attention(const float* q, const AttentionSource& source, int past, int tokens, int heads, float* out,
                      ThreadPool& pool);

}  // namespace snapkv
