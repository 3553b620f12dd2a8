#pragma once
#include <cstddef>

namespace snapkv {

// Bytes of host memory that a new allocation may take without pushing other
// programs into swap: Linux's MemAvailable (free memory plus the page cache
// it can drop), Windows' available physical memory, elsewhere the physical
// memory as an upper bound. 0 when the system does not say.
std::size_t available_host_memory();

}  // namespace snapkv
