// The ISA a per-ISA translation unit is compiled for, and the tag its fill functions are keyed on.
// CMake compiles every kernels/<family>/<family>_isa.cpp once per level with -DFE_ISA=<n> and that
// level's flags only (no -DFE_ISA: the scalar level). Each such file keeps its kernels in an anonymous
// namespace and defines just its family's fill(Kernels<T>*, IsaTag<kIsa>) for float and double.
#pragma once
#include "common/cpu.h"

#ifndef FE_ISA
#define FE_ISA 0
#endif

#if defined(__SSE2__)
#include <immintrin.h>  // declarations only; what a file may use is decided by its flags
#endif

namespace fe {

template <Isa I>
struct IsaTag {};

// The level of the translation unit being compiled.
constexpr Isa kIsa = static_cast<Isa>(FE_ISA);

}  // namespace fe

// In a <family>_isa.cpp, inside the family's namespace: defines this level's fill for float and double
// as the file's own (internal) `fn(K<T>*)`.
#define FE_DEFINE_FILLS(K, fn)                          \
  template <>                                           \
  void fill<kIsa, float>(K<float> * k, IsaTag<kIsa>) {   \
    fn(k);                                              \
  }                                                     \
  template <>                                           \
  void fill<kIsa, double>(K<double> * k, IsaTag<kIsa>) { \
    fn(k);                                              \
  }
