#include "cpu_backend/kept_gather.h"

#include <cstring>

#include "common/engine_error.h"
#include "kv/kv_cache.h"
#include "model/model_config.h"

namespace snapkv {

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
