#include "common/free_memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace snapkv {

void return_free_memory_to_os() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace snapkv
