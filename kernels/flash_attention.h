#pragma once
// Causal attention for prefill on the tensor cores (FlashAttention-2's
// scheme: online softmax over key tiles, nothing of size tokens x keys ever
// stored), grouped-query aware, for one chunk of queries at a time.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "gpu_types.h"

namespace snapkv::gpu {

// q: `tokens` rows of `heads` x head_dim in kv.type (RoPE applied), row t at
// q + t * q_row_stride. The chunk's own keys and values are already stored:
// they are the last `tokens` entries of kv.own, so query t sits at key index
// kv.length() - tokens + t and sees every key up to and including itself
// (all of kv.base, the earlier own entries, causal inside the chunk). Query
// head h reads cache head h / (heads / kv.heads). out: tokens rows of heads x
// head_dim in kv.type, row stride out_row_stride. head_dim 16, 32, 64 or 128.
// A prompt of any length is processed chunk by chunk (each chunk's keys
// stored, then this call); one launch covers any chunk size: the grid is
// ceil(tokens / 64) x heads. CPU reference: cpu/attention causal_attention.
void flash_attention_prefill(const void* q, std::size_t q_row_stride, int tokens, int heads, const KvView& kv,
                             void* out, std::size_t out_row_stride, cudaStream_t stream);

bool flash_attention_supports_head_dim(int head_dim);

}  // namespace snapkv::gpu
