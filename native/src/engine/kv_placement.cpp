#include "engine/kv_placement.h"

namespace snapkv {

KvPlacement choose_kv_placement(const MemoryBudget& budget, std::size_t kv_bytes, std::size_t working_bytes,
                                bool host_allowed) {
  if (budget.fits(kv_bytes, working_bytes)) return KvPlacement::Device;
  return host_allowed ? KvPlacement::PinnedHost : KvPlacement::Device;
}

}  // namespace snapkv
