#include "engine/prefix_query.h"

#include <algorithm>

#include "common/engine_error.h"
#include "engine/device_backend.h"
#include "model/model.h"
#include "snapkv/window_queries.h"

namespace snapkv {

CompactCache query_prefix(const Model& model, const Sequence& prefix, const std::vector<int>& suffix,
                          const CompressOptions& options) {
  const ModelConfig& c = model.config();
  validate_snapkv_params(options.snapkv, c);
  const KvCache& full = prefix.cache;
  const int prefix_length = full.length();
  if (full.next_position() != prefix_length || prefix.tokens.size() != static_cast<std::size_t>(prefix_length) ||
      full.heads() != c.kv_heads) {
    fail(ErrorCode::InvalidArgument, "questions are asked of a full prompt cache, not of a compressed one");
  }
  if (suffix.empty()) fail(ErrorCode::InvalidArgument, "the question has no tokens");
  validate_tokens(model, suffix.data(), static_cast<int>(suffix.size()));
  if (prefix.device) return model.device()->query(prefix, suffix, options);

  const int window = options.snapkv.window;
  const int length = prefix_length + static_cast<int>(suffix.size());
  const bool keep_all = length < options.snapkv.budget;
  // The window's queries are needed, and a question shorter than the window
  // leaves some in the prefix, whose queries were not kept: those prefix
  // tokens run again on top of the rest of the prefix. Every product is
  // computed the same way whatever the batch, so their keys and values come
  // out as before.
  const int rerun = keep_all ? 0 : std::max(0, window - static_cast<int>(suffix.size()));
  const int base_length = prefix_length - rerun;

  std::vector<int> tokens(prefix.tokens.end() - rerun, prefix.tokens.end());
  tokens.insert(tokens.end(), suffix.begin(), suffix.end());
  const int count = static_cast<int>(tokens.size());

  KvCache question(c.layers, c.kv_heads, c.head_dim, count, full.type());
  question.reset(0, base_length);
  WindowQueries window_queries(c.layers, c.heads, c.head_dim, length - window, window);
  ForwardOptions forward;
  forward.logits = LogitsMode::Last;
  forward.chunk_tokens = options.chunk_tokens;
  forward.cancel = options.cancel;
  forward.on_progress = options.on_progress;
  forward.base = &full;
  forward.base_length = base_length;
  forward.observer = keep_all ? nullptr : &window_queries;
  std::vector<float> logits = run_forward(model, question, tokens.data(), count, forward);

  CompactCache compact = make_compact_cache(model, options, length);
  for (int l = 0; l < c.layers; ++l) {
    throw_if_cancelled(options.cancel);
    PromptKeys keys{&full, base_length, l, &question, count, l};
    compact.kept[l] = select_positions(keys, window_queries.layer(l), options.snapkv, c, model.pool());
    gather_kept(keys, compact.kept[l], compact.sequence->cache, l, c);
  }
  compact.sequence->cache.reset(kept_per_head(length, options.snapkv), length);
  compact.sequence->last_logits = std::move(logits);
  return compact;
}

}  // namespace snapkv
