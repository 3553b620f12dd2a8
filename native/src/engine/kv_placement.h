#pragma once
// Where a device backend puts a new sequence's keys and values.
#include <cstddef>

#include "common/memory_budget.h"

namespace snapkv {

// Where a device backend's store keeps its keys and values.
enum class KvPlacement { Device, PinnedHost };

// On the device when `kv_bytes` fit and `working_bytes` (what a question
// needs beside them) stay free; otherwise in pinned host memory when that is
// allowed (a prompt cache: streamed to the device a layer at a time); else
// on the device anyway, where the reservation fails with the sizes unless it
// fits without the working margin.
KvPlacement choose_kv_placement(const MemoryBudget& budget, std::size_t kv_bytes, std::size_t working_bytes,
                                bool host_allowed);

}  // namespace snapkv
