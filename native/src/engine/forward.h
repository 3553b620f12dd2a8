#pragma once
// A forward pass of a model over new tokens, appending their keys and values
// to a KV cache. It computes and knows nothing of sessions or callers.
#include <atomic>
#include <functional>
#include <vector>

namespace snapkv {

class KvCache;
class Model;

enum class LogitsMode { None, Last, All };

// Sees each layer's queries (RoPE applied) as they are computed: the hook that
// attention-based cache compression needs.
class QueryObserver {
 public:
  virtual ~QueryObserver() = default;
  // q: `tokens` rows of heads x head_dim; positions: each row's RoPE position.
  virtual void on_queries(int layer, const float* q, int tokens, const int* positions) = 0;
};

struct ForwardOptions {
  LogitsMode logits = LogitsMode::Last;
  int chunk_tokens = 256;  // tokens per batched step: bounds the scratch memory
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(int done, int total)> on_progress;
};

// Runs `count` tokens, which must be valid ids, through the model, appending to
// `cache`. Returns the logits asked for: vocab floats for Last, count x vocab
// for All, nothing for None. On cancellation or error the cache is rolled back
// to its length before the call, and the error is thrown.
std::vector<float> run_forward(const Model& model, KvCache& cache, const int* tokens, int count,
                               const ForwardOptions& options);

// Throws a Cancelled error when the flag is raised.
void throw_if_cancelled(const std::atomic<bool>* cancel);

// Throws unless every id is in the model's vocabulary.
void validate_tokens(const Model& model, const int* tokens, int count);

}  // namespace snapkv
