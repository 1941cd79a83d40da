// Max and average pooling, NCHW: per-ISA plane kernels (pool_isa.cpp) and drivers that split the N*C
// planes over threads in one parallel region (pool.cpp). Every plane is one thread's, so no result
// depends on the thread count. Each pass reads its inputs and writes its outputs once (memory-bound:
// bench/conv.py quotes them in GB/s against the measured bandwidth). The output size (g.OH, g.OW) may
// exceed the floor formula's (PyTorch's ceil_mode): the last windows then overhang the padded input on
// the bottom and right, and every kernel clips them.
#pragma once
#include <cstdint>

#include "common/isa.h"
#include "kernels/conv/conv.h"  // Geometry: the window geometry pooling shares with convolution

namespace fe {
namespace pool {

using conv::Geometry;

// The divisor of average pooling's output (oh, ow), as PyTorch's avg_pool2d: divisor_override when it
// is not 0, else the window's size clipped to the padded input (count_include_pad: padding counts, the
// ceil_mode overhang does not) or to the input itself.
struct AvgDivisor {
  bool count_include_pad = true;
  int64_t divisor_override = 0;
};

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "pooling";
  // planes [p0, p1) of x (P, H, W): y (P, OH, OW) and the flat index in H*W of each max (padding
  // never wins; a window of padding only gives -inf and index -1)
  void (*maxpool)(const T* x, const Geometry& g, T* y, int64_t* argmax, int64_t p0, int64_t p1);
  // dx (P, H, W) overwritten: dy summed at each argmax, 0 where no window took the max. Returns the
  // number of argmax outside [-1, H*W) (skipped: the binding raises IndexError for them).
  int64_t (*maxpool_backward)(const T* dy, const int64_t* argmax, const Geometry& g, T* dx, int64_t p0,
                              int64_t p1);
  // the sum over each window's inputs divided by its divisor (AvgDivisor)
  void (*avgpool)(const T* x, const Geometry& g, const AvgDivisor& dv, T* y, int64_t p0, int64_t p1);
  // dx (P, H, W) overwritten: each window's dy / divisor summed over the windows that cover it (0 if none)
  void (*avgpool_backward)(const T* dy, const Geometry& g, const AvgDivisor& dv, T* dx, int64_t p0, int64_t p1);
};

// Fills k with the kernels of level I (defined in pool_isa.cpp, compiled once per level).
template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

// Pooling drivers over `planes` = N*C planes (threads split planes).
template <class T>
void maxpool(const Kernels<T>& k, const T* x, const Geometry& g, T* y, int64_t* argmax, int64_t planes,
             int nthreads);
// Returns the number of argmax outside [-1, H*W) (skipped; dx is the gradient of the others).
template <class T>
int64_t maxpool_backward(const Kernels<T>& k, const T* dy, const int64_t* argmax, const Geometry& g, T* dx,
                         int64_t planes, int nthreads);
template <class T>
void avgpool(const Kernels<T>& k, const T* x, const Geometry& g, const AvgDivisor& dv, T* y, int64_t planes,
             int nthreads);
template <class T>
void avgpool_backward(const Kernels<T>& k, const T* dy, const Geometry& g, const AvgDivisor& dv, T* dx,
                      int64_t planes, int nthreads);

}  // namespace pool
}  // namespace fe
