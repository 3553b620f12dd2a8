#include "engine/forward.h"

#include <algorithm>

#include "common/engine_error.h"
#include "cpu/vector_ops.h"
#include "engine/layer_step.h"
#include "kv/kv_cache.h"
#include "model/model.h"

namespace snapkv {

void throw_if_cancelled(const std::atomic<bool>* cancel) {
  if (cancel != nullptr && cancel->load()) fail(ErrorCode::Cancelled, "cancelled");
}

void validate_tokens(const Model& model, const int* tokens, int count) {
  if (count <= 0) fail(ErrorCode::InvalidArgument, "no tokens to process");
  const int vocab = model.config().vocab;
  for (int i = 0; i < count; ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      fail(ErrorCode::InvalidArgument, "token id ", tokens[i], " at index ", i,
           " is outside the model's vocabulary of ", vocab, " tokens");
    }
  }
}

namespace {

void validate_cache(const Model& model, const KvCache& cache, int count) {
  const ModelConfig& c = model.config();
  if (cache.layers() != c.layers || cache.head_dim() != c.head_dim ||
      (cache.heads() != c.kv_heads && cache.heads() != c.heads)) {
    fail(ErrorCode::InvalidArgument, "the KV cache was made for another model shape");
  }
  if (count > cache.capacity() - cache.length()) {
    fail(ErrorCode::CapacityExceeded, "the KV cache holds ", cache.length(), " of ", cache.capacity(),
         " tokens and cannot take ", count, " more; create it with a larger capacity");
  }
}

}  // namespace

std::vector<float> run_forward(const Model& model, KvCache& cache, const int* tokens, int count,
                               const ForwardOptions& options) {
  validate_tokens(model, tokens, count);
  validate_cache(model, cache, count);
  const ModelConfig& c = model.config();
  const int chunk = std::max(1, options.chunk_tokens);
  const int start_length = cache.length();
  const int start_position = cache.next_position();

  std::vector<float> logits;
  if (options.logits == LogitsMode::Last) logits.resize(static_cast<std::size_t>(c.vocab));
  if (options.logits == LogitsMode::All) logits.resize(static_cast<std::size_t>(count) * c.vocab);

  ChunkBuffers buffers(c, std::min(chunk, count));
  try {
    for (int done = 0; done < count;) {
      throw_if_cancelled(options.cancel);
      const int n = std::min(chunk, count - done);
      const int first_slot = cache.length();
      for (int t = 0; t < n; ++t) buffers.positions[t] = cache.next_position() + t;
      embed_tokens(model.weights().token_embedding, tokens + done, n, buffers.x.data());
      for (int l = 0; l < c.layers; ++l) {
        throw_if_cancelled(options.cancel);
        run_layer(model, l, cache, l, nullptr, 0, buffers, n, first_slot, nullptr);
      }
      cache.append(n);
      if (options.logits == LogitsMode::All) {
        compute_logits(model, buffers.x.data(), buffers.normed.data(), n,
                       logits.data() + static_cast<std::size_t>(done) * c.vocab);
      } else if (options.logits == LogitsMode::Last && done + n == count) {
        compute_logits(model, buffers.x.data() + static_cast<std::size_t>(n - 1) * c.hidden, buffers.normed.data(), 1,
                       logits.data());
      }
      done += n;
      if (options.on_progress) options.on_progress(done, count);
    }
  } catch (...) {
    cache.reset(start_length, start_position);
    throw;
  }
  return logits;
}

}  // namespace snapkv
