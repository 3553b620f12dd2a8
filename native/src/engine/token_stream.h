#pragma once
// Generation: samples a token, feeds it back through the model, repeats, until
// a stop token or the token limit. Each call to next() is one step, so the
// caller decides where each step runs and can stop between steps.
#include <atomic>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "sampling/sampler.h"

namespace snapkv {

class Model;
struct Sequence;

struct GenerationOptions {
  int max_tokens = 256;
  SamplingOptions sampling;
  std::vector<int> stop_tokens;
};

class TokenStream {
 public:
  // Continues from the sequence's last logits, which must exist.
  TokenStream(std::shared_ptr<const Model> model, std::shared_ptr<Sequence> sequence,
              const GenerationOptions& options);

  // The next token, or nothing once a stop token was drawn (it is neither
  // returned nor added to the cache) or max_tokens were returned. A returned
  // token enters the cache at the start of the following call, or in finish().
  std::optional<int> next(const std::atomic<bool>* cancel);

  // Adds the last returned token to the cache if it is not there yet, so the
  // sequence holds everything generated and its logits follow the last token.
  void finish(const std::atomic<bool>* cancel);

  int produced() const { return produced_; }

 private:
  void feed_pending(const std::atomic<bool>* cancel);

  std::shared_ptr<const Model> model_;
  std::shared_ptr<Sequence> sequence_;
  GenerationOptions options_;
  std::unordered_set<int> stop_;
  Sampler sampler_;
  std::optional<int> pending_;
  int produced_ = 0;
  bool finished_ = false;
};

}  // namespace snapkv
