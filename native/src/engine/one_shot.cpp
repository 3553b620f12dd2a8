#include "engine/one_shot.h"

#include <algorithm>
#include <cstring>

#include "common/engine_error.h"
#include "cpu/vector_ops.h"
#include "engine/device_backend.h"
#include "engine/layer_step.h"
#include "model/model.h"
#include "snapkv/window_queries.h"

namespace snapkv {

CompactCache compress_one_shot(const Model& model, const std::vector<int>& prompt, const CompressOptions& options) {
  const ModelConfig& c = model.config();
  validate_snapkv_params(options.snapkv, c);
  const int length = static_cast<int>(prompt.size());
  validate_tokens(model, prompt.data(), length);
  if (model.device()) return model.device()->one_shot(prompt, options);
  const bool keep_all = length < options.snapkv.budget;
  const int window = options.snapkv.window;
  const int chunk = std::max(1, std::min(options.chunk_tokens, length));

  // The hidden states of the whole prompt travel from layer to layer.
  std::vector<float> hidden(static_cast<std::size_t>(length) * c.hidden);
  embed_tokens(model.weights().token_embedding, prompt.data(), length, hidden.data());

  CompactCache compact = make_compact_cache(model, options, length);
  KvCache layer_cache(1, c.kv_heads, c.head_dim, length, model.kv_type());  // one layer's full KV, reused by every layer
  WindowQueries window_queries(c.layers, c.heads, c.head_dim, length - window, window);
  ChunkBuffers buffers(c, chunk);
  const std::size_t row_bytes = sizeof(float) * c.hidden;

  for (int l = 0; l < c.layers; ++l) {
    for (int start = 0; start < length; start += chunk) {
      throw_if_cancelled(options.cancel);
      const int n = std::min(chunk, length - start);
      float* rows = hidden.data() + static_cast<std::size_t>(start) * c.hidden;
      std::memcpy(buffers.x.data(), rows, row_bytes * n);
      for (int t = 0; t < n; ++t) buffers.positions[t] = start + t;
      run_layer(model, l, layer_cache, 0, nullptr, 0, buffers, n, start, keep_all ? nullptr : &window_queries);
      std::memcpy(rows, buffers.x.data(), row_bytes * n);
    }
    PromptKeys keys{nullptr, 0, 0, &layer_cache, length, 0};
    compact.kept[l] = select_positions(keys, window_queries.layer(l), options.snapkv, c, model.pool());
    gather_kept(keys, compact.kept[l], compact.sequence->cache, l, c);
    if (options.on_progress) {
      options.on_progress(static_cast<int>(static_cast<long long>(length) * (l + 1) / c.layers), length);
    }
  }

  std::vector<float> logits(static_cast<std::size_t>(c.vocab));
  compute_logits(model, hidden.data() + static_cast<std::size_t>(length - 1) * c.hidden, buffers.normed.data(), 1,
                 logits.data());
  compact.sequence->cache.reset(kept_per_head(length, options.snapkv), length);
  compact.sequence->last_logits = std::move(logits);
  return compact;
}

}  // namespace snapkv
