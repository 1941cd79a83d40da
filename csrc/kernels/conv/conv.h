// Convolution, NCHW: per-ISA im2col / col2im (conv_isa.cpp) and drivers (conv.cpp) that make the
// convolution im2col + GEMM over chunks of images (see conv2d_forward). Pooling is in kernels/pool/.
#pragma once
#include "common/isa.h"
#include <cstdint>
#include <cstddef>
#include <vector>

#include "kernels/gemm/gemm.h"

namespace fe {
namespace conv {

// Window geometry of one spatial convolution or pooling.
struct Geometry {
  int64_t C, H, W;    // input planes and size
  int64_t kh, kw;     // kernel
  int64_t sh, sw;     // stride
  int64_t ph, pw;     // zero padding
  int64_t dh, dw;     // dilation
  int64_t OH, OW;     // output size
};

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "convolution";
  // x: (C, H, W) -> col: (C*kh*kw, OH*OW) with row stride ldc >= OH*OW; padding reads as 0
  void (*im2col)(const T* x, const Geometry& g, T* col, int64_t ldc);
  // col: (C*kh*kw, OH*OW) with row stride ldc -> dx: (C, H, W), overwritten: overlapping windows sum,
  // inputs no window reads get 0
  void (*col2im)(const T* col, const Geometry& g, T* dx, int64_t ldc);
};

// Convolution drivers: y (N, OC, OH*OW) = conv(x (N, C, H, W), w (OC, C/groups, kh, kw)) (+ bias).
// Images go in chunks (a size fixed by the shape, so the column buffer stays a few MiB): the chunk's
// columns side by side (im2col, images over threads) make one GEMM per group, large enough to run
// near peak. The weight gradient sums the chunks in order, so no result depends on the thread count.
template <class T>
void conv2d_forward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                    const T* w, int64_t OC, int64_t groups, const T* bias, T* y, int nthreads);
// dx (N, C, H, W) overwritten if not null; dw (OC, C/groups*kh*kw) overwritten if not null (zeros for N = 0)
template <class T>
void conv2d_backward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                     const T* w, int64_t OC, int64_t groups, const T* dy, T* dx, T* dw, int nthreads);

// Fills k with the kernels of level I (defined in conv_isa.cpp, compiled once per level).
template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

}  // namespace conv
}  // namespace fe
