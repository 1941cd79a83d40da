// Convolution helpers (im2col / col2im) and pooling, NCHW. The convolution itself is im2col + GEMM,
// one image at a time so the column buffer stays small (python/firstepoch/autograd/conv.py).
#pragma once
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
  // x: (C, H, W) -> col: (C*kh*kw, OH*OW) with row stride ldc >= OH*OW; padding reads as 0
  void (*im2col)(const T* x, const Geometry& g, T* col, int64_t ldc);
  // col: (C*kh*kw, OH*OW) with row stride ldc -> dx: (C, H, W), added into dx (overlapping windows sum)
  void (*col2im)(const T* col, const Geometry& g, T* dx, int64_t ldc);
  // planes [p0, p1) of x (P, H, W): y (P, OH, OW) and the flat index in H*W of each max (padding
  // never wins; a window of padding only gives -inf and index -1)
  void (*maxpool)(const T* x, const Geometry& g, T* y, int64_t* argmax, int64_t p0, int64_t p1);
  // dx (P, H, W), added into, from dy and argmax
  void (*maxpool_backward)(const T* dy, const int64_t* argmax, const Geometry& g, T* dx, int64_t p0, int64_t p1);
  // average over kh*kw (padding counts as zeros, PyTorch's count_include_pad=True)
  void (*avgpool)(const T* x, const Geometry& g, T* y, int64_t p0, int64_t p1);
  void (*avgpool_backward)(const T* dy, const Geometry& g, T* dx, int64_t p0, int64_t p1);
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

// Pooling drivers over `planes` = N*C planes (threads split planes).
template <class T>
void maxpool(const Kernels<T>& k, const T* x, const Geometry& g, T* y, int64_t* argmax, int64_t planes,
             int nthreads);
template <class T>
void maxpool_backward(const Kernels<T>& k, const T* dy, const int64_t* argmax, const Geometry& g, T* dx,
                      int64_t planes, int nthreads);
template <class T>
void avgpool(const Kernels<T>& k, const T* x, const Geometry& g, T* y, int64_t planes, int nthreads);
template <class T>
void avgpool_backward(const Kernels<T>& k, const T* dy, const Geometry& g, T* dx, int64_t planes, int nthreads);

void fill_scalar(Kernels<float>* k);
void fill_scalar(Kernels<double>* k);
void fill_avx2(Kernels<float>* k);
void fill_avx2(Kernels<double>* k);
void fill_avx512(Kernels<float>* k);
void fill_avx512(Kernels<double>* k);

}  // namespace conv
}  // namespace fe
