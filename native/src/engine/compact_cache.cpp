#include "engine/compact_cache.h"

namespace snapkv {

int kept_per_head(int prompt_length, const SnapKvParams& params) {
  return prompt_length < params.budget ? prompt_length : params.budget;
}

}  // namespace snapkv
