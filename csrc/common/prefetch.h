// Software prefetch of a span ahead of its use: a hint (no fault, no effect on any value). Where a kernel
// walks many short pieces of a large array (every other row of each channel plane at stride 2; one small
// plane after another), the hardware prefetcher does not run far enough ahead of data that is not in
// the caches; asking for the next piece while this one is worked on hides that wait.
// In an anonymous namespace, as common/simd_math.h: each per-ISA file gets its own copy, compiled with
// its own level's flags, so the linker can never hand a scalar caller another level's code.
#pragma once
#include <cstdint>

namespace fe {
namespace {

// The cache lines of x[0, n), to be read (write = false) or written (write = true).
template <class T>
inline void prefetch_span(const T* x, int64_t n, bool write = false) {
  const char* p = reinterpret_cast<const char*>(x);
  const int64_t bytes = n * static_cast<int64_t>(sizeof(T));
  if (write)
    for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b, 1);
  else
    for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b, 0);
}

}  // namespace
}  // namespace fe
