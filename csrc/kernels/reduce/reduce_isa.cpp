// The block sum of reduce.h, compiled once per ISA level (common/isa.h): plain loops over kLanes
// accumulators that the compiler keeps in vector registers at that level's width. Everything but the
// fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "kernels/reduce/reduce.h"

namespace fe {
namespace reduce {
namespace {

// Four 64-byte vectors of lanes: enough independent adds in flight to run at the cache's speed, and a
// multiple of every level's vector width, so all levels add the same values in the same order.
template <class T>
constexpr int64_t kLanes = 256 / sizeof(T);

template <class T>
T block_sum(const T* x, int64_t n) {
  constexpr int64_t L = kLanes<T>;
  T acc[L];
  for (int64_t j = 0; j < L; ++j) acc[j] = T(0);
  const int64_t full = n / L * L;
  for (int64_t k = 0; k < full; k += L)
    for (int64_t j = 0; j < L; ++j) acc[j] += x[k + j];
  for (int64_t j = 0; j < n - full; ++j) acc[j] += x[full + j];
  for (int64_t w = L / 2; w >= 1; w /= 2)
    for (int64_t j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->block_sum = &block_sum<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace reduce
}  // namespace fe
