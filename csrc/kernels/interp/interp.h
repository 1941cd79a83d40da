// Interpolation (F.interpolate) of NCHW planes: nearest, nearest-exact and (bi)linear, forward and
// backward. The driver (interp.cpp) builds each axis's table of source indices and weights once per
// call, with PyTorch's coordinate rules and arithmetic, then splits the N*C planes over threads; the
// per-ISA plane kernels (interp_isa.cpp) only read the tables. Every plane is one thread's and every
// sum runs in an order fixed by the shape, so results are bitwise the same for any thread count.
// 1-D (N, C, L) input runs as planes of one row (H = OH = 1).
#pragma once
#include <cstdint>

#include "common/isa.h"

namespace fe {
namespace interp {

// nearest_1d: PyTorch's upsample_nearest1d forward, which skips nearest's exact shortcuts for
// out == in and out == 2 * in (they differ from floor(o * s) only when a scale_factor was given).
enum class Mode { nearest, nearest_exact, linear, nearest_1d };

// One linear axis: output index o reads inputs i0[o] <= i1[o] with weights l0[o] + l1[o] = 1.
template <class T>
struct LinearAxis {
  const int64_t* i0;
  const int64_t* i1;
  const T* l0;
  const T* l1;
};

// Plane sizes: input (H, W), output (OH, OW).
struct Geometry {
  int64_t H, W, OH, OW;
};

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "interpolation";
  // planes [p0, p1) of x (P, H, W) into y (P, OH, OW): y[o, q] = x[ih[o], iw[q]].
  void (*nearest)(const T* x, const Geometry& g, const int64_t* ih, const int64_t* iw, T* y, int64_t p0, int64_t p1);
  // dx (P, H, W) overwritten: each dy summed into the input it read (rows of dy first, into rows of
  // scratch, then along each row). scratch: H * OW elements.
  void (*nearest_backward)(const T* dy, const Geometry& g, const int64_t* ih, const int64_t* iw, T* dx, int64_t p0,
                           int64_t p1, T* scratch);
  // y[o, q] = lh0[o] * (lw0[q] x[ih0[o], iw0[q]] + lw1[q] x[ih0[o], iw1[q]]) + lh1[o] * (the same on row
  // ih1[o]): along W first (PyTorch's order), each input row once per run of output rows that reads
  // it. scratch: 2 * OW elements.
  void (*linear)(const T* x, const Geometry& g, const LinearAxis<T>& ah, const LinearAxis<T>& aw, T* y, int64_t p0,
                 int64_t p1, T* scratch);
  // dx (P, H, W) overwritten: the transpose of `linear`, along H first into scratch rows, then along W.
  // scratch: H * OW elements.
  void (*linear_backward)(const T* dy, const Geometry& g, const LinearAxis<T>& ah, const LinearAxis<T>& aw, T* dx,
                          int64_t p0, int64_t p1, T* scratch);
};

// Fills k with the kernels of level I (defined in interp_isa.cpp, compiled once per level).
template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

// Drivers over `planes` = N * C planes of x (H, W) / y (OH, OW). scale_h, scale_w: the scale_factor
// given to F.interpolate (used as PyTorch uses it: 1 / scale for the coordinates), or <= 0 for none
// (in / out then). align_corners matters for Mode::linear only.
template <class T>
void interpolate2d_forward(const Kernels<T>& k, const T* x, const Geometry& g, int64_t planes, Mode mode,
                           bool align_corners, double scale_h, double scale_w, T* y, int nthreads);
template <class T>
void interpolate2d_backward(const Kernels<T>& k, const T* dy, const Geometry& g, int64_t planes, Mode mode,
                            bool align_corners, double scale_h, double scale_w, T* dx, int nthreads);

}  // namespace interp
}  // namespace fe
