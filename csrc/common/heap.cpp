// glibc malloc settings (see heap.h); elsewhere both functions do nothing and return false.
#include "common/heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fe {

bool keep_freed_memory() {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
  // both are set: setting either one alone ends glibc's dynamic adjustment of the other (the trim
  // threshold alone leaves every request >= 128 KiB to mmap, which faults more than before)
  if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(kKeepMmapMax)) != 1) return false;
  return mallopt(M_TRIM_THRESHOLD, static_cast<int>(kKeepTrimAbove)) == 1;
#else
  return false;
#endif
}

bool release_free_memory() {
#if defined(__GLIBC__)
  return malloc_trim(0) == 1;
#else
  return false;
#endif
}

}  // namespace fe
