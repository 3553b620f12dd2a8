#include "engine/compression.h"

#include <algorithm>

#include "common/engine_error.h"
#include "common/memory_budget.h"
#include "model/model.h"

namespace snapkv {

namespace {

// Runs `tokens` after `base_length` slots of `base` and compresses the
// `prompt_length` positions into a new compact cache.
CompactCache compress(const Model& model, const std::vector<int>& tokens, const KvStore* base, int base_length,
                      int prompt_length, const CompressOptions& options) {
  const ModelConfig& c = model.config();
  if (options.reserve_tokens < 0) fail(ErrorCode::InvalidArgument, "reserveTokens must not be negative");
  const int cache_heads = options.snapkv.gqa == GqaMode::Mean ? c.kv_heads : c.heads;
  const int kept = kept_per_head(prompt_length, options.snapkv);
  CompactCache compact;
  compact.sequence = make_sequence(model, cache_heads, kept + std::max(1, options.reserve_tokens), false);
  compact.kept.resize(static_cast<std::size_t>(c.layers));
  compact.prompt_length = prompt_length;
  const CompressionPass pass{tokens, base, base_length, prompt_length, options, *compact.sequence->kv, compact.kept};
  compact.sequence->last_logits = model.backend().compress(pass);
  compact.sequence->kv->reset(kept, prompt_length);
  return compact;
}

}  // namespace

CompactCache query_prefix(const Model& model, const PrefixCache& prefix, const std::vector<int>& suffix,
                          const CompressOptions& options) {
  validate_snapkv_params(options.snapkv, model.config());
  if (suffix.empty()) fail(ErrorCode::InvalidArgument, "the question has no tokens");
  validate_tokens(model, suffix.data(), static_cast<int>(suffix.size()));
  const Sequence& full = *prefix.sequence;
  const int prefix_length = full.kv->length();
  const int length = prefix_length + static_cast<int>(suffix.size());
  const bool keep_all = length < options.snapkv.budget;
  // The window's queries are needed, and a question shorter than the window
  // leaves some in the prefix, whose queries were not kept: those prefix
  // tokens run again on top of the rest of the prefix. Every product is
  // computed the same way whatever the batch, so their keys and values come
  // out as before.
  const int rerun = keep_all ? 0 : std::max(0, options.snapkv.window - static_cast<int>(suffix.size()));
  std::vector<int> tokens(full.tokens.end() - rerun, full.tokens.end());
  tokens.insert(tokens.end(), suffix.begin(), suffix.end());
  return compress(model, tokens, full.kv.get(), prefix_length - rerun, length, options);
}

CompactCache compress_one_shot(const Model& model, const std::vector<int>& prompt, const CompressOptions& options) {
  validate_snapkv_params(options.snapkv, model.config());
  validate_tokens(model, prompt.data(), static_cast<int>(prompt.size()));
  if (const std::optional<OneShotPlan> plan = model.backend().plan_one_shot(static_cast<long long>(prompt.size()), options);
      plan && !plan->fits()) {
    const OneShotMemory& m = plan->memory;
    fail(ErrorCode::OutOfMemory, "one-shot compression of ", prompt.size(), " tokens needs ",
         format_bytes(m.total()), " of ", plan->memory_kind, " beside the weights (hidden states ", format_bytes(m.hidden),
         ", one layer's keys and values ", format_bytes(m.layer_kv), ", SnapKV selection ", format_bytes(m.selection),
         ", the compact cache ", format_bytes(m.compact), ", working buffers ", format_bytes(m.working), ") and ",
         format_bytes(plan->available), " of ", plan->device_name, " is free for it; the longest prompt that fits is ",
         plan->longest, " tokens: shorten the prompt, lower the budget, or free ", plan->memory_kind);
  }
  return compress(model, prompt, nullptr, 0, static_cast<int>(prompt.size()), options);
}

}  // namespace snapkv
