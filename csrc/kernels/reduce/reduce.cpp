// The driver of the full sum (reduce.h): blocks handed to threads in contiguous ranges, each block's sum
// in its own slot, then the pairwise tree on one thread. Which thread sums a block changes no bit.
#include "kernels/reduce/reduce.h"

#include <algorithm>
#include <vector>

#include "common/parallel.h"

namespace fe {
namespace reduce {

template <class T>
T sum(const Kernels<T>& k, const T* x, int64_t n, int nthreads) {
  if (n <= 0) return T(0);
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<T> part(static_cast<size_t>(blocks));
  // From 16K elements a thread, threads share the blocks: a sum usually reads what a parallel kernel just
  // wrote, half of it in the other core's cache, and one thread fetching that half cost more than the
  // fork/join (conv2d's output at LeNet's conv2, 102,400 floats, two Zen 4 cores: 80 us on one thread
  // against ~5 on two; the same sum of data both cores hold: 8.8 against 9.7 us).
  parallel_ranges(blocks, kBlock, int64_t(1) << 14, nthreads, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) part[b] = k.block_sum(x + b * kBlock, std::min(kBlock, n - b * kBlock));
  });
  for (int64_t m = blocks; m > 1; m = (m + 1) / 2) {
    for (int64_t i = 0; i < m / 2; ++i) part[i] = part[2 * i] + part[2 * i + 1];
    if (m % 2) part[m / 2] = part[m - 1];
  }
  return part[0];
}

template float sum<float>(const Kernels<float>&, const float*, int64_t, int);
template double sum<double>(const Kernels<double>&, const double*, int64_t, int);

}  // namespace reduce
}  // namespace fe
