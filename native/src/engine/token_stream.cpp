#include "engine/token_stream.h"

#include "common/engine_error.h"
#include "engine/forward.h"
#include "engine/sequence.h"
#include "model/model.h"

namespace snapkv {

TokenStream::TokenStream(std::shared_ptr<const Model> model, std::shared_ptr<Sequence> sequence,
                         const GenerationOptions& options)
    : model_(std::move(model)),
      sequence_(std::move(sequence)),
      options_(options),
      stop_(options.stop_tokens.begin(), options.stop_tokens.end()),
      sampler_(options.sampling) {
  if (options.max_tokens < 0) fail(ErrorCode::InvalidArgument, "maxTokens must not be negative");
  if (sequence_->last_logits.size() != static_cast<std::size_t>(model_->config().vocab)) {
    fail(ErrorCode::InvalidArgument, "nothing to continue from: run tokens through the cache (prefill or extend) before generating");
  }
}

void TokenStream::feed_pending(const std::atomic<bool>* cancel) {
  if (!pending_) return;
  ForwardOptions forward;
  forward.logits = LogitsMode::Last;
  forward.cancel = cancel;
  extend_sequence(*model_, *sequence_, &*pending_, 1, forward);
  pending_.reset();
}

std::optional<int> TokenStream::next(const std::atomic<bool>* cancel) {
  if (finished_) return std::nullopt;
  if (produced_ >= options_.max_tokens) {
    finished_ = true;
    return std::nullopt;
  }
  feed_pending(cancel);
  const int token = sampler_.sample(sequence_->last_logits.data(), model_->config().vocab);
  if (stop_.count(token) != 0) {
    finished_ = true;
    return std::nullopt;
  }
  ++produced_;
  pending_ = token;
  return token;
}

void TokenStream::finish(const std::atomic<bool>* cancel) {
  finished_ = true;
  if (pending_ && sequence_->kv->length() == sequence_->kv->capacity()) {
    // No room for the last token: its logits cannot be known, so nothing may
    // continue from the stale ones.
    pending_.reset();
    sequence_->last_logits.clear();
    return;
  }
  feed_pending(cancel);
}

}  // namespace snapkv
