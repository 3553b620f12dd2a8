#pragma once
// Attention of one new token over a whole cache (compact or full) for
// decoding: the keys are split across blocks (flash-decoding) and the
// partial results combined, so that even a short compact cache spreads over
// the device and a long one streams at memory bandwidth.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "gpu_types.h"

namespace snapkv::gpu {

// q: `heads` x head_dim f32 (RoPE applied), the token whose key and value are
// already the last entry of kv; it sees all kv.length() keys. Query head h
// reads cache head h / (heads / kv.heads), and one block serves all the query
// heads of its cache head (each K/V tile is read once for the group), at most
// 16 query heads per cache head. out: heads x head_dim f32. `workspace`:
// decode_attention_workspace_bytes(heads, head_dim) bytes of device memory.
// CPU reference: cpu/attention causal_attention with one token.
void decode_attention(const float* q, int heads, const KvView& kv, float* out, void* workspace, cudaStream_t stream);

std::size_t decode_attention_workspace_bytes(int heads, int head_dim);

// The key split decode_attention uses for `keys` keys (for reports).
int decode_attention_keys_per_split(long long keys);

}  // namespace snapkv::gpu
