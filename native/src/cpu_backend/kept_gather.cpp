#include "cpu_backend/kept_gather.h"

#include <cstring>

#include "kv/kv_cache.h"
#include "model/model_config.h"

namespace snapkv {

void gather_kept(const PromptKeys& keys, const std::vector<KeptHead>& kept, KvCache& compact, int layer,
                 const ModelConfig& c) {
  const int d = c.head_dim;
  for (int ch = 0; ch < compact.heads(); ++ch) {
    const int source = ch * c.kv_heads / compact.heads();
    float* k = compact.keys(layer, ch);
    float* v = compact.values(layer, ch);
    const std::vector<int>& positions = kept[ch].positions;
    for (std::size_t slot = 0; slot < positions.size(); ++slot) {
      std::memcpy(k + slot * d, keys.key(source, positions[slot]), sizeof(float) * d);
      std::memcpy(v + slot * d, keys.value(source, positions[slot]), sizeof(float) * d);
    }
  }
}

}  // namespace snapkv
