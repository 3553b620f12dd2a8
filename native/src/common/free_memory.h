#pragma once

namespace snapkv {

// Hands memory that the allocator keeps after frees back to the operating
// system. glibc keeps freed blocks in per-thread arenas (Node's worker
// threads each have one), so a disposed model or cache would otherwise stay
// in the process's resident memory. A no-op where the C library has no trim.
void return_free_memory_to_os();

}  // namespace snapkv
