// Convolution, NCHW: per-ISA im2col / col2im (conv_isa.cpp) and drivers (conv.cpp) that make the
// convolution im2col + GEMM over tiles of output rows (see conv2d_forward). Pooling is in kernels/pool/.
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

namespace {  // internal linkage: this header is compiled into every ISA level's file
// The outputs q in [lo, hi) (of OW) whose input column c + q*s lies inside [0, W): the loops over
// them need no bounds checks (im2col, col2im, pooling).
inline void valid_span(int64_t c, int64_t s, int64_t W, int64_t OW, int64_t* lo, int64_t* hi) {
  int64_t a = c >= 0 ? 0 : (-c + s - 1) / s;
  int64_t b = c > W - 1 ? 0 : (W - 1 - c) / s + 1;
  if (a > OW) a = OW;
  if (b > OW) b = OW;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

// 1x1 windows with no padding at a stride (ResNet's shortcut, 1x1 stride 2): no two windows overlap, no
// window reads padding, and the inputs between the strides are read by none. im2col and col2im of
// such a layer copy rows (and col2im writes dx whole, zeros between) with none of the general loop's
// spans (im2col_rows_pointwise, col2im_rows_pointwise in conv_isa.cpp).
inline bool strided_pointwise(const Geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.ph == 0 && g.pw == 0 && (g.sh != 1 || g.sw != 1);
}
}  // namespace

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "convolution";
  // x: (C, H, W) -> col: (C*kh*kw, OH*OW) with row stride ldc >= OH*OW; padding reads as 0
  void (*im2col)(const T* x, const Geometry& g, T* col, int64_t ldc);
  // col: (C*kh*kw, OH*OW) with row stride ldc -> dx: (C, H, W), overwritten: overlapping windows sum,
  // inputs no window reads get 0
  void (*col2im)(const T* col, const Geometry& g, T* dx, int64_t ldc);
  // Output rows [r0, r1) only: col (C*kh*kw, (r1-r0)*OW), column (oh-r0)*OW + ow for position (oh, ow)
  void (*im2col_rows)(const T* x, const Geometry& g, int64_t r0, int64_t r1, T* col, int64_t ldc);
  // dx (C, H, W) += those columns scattered back (dx is added to, not overwritten)
  void (*col2im_rows_add)(const T* col, const Geometry& g, int64_t r0, int64_t r1, T* dx, int64_t ldc);
  // strided_pointwise(g) only: dx's input rows [r0*sh, r1 == OH ? H : r1*sh) of every channel (the rows
  // output rows [r0, r1) own) overwritten: the columns where the windows read, 0 elsewhere. No fill of
  // dx before and no adding into it: one write of every value.
  void (*col2im_rows_pointwise)(const T* col, const Geometry& g, int64_t r0, int64_t r1, T* dx, int64_t ldc);
  // One channel of the bias gradient: N planes of hw values, plane n at dy + n*stride (and y + n*stride,
  // out + n*stride). With y, out (overwritten) = dy where y > 0, else 0 (also where dy is NaN or inf, as
  // torch's ReLU backward, where(y > 0, dy, 0)), out may be null; without y, out is ignored and dy is summed as it is. Returns the sum of the
  // (masked) values in an order fixed by N and hw: lane-wise partial sums, then a fixed tree.
  T (*bias_grad_channel)(const T* dy, const T* y, T* out, int64_t N, int64_t hw, int64_t stride);
};

// Convolution drivers: y (N, OC, OH*OW) = conv(x (N, C, H, W), w (OC, C/groups, kh, kw)) (+ bias)
// (then max(., 0) with relu, on each tile while it is in cache). One parallel region per pass over
// work items fixed by the shape: forward, tiles of whole output rows of one image (sized so a tile's
// columns stay in L2), each thread running im2col of its tile into its own buffer and single-threaded
// GEMMs against the weight packed once. Backward, image groups: the data gradient tile by tile (W^T @ dy
// into the thread's buffer, added back into dx), or, for a stride-1 "same" convolution with enough
// channels, as a forward convolution of dy with the turned weight; the weight gradient as one partial
// sum per group (dW^T = col @ dy^T, or dW = dy @ col^T where the columns have fewer rows than dy and
// fill the microkernel's tiles as well), the groups then added in order. Items go to whichever thread is
// free, but each writes only its own outputs, so results are bitwise the same for any thread count.
template <class T>
void conv2d_forward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                    const T* w, int64_t OC, int64_t groups, const T* bias, bool relu, T* y, int nthreads);
// dx (N, C, H, W) overwritten if not null; dw (OC, C/groups*kh*kw) overwritten if not null (zeros for N = 0)
template <class T>
void conv2d_backward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                     const T* w, int64_t OC, int64_t groups, const T* dy, T* dx, T* dw, int nthreads);

// The bias gradient of a convolution, with a fused ReLU's mask: dy, y, dy_out (N, C, HW). With y (then
// dy_out too), dy_out = dy where y > 0 else 0; dbias (C) = the per-channel sums of that (or of dy).
// Either output may be null (dy_out is ignored without y); nothing to write, nothing runs. Threads take whole channels, so the result does
// not depend on the thread count.
template <class T>
void conv2d_backward_bias(const Kernels<T>& k, const T* dy, const T* y, T* dy_out, T* dbias, int64_t N, int64_t C,
                          int64_t HW, int nthreads);

// The weight gradient of small maps (images side by side) sums as many images in one pass as about 4 MiB
// of columns and dy hold, up to a whole image group. A non-zero override sets that budget in bytes
// (tests: 1 makes every group take several passes, so the passes' sums are checked); 0 is the default.
// std::invalid_argument below 0.
void set_small_map_bytes(int64_t bytes);
int64_t small_map_bytes();

// Fills k with the kernels of level I (defined in conv_isa.cpp, compiled once per level).
template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

}  // namespace conv
}  // namespace fe
