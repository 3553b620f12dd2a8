#include "engine/compact_cache.h"

#include <algorithm>
#include <cstring>

#include "common/engine_error.h"
#include "model/model.h"

namespace snapkv {

int kept_per_head(int prompt_length, const SnapKvParams& params) {
  return prompt_length < params.budget ? prompt_length : params.budget;
}

CompactCache make_compact_cache(const Model& model, const CompressOptions& options, int prompt_length) {
  const ModelConfig& c = model.config();
  if (options.reserve_tokens < 0) fail(ErrorCode::InvalidArgument, "reserveTokens must not be negative");
  const int cache_heads = options.snapkv.gqa == GqaMode::Mean ? c.kv_heads : c.heads;
  const int capacity = kept_per_head(prompt_length, options.snapkv) + std::max(1, options.reserve_tokens);
  CompactCache compact;
  compact.sequence = make_sequence(model, cache_heads, capacity, false);
  compact.kept.resize(static_cast<std::size_t>(c.layers));
  compact.prompt_length = prompt_length;
  return compact;
}

void gather_kept(const PromptKeys& keys, const std::vector<KeptHead>& kept, KvCache& compact, int layer,
                 const ModelConfig& c) {
  // Rows are copied in their stored type: compressing never rounds twice.
  if (compact.type() != keys.type()) {
    fail(ErrorCode::InvalidArgument, "a compact cache of ", kv_type_name(compact.type()), " cannot take ",
         kv_type_name(keys.type()), " rows");
  }
  const std::size_t row_bytes = compact.row_bytes();
  for (int ch = 0; ch < compact.heads(); ++ch) {
    const int source = ch * c.kv_heads / compact.heads();
    std::uint8_t* k = compact.key_rows(layer, ch);
    std::uint8_t* v = compact.value_rows(layer, ch);
    const std::vector<int>& positions = kept[ch].positions;
    for (std::size_t slot = 0; slot < positions.size(); ++slot) {
      std::memcpy(k + slot * row_bytes, keys.key_row(source, positions[slot]), row_bytes);
      std::memcpy(v + slot * row_bytes, keys.value_row(source, positions[slot]), row_bytes);
    }
  }
}

}  // namespace snapkv
