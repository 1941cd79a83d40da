// Interpolation plane kernels, compiled once per ISA level (common/isa.h): plain loops over the tables
// the driver built, which the compiler vectorises with this file's flags where they are contiguous
// (the blend of two rows, the sums of dy rows); the gathers and scatters along a row by table stay
// scalar. The scale-2 case (every input read by two neighbouring outputs, the common upsampling layer)
// has its own row loops, which the compiler vectorises.
// Every plane is one thread's and the order of every sum is fixed by the shape alone.
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "kernels/interp/interp.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace fe {
namespace interp {
namespace {

// Whether a nearest table reads input q / 2 at output q (out == 2 * in: PyTorch's shortcut, or a
// scale factor that gives the same indices).
inline bool is_double(const int64_t* idx, int64_t in, int64_t out) {
  if (out != 2 * in) return false;
  for (int64_t q = 0; q < out; ++q)
    if (idx[q] != q / 2) return false;
  return true;
}

// A nearest row: y[q] = x[iw[q]].
template <class T>
inline void nearest_row(const T* __restrict__ x, const int64_t* __restrict__ iw, int64_t OW, bool twice,
                        T* __restrict__ y) {
  if (twice) {
    for (int64_t q = 0; q < OW / 2; ++q) {
      y[2 * q] = x[q];
      y[2 * q + 1] = x[q];
    }
  } else {
    for (int64_t q = 0; q < OW; ++q) y[q] = x[iw[q]];
  }
}

template <class T>
void nearest_body(const T* x, const Geometry& g, const int64_t* ih, const int64_t* iw, T* y, int64_t p0, int64_t p1) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  const bool twice = is_double(iw, W, OW);
  for (int64_t p = p0; p < p1; ++p) {
    const T* xp = x + p * H * W;
    T* yp = y + p * OH * OW;
    for (int64_t o = 0; o < OH; ++o) {
      T* yr = yp + o * OW;
      if (o > 0 && ih[o] == ih[o - 1])
        std::memcpy(yr, yr - OW, static_cast<size_t>(OW) * sizeof(T));  // the same input row again
      else
        nearest_row(xp + ih[o] * W, iw, OW, twice, yr);
    }
  }
}

// The gradient of nearest: rows of dy summed into rows of s (H, OW) by ih (output rows in order), then
// each row of s summed into dx along W by iw (outputs in order).
template <class T>
void nearest_backward_body(const T* dy, const Geometry& g, const int64_t* ih, const int64_t* iw, T* dx, int64_t p0,
                           int64_t p1, T* s) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  const bool twice = is_double(iw, W, OW);
  for (int64_t p = p0; p < p1; ++p) {
    const T* gp = dy + p * OH * OW;
    T* dp = dx + p * H * W;
    std::fill(s, s + H * OW, T(0));
    for (int64_t o = 0; o < OH; ++o) {
      T* __restrict__ sr = s + ih[o] * OW;
      const T* __restrict__ gr = gp + o * OW;
      for (int64_t q = 0; q < OW; ++q) sr[q] += gr[q];
    }
    for (int64_t h = 0; h < H; ++h) {
      const T* __restrict__ sr = s + h * OW;
      T* __restrict__ dr = dp + h * W;
      if (twice) {
        for (int64_t w = 0; w < W; ++w) dr[w] = sr[2 * w] + sr[2 * w + 1];
      } else {
        std::fill(dr, dr + W, T(0));
        for (int64_t q = 0; q < OW; ++q) dr[iw[q]] += sr[q];
      }
    }
  }
}

// One input row along W: r[q] = l0[q] * x[i0[q]] + l1[q] * x[i1[q]].
template <class T>
inline void linear_row(const T* __restrict__ x, const LinearAxis<T>& a, int64_t OW, T* __restrict__ r) {
  const int64_t* __restrict__ i0 = a.i0;
  const int64_t* __restrict__ i1 = a.i1;
  const T* __restrict__ l0 = a.l0;
  const T* __restrict__ l1 = a.l1;
  for (int64_t q = 0; q < OW; ++q) r[q] = l0[q] * x[i0[q]] + l1[q] * x[i1[q]];
}

template <class T>
void linear_body(const T* x, const Geometry& g, const LinearAxis<T>& ah, const LinearAxis<T>& aw, T* y, int64_t p0,
                 int64_t p1, T* s) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  for (int64_t p = p0; p < p1; ++p) {
    const T* xp = x + p * H * W;
    T* yp = y + p * OH * OW;
    // ra, rb: input rows row_a, row_b along W (-1: none yet); consecutive output rows mostly share them
    T* ra = s;
    T* rb = s + OW;
    int64_t row_a = -1, row_b = -1;
    for (int64_t o = 0; o < OH; ++o) {
      const int64_t h0 = ah.i0[o], h1 = ah.i1[o];
      if (row_a != h0) {
        if (row_b == h0) {
          std::swap(ra, rb);
          std::swap(row_a, row_b);
        } else {
          linear_row(xp + h0 * W, aw, OW, ra);
          row_a = h0;
        }
      }
      const T* r1 = ra;
      if (h1 != h0) {
        if (row_b != h1) {
          linear_row(xp + h1 * W, aw, OW, rb);
          row_b = h1;
        }
        r1 = rb;
      }
      const T w0 = ah.l0[o], w1 = ah.l1[o];
      const T* __restrict__ r0 = ra;
      T* __restrict__ yr = yp + o * OW;
      for (int64_t q = 0; q < OW; ++q) yr[q] = w0 * r0[q] + w1 * r1[q];
    }
  }
}

// The transpose of linear: rows of dy into rows of s (H, OW) with the H weights (output rows in order),
// then each row of s into dx along W with the W weights (outputs in order).
template <class T>
void linear_backward_body(const T* dy, const Geometry& g, const LinearAxis<T>& ah, const LinearAxis<T>& aw, T* dx,
                          int64_t p0, int64_t p1, T* s) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  const int64_t* __restrict__ i0 = aw.i0;
  const int64_t* __restrict__ i1 = aw.i1;
  const T* __restrict__ l0 = aw.l0;
  const T* __restrict__ l1 = aw.l1;
  for (int64_t p = p0; p < p1; ++p) {
    const T* gp = dy + p * OH * OW;
    T* dp = dx + p * H * W;
    std::fill(s, s + H * OW, T(0));
    for (int64_t o = 0; o < OH; ++o) {
      const T* __restrict__ gr = gp + o * OW;
      T* __restrict__ s0 = s + ah.i0[o] * OW;
      const T w0 = ah.l0[o];
      for (int64_t q = 0; q < OW; ++q) s0[q] += w0 * gr[q];
      T* __restrict__ s1 = s + ah.i1[o] * OW;
      const T w1 = ah.l1[o];
      for (int64_t q = 0; q < OW; ++q) s1[q] += w1 * gr[q];
    }
    for (int64_t h = 0; h < H; ++h) {
      const T* __restrict__ sr = s + h * OW;
      T* __restrict__ dr = dp + h * W;
      std::fill(dr, dr + W, T(0));
      for (int64_t q = 0; q < OW; ++q) {
        dr[i0[q]] += l0[q] * sr[q];
        dr[i1[q]] += l1[q] * sr[q];
      }
    }
  }
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->nearest = &nearest_body<T>;
  k->nearest_backward = &nearest_backward_body<T>;
  k->linear = &linear_body<T>;
  k->linear_backward = &linear_backward_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace interp
}  // namespace fe
