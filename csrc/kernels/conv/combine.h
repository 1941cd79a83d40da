// The Winograd transforms' one operation (winograd_isa.cpp, direct_isa.cpp's row Winograd): a row of a
// transform matrix applied to n values, each term a compile-time coefficient. Included by ISA files only.
#pragma once
#include <type_traits>
#include <utility>

namespace fe {
namespace conv {

// The element type of R: R itself for a scalar, the lanes' type for a level's vector (GCC's vector types
// take a subscript).
template <class R, class = void>
struct ElementOf {
  using type = R;
};
template <class R>
struct ElementOf<R, std::void_t<decltype(std::declval<R&>()[0])>> {
  using type = std::decay_t<decltype(std::declval<R&>()[0])>;
};

// c[l] * d[l] summed over the non-zero c[l] in order of l (an entry of 1 or -1 adds or subtracts, any
// other multiplies): R a scalar or a level's vector (GCC's vector operators, a scalar factor broadcast).
template <class R, int N>
inline R combine(const double (&c)[N], const R (&d)[N]) {
  using E = typename ElementOf<R>::type;
  R s{};
  bool any = false;
  #pragma GCC unroll 8
  for (int l = 0; l < N; ++l) {
    if (c[l] == 0) continue;
    const R t = c[l] == 1 ? d[l] : c[l] == -1 ? -d[l] : d[l] * E(c[l]);
    s = any ? s + t : t;
    any = true;
  }
  return s;
}

}  // namespace conv
}  // namespace fe
