// The sum of every element of a contiguous array (Tensor.sum() and .mean() with no dim), in an order
// that depends only on the length, never on the thread count or the ISA level:
//   - blocks of kBlock elements, each summed in 256 bytes of lanes (64 float32 or 32 float64; lane j
//     takes the elements whose offset in the block is j mod lanes, in order, and a last partial row of
//     the block goes to lanes 0, 1, ...), then the lanes folded in halves (lane j += lane j + w, for
//     w = lanes/2, ..., 1);
//   - the blocks' sums by pairs (sum[i] = sum[2i] + sum[2i + 1], an odd last one carried up) until one
//     is left.
// Each lane adds kBlock / lanes values in a row and the rest is a tree, so the error grows like that of
// NumPy's pairwise sum (log n), not like a running sum's (n). Lanes are plain adds, so every level
// (scalar, AVX2, AVX-512) gives the same bits. firstepoch.reference.reduce.reduce_sum is the NumPy twin.
#pragma once
#include <cstdint>

#include "common/isa.h"

namespace fe {
namespace reduce {

constexpr int64_t kBlock = 2048;

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "reduction";
  // the sum of x[0, n), 0 <= n <= kBlock, in the block order above
  T (*block_sum)(const T* x, int64_t n);
};

// Fills k with the kernels of level I (defined in reduce_isa.cpp, compiled once per level).
template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

// The sum of x[0, n): blocks over threads, then the fixed tree over the blocks' sums.
template <class T>
T sum(const Kernels<T>& k, const T* x, int64_t n, int nthreads);

}  // namespace reduce
}  // namespace fe
