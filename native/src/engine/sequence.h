#pragma once
// A KV cache together with the logits of its last token (what generation
// continues from) and the token ids it was extended with.
#include <memory>
#include <vector>

#include "engine/forward.h"
#include "kv/kv_cache.h"

namespace snapkv {

class DeviceKv;
class Model;

struct Sequence {
  Sequence(int layers, int heads, int head_dim, int capacity, KvType kv_type);
  // A sequence whose keys and values a device backend holds.
  Sequence(int layers, int heads, int head_dim, int capacity, std::unique_ptr<DeviceKv> device_kv);
  ~Sequence();

  KvCache cache;  // without storage when `device` is set: then only its length and position count
  std::unique_ptr<DeviceKv> device;
  std::vector<float> last_logits;  // empty until a forward pass has produced them
  // Every token appended, in order. For a full cache, tokens[i] sits in slot
  // i; a compressed cache lists only what was appended after compression.
  std::vector<int> tokens;
  // Tokens run through the model onto this cache since it was made or
  // loaded: how much an incremental update really recomputed.
  long long forwarded_tokens = 0;
};

// A new, empty sequence in the memory of the model's backend: the host for
// the CPU backend; on a device backend, device memory, or pinned host memory
// when it does not fit there and `host_allowed` (prompt prefixes).
std::shared_ptr<Sequence> make_sequence(const Model& model, int cache_heads, int capacity, bool host_allowed);

// Runs tokens through the model onto the sequence and keeps its last logits
// and tokens up to date. Returns the logits `options.logits` asks for.
std::vector<float> extend_sequence(const Model& model, Sequence& sequence, const int* tokens, int count,
                                   ForwardOptions options);

// Cuts a full cache back to its first `length` tokens. The logits of the new
// last token are not known until more tokens are run, so they are dropped.
void truncate_sequence(Sequence& sequence, int length);

}  // namespace snapkv
