// Drivers for interpolation: each axis's table of source indices (and weights) built once per call with
// PyTorch's rules (aten/src/ATen/native/UpSample.h: area_pixel_compute_scale, nearest_idx,
// compute_source_index_and_lambda), in the same arithmetic (float coordinates for nearest; the input's
// type for linear), so that the same output reads the same inputs as in PyTorch. Then the planes (N*C)
// are split over threads; each plane is one thread's, so no result depends on the thread count.
#include "kernels/interp/interp.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/parallel.h"
#include "common/scratch.h"

namespace fe {
namespace interp {
namespace {

// min(floor(src), in - 1) for src >= 0, compared before the conversion: a huge or NaN coordinate (a
// tiny scale_factor given straight to _C) would make the float-to-integer conversion undefined.
template <class S>
int64_t clamped_floor(S src, int64_t in) {
  const S f = std::floor(src);
  return f < static_cast<S>(in - 1) ? static_cast<int64_t>(f) : in - 1;
}

// PyTorch's compute_scales_value: 1 / scale_factor when one was given, else in / out (in type S).
template <class S>
S scale_value(double scale, int64_t in, int64_t out) {
  return scale > 0. ? static_cast<S>(1.0 / scale) : static_cast<S>(in) / static_cast<S>(out);
}

// Source index of output o for nearest ('nearest': floor(o * s), 'nearest-exact': floor((o + 0.5) * s)),
// with s in float as PyTorch computes it, and (with `shortcuts`) its exact rules for out == in and
// out == 2 * in.
int64_t nearest_index(int64_t o, int64_t in, int64_t out, double scale, bool exact, bool shortcuts) {
  if (shortcuts && !exact && out == in) return o;
  if (shortcuts && !exact && out == 2 * in) return o >> 1;
  const float s = scale_value<float>(scale, in, out);
  const float src = exact ? static_cast<float>((static_cast<double>(o) + 0.5) * static_cast<double>(s))
                          : static_cast<float>(o) * s;
  return clamped_floor(src, in);
}

void nearest_table(int64_t in, int64_t out, double scale, Mode mode, int64_t* idx) {
  for (int64_t o = 0; o < out; ++o)
    idx[o] = nearest_index(o, in, out, scale, mode == Mode::nearest_exact, mode == Mode::nearest);
}

// The linear weights of one axis, in T (PyTorch's opmath type: float for float32, double for float64).
template <class T>
void linear_table(int64_t in, int64_t out, bool align_corners, double scale, int64_t* i0, int64_t* i1, T* l0, T* l1) {
  T ratio;
  if (align_corners)
    ratio = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  else
    ratio = scale_value<T>(scale, in, out);
  for (int64_t o = 0; o < out; ++o) {
    if (out == in) {  // PyTorch copies: the weights (1, 0) on the same input
      i0[o] = i1[o] = o;
      l0[o] = T(1);
      l1[o] = T(0);
      continue;
    }
    // PyTorch's scale * (o + 0.5) - 0.5 is contracted to a fused multiply-add in its AVX2/AVX-512
    // builds (GCC's default), which decides the last bit of the weight: the same here
    T src = align_corners ? ratio * static_cast<T>(o) : std::fma(ratio, static_cast<T>(o) + T(0.5), T(-0.5));
    if (!align_corners && src < T(0)) src = T(0);
    const int64_t f = clamped_floor(src, in);
    const T lam = std::min(std::max(src - static_cast<T>(f), T(0)), T(1));
    i0[o] = f;
    i1[o] = f + (f < in - 1 ? 1 : 0);
    l1[o] = lam;
    l0[o] = T(1) - lam;
  }
}

template <class T>
struct LinearTables {
  std::vector<int64_t> i0h, i1h, i0w, i1w;
  std::vector<T> l0h, l1h, l0w, l1w;
  LinearTables(const Geometry& g, bool align_corners, double scale_h, double scale_w)
      : i0h(g.OH), i1h(g.OH), i0w(g.OW), i1w(g.OW), l0h(g.OH), l1h(g.OH), l0w(g.OW), l1w(g.OW) {
    linear_table<T>(g.H, g.OH, align_corners, scale_h, i0h.data(), i1h.data(), l0h.data(), l1h.data());
    linear_table<T>(g.W, g.OW, align_corners, scale_w, i0w.data(), i1w.data(), l0w.data(), l1w.data());
  }
  LinearAxis<T> h() const { return {i0h.data(), i1h.data(), l0h.data(), l1h.data()}; }
  LinearAxis<T> w() const { return {i0w.data(), i1w.data(), l0w.data(), l1w.data()}; }
};

struct NearestTables {
  std::vector<int64_t> ih, iw;
  NearestTables(const Geometry& g, Mode mode, double scale_h, double scale_w) : ih(g.OH), iw(g.OW) {
    nearest_table(g.H, g.OH, scale_h, mode, ih.data());
    nearest_table(g.W, g.OW, scale_w, mode, iw.data());
  }
};

// Runs fn(p0, p1, scratch) over the planes, each thread with `scratch_count` elements of its own.
template <class T, class F>
void over_planes(int64_t planes, int64_t work_per_plane, int64_t scratch_count, int nthreads, F&& fn) {
  parallel_items(planes, work_per_plane, nthreads, [&](int64_t p0, int64_t p1) {
    Workspace ws(Workspace::bytes_for<T>({scratch_count}));
    fn(p0, p1, ws.take<T>(scratch_count));
  });
}

}  // namespace

template <class T>
void interpolate2d_forward(const Kernels<T>& k, const T* x, const Geometry& g, int64_t planes, Mode mode,
                           bool align_corners, double scale_h, double scale_w, T* y, int nthreads) {
  if (planes == 0 || g.OH == 0 || g.OW == 0) return;
  if (mode == Mode::linear) {
    const LinearTables<T> t(g, align_corners, scale_h, scale_w);
    const LinearAxis<T> ah = t.h(), aw = t.w();
    over_planes<T>(planes, g.OH * g.OW, 2 * g.OW, nthreads,
                   [&](int64_t p0, int64_t p1, T* s) { k.linear(x, g, ah, aw, y, p0, p1, s); });
  } else {
    const NearestTables t(g, mode, scale_h, scale_w);
    parallel_items(planes, g.OH * g.OW, nthreads,
                   [&](int64_t p0, int64_t p1) { k.nearest(x, g, t.ih.data(), t.iw.data(), y, p0, p1); });
  }
}

template <class T>
void interpolate2d_backward(const Kernels<T>& k, const T* dy, const Geometry& g, int64_t planes, Mode mode,
                            bool align_corners, double scale_h, double scale_w, T* dx, int nthreads) {
  if (planes == 0) return;
  if (g.OH == 0 || g.OW == 0) {  // no output read any input
    std::fill(dx, dx + planes * g.H * g.W, T(0));
    return;
  }
  const int64_t work = g.OH * g.OW + g.H * g.W;
  if (mode == Mode::linear) {
    const LinearTables<T> t(g, align_corners, scale_h, scale_w);
    const LinearAxis<T> ah = t.h(), aw = t.w();
    over_planes<T>(planes, work, g.H * g.OW, nthreads,
                   [&](int64_t p0, int64_t p1, T* s) { k.linear_backward(dy, g, ah, aw, dx, p0, p1, s); });
  } else {
    const NearestTables t(g, mode, scale_h, scale_w);
    over_planes<T>(planes, work, g.H * g.OW, nthreads, [&](int64_t p0, int64_t p1, T* s) {
      k.nearest_backward(dy, g, t.ih.data(), t.iw.data(), dx, p0, p1, s);
    });
  }
}

#define FE_INSTANTIATE(T)                                                                                      \
  template void interpolate2d_forward<T>(const Kernels<T>&, const T*, const Geometry&, int64_t, Mode, bool,    \
                                         double, double, T*, int);                                             \
  template void interpolate2d_backward<T>(const Kernels<T>&, const T*, const Geometry&, int64_t, Mode, bool,   \
                                          double, double, T*, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace interp
}  // namespace fe
