#pragma once
// A KV store of the model's backend together with the logits of its last
// token (what generation continues from) and the token ids it was extended
// with. PrefixCache and CompactCache are the two kinds of sequence.
#include <memory>
#include <vector>

#include "engine/backend.h"
#include "engine/forward.h"

namespace snapkv {

class Model;

struct Sequence {
  explicit Sequence(std::unique_ptr<KvStore> store) : kv(std::move(store)) {}

  std::unique_ptr<KvStore> kv;
  std::vector<float> last_logits;  // empty until a forward pass has produced them
  // Every token appended, in order. For a full cache, tokens[i] sits in slot
  // i; a compressed cache lists only what was appended after compression.
  std::vector<int> tokens;
  // Tokens run through the model onto this cache since it was made or
  // loaded: how much an incremental update really recomputed.
  long long forwarded_tokens = 0;
};

// A new, empty sequence in the memory of the model's backend (see
// Backend::create_kv for `host_allowed`).
std::shared_ptr<Sequence> make_sequence(const Model& model, int cache_heads, int capacity, bool host_allowed);

// Runs tokens through the model onto the sequence and keeps its last logits
// and tokens up to date. Returns the logits `options.logits` asks for.
std::vector<float> extend_sequence(const Model& model, Sequence& sequence, const int* tokens, int count,
                                   ForwardOptions options);

}  // namespace snapkv
