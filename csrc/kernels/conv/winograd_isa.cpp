// Winograd tile transforms, compiled once per ISA level (common/isa.h): plain loops over a row of tiles
// that the compiler vectorises at each level's width. F(2x2, 3x3)'s are written out and only add and
// subtract (and the bias), so every level gives the same bits; F(4x4, 3x3)'s come from its matrices
// (input_tiles_s and the others) and multiply too, which FMA levels may fuse.
#include <algorithm>

#include "common/isa.h"
#include "common/prefetch.h"
#include "kernels/conv/combine.h"
#include "kernels/conv/winograd.h"

namespace fe {
namespace conv {
namespace winograd {
namespace {

// Runs are short (a row of 16 tiles in ResNet): copies and zero fills must stay inline vector loops,
// not memcpy/memset calls that cost more than the copying (see conv_isa.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

// How many channels ahead the transforms ask for the rows they will read or write (common/prefetch.h):
// a layer's planes are 4 KiB and more apart, more streams than the hardware prefetcher follows, and one
// channel ahead is too close for the memory's latency (see input_tiles and output_tiles).
constexpr int64_t kAhead = 4;

// Calls fn(n, th, tw, len, j) for each run of tiles [t0, t0 + nt) that lies in one tile row of one
// image: len tiles from (n, th, tw), the first being the block's tile j.
template <class F>
inline void for_each_run(const Tiling& tl, int64_t t0, int64_t nt, F&& fn) {
  const int64_t per_image = tl.TH * tl.TW, end = t0 + nt;
  for (int64_t t = t0; t < end;) {
    const int64_t n = t / per_image, r = t % per_image, th = r / tl.TW, tw = r % tl.TW;
    const int64_t len = std::min(tl.TW - tw, end - t);
    fn(n, th, tw, len, t - t0);
    t += len;
  }
}

// The columns k in [lo, hi) of [0, width) whose input column w0 + k lies inside [0, W).
inline void valid_columns(int64_t w0, int64_t W, int64_t width, int64_t* lo, int64_t* hi) {
  *lo = std::min(width, std::max<int64_t>(0, -w0));
  *hi = std::max(*lo, std::min(width, W - w0));
}

// B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], applied to the rows of each 4x4
// window, then to its columns. Rows above or below the image read from `zeros`, columns outside it
// are set to 0 after the row step, so no input is copied.
template <class T>
void input_tiles(const T* x, const Tiling& tl, int64_t t0, int64_t nt, T* V, int64_t ld, T* buf) {
  const int64_t plane = tl.H * tl.W, ps = plane_stride<T>(tl.C, ld);
  for_each_run(tl, t0, nt, [&](int64_t n, int64_t th, int64_t tw, int64_t len, int64_t j0) {
    const int64_t width = 2 * len + 2, w0 = 2 * tw - tl.pw;
    int64_t lo, hi;
    valid_columns(w0, tl.W, width, &lo, &hi);
    T* __restrict u = buf;  // B^T d: 4 rows of width
    T* zeros = buf + 4 * width;
    #pragma GCC ivdep
    for (int64_t k = 0; k < hi - lo; ++k) zeros[k] = T(0);
    for (int64_t k = 0; k < lo; ++k) u[k] = u[width + k] = u[2 * width + k] = u[3 * width + k] = T(0);
    for (int64_t k = hi; k < width; ++k) u[k] = u[width + k] = u[2 * width + k] = u[3 * width + k] = T(0);
    // the window's rows inside the image, [h0, h1): those of the channel kAhead on are asked for while this
    // one's are transformed (the row step waited on each load). ResNet 64 -> 64 on 32x32, N = 32, one core,
    // against none: forward, data and weight gradient 1.07-1.09x (x from memory), 1.03-1.06x (from L3);
    // kAhead 1, 2, 8 gained less.
    const int64_t h0 = std::max<int64_t>(0, 2 * th - tl.ph), h1 = std::min<int64_t>(tl.H, 2 * th - tl.ph + 4);
    for (int64_t c = 0; c < tl.C; ++c) {
      const T* xc = x + (n * tl.C + c) * plane;
      if (c + kAhead < tl.C && h1 > h0)
        prefetch_span(xc + kAhead * plane + h0 * tl.W + w0 + lo, (h1 - h0 - 1) * tl.W + hi - lo);
      const T* r[4];
      for (int64_t i = 0; i < 4; ++i) {
        const int64_t h = 2 * th - tl.ph + i;
        r[i] = h < 0 || h >= tl.H ? zeros : xc + h * tl.W + w0 + lo;
      }
      const T* d0 = r[0];
      const T* d1 = r[1];
      const T* d2 = r[2];
      const T* d3 = r[3];
      T* __restrict u0 = u + lo;
      T* __restrict u1 = u0 + width;
      T* __restrict u2 = u1 + width;
      T* __restrict u3 = u2 + width;
      #pragma GCC ivdep
      for (int64_t k = 0; k < hi - lo; ++k) {
        u0[k] = d0[k] - d2[k];
        u1[k] = d1[k] + d2[k];
        u2[k] = d2[k] - d1[k];
        u3[k] = d1[k] - d3[k];
      }
      for (int64_t i = 0; i < 4; ++i) {
        const T* ui = u + i * width;
        T* __restrict v0 = V + (4 * i) * ps + c * ld + j0;
        T* __restrict v1 = v0 + ps;
        T* __restrict v2 = v1 + ps;
        T* __restrict v3 = v2 + ps;
        #pragma GCC ivdep
        for (int64_t j = 0; j < len; ++j) {
          const T a = ui[2 * j], b = ui[2 * j + 1], e = ui[2 * j + 2], f = ui[2 * j + 3];
          v0[j] = a - e;
          v1[j] = b + e;
          v2[j] = e - b;
          v3[j] = b - f;
        }
      }
    }
  });
}

// out[k] = r[k] + add for the cols outputs of a tile row inside the map, then max(., 0) if relu (NaN
// kept, as the GEMM epilogue).
template <class T>
inline void store_row(const T* r, int64_t cols, T add, bool relu, T* __restrict out) {
  if (relu) {
    #pragma GCC ivdep
    for (int64_t k = 0; k < cols; ++k) {
      const T v = r[k] + add;
      out[k] = v > T(0) || v != v ? v : T(0);
    }
  } else {
    #pragma GCC ivdep
    for (int64_t k = 0; k < cols; ++k) out[k] = r[k] + add;
  }
}

// A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]: rows of m first, then columns.
template <class T>
void output_tiles(const T* M, const Tiling& tl, int64_t t0, int64_t nt, int64_t ld, const T* bias, bool relu, T* y,
                  T* buf) {
  const int64_t oplane = tl.OH * tl.OW, ps = plane_stride<T>(tl.OC, ld);
  for_each_run(tl, t0, nt, [&](int64_t n, int64_t th, int64_t tw, int64_t len, int64_t j0) {
    const int64_t width = 2 * len;
    const int64_t cols = std::min(width, tl.OW - 2 * tw);
    const int64_t rows = std::min<int64_t>(2, tl.OH - 2 * th);
    T* __restrict r0 = buf;
    T* __restrict r1 = buf + width;
    // the output rows of the channel kAhead on are asked for (to be written) while this one's are worked
    // out: each row's stores waited on its lines (ResNet 64 -> 64 on 32x32, N = 32, one core, against none:
    // forward 1.06-1.09x, data gradient 1.05-1.06x; the same for the weight gradient's reads of dy in
    // grad_tiles gained nothing)
    for (int64_t o = 0; o < tl.OC; ++o) {
      if (o + kAhead < tl.OC && rows > 0 && cols > 0)
        prefetch_span(y + (n * tl.OC + o + kAhead) * oplane + 2 * th * tl.OW + 2 * tw, (rows - 1) * tl.OW + cols, true);
      const T* m = M + o * ld + j0;
      #pragma GCC ivdep
      for (int64_t j = 0; j < len; ++j) {
        T s0[4], s1[4];
        for (int64_t q = 0; q < 4; ++q) {
          const T m0 = m[q * ps + j], m1 = m[(4 + q) * ps + j], m2 = m[(8 + q) * ps + j], m3 = m[(12 + q) * ps + j];
          s0[q] = m0 + m1 + m2;
          s1[q] = m1 - m2 - m3;
        }
        r0[2 * j] = s0[0] + s0[1] + s0[2];
        r0[2 * j + 1] = s0[1] - s0[2] - s0[3];
        r1[2 * j] = s1[0] + s1[1] + s1[2];
        r1[2 * j + 1] = s1[1] - s1[2] - s1[3];
      }
      const T add = bias ? bias[o] : T(0);
      for (int64_t a = 0; a < rows; ++a)
        store_row(a == 0 ? r0 : r1, cols, add, relu, y + (n * tl.OC + o) * oplane + (2 * th + a) * tl.OW + 2 * tw);
    }
  });
}

// A = [[1, 0], [1, 1], [1, -1], [0, -1]]: Z = A dy A^T, the rows of the 2x2 tile first.
template <class T>
void grad_tiles(const T* dy, const Tiling& tl, int64_t t0, int64_t nt, T* Z, int64_t ld, T* buf) {
  const int64_t oplane = tl.OH * tl.OW, ps = plane_stride<T>(tl.OC, ld);
  for_each_run(tl, t0, nt, [&](int64_t n, int64_t th, int64_t tw, int64_t len, int64_t j0) {
    const int64_t width = 2 * len, w0 = 2 * tw;
    const int64_t cols = std::min(width, tl.OW - w0);  // dy columns inside the output
    T* zeros = buf;
    for (int64_t k = 0; k < width; ++k) zeros[k] = T(0);
    T* __restrict d0 = buf + width;  // the run's 2 rows of dy, zero past the right edge
    T* __restrict d1 = d0 + width;
    for (int64_t k = cols; k < width; ++k) d0[k] = d1[k] = T(0);
    const bool full = cols == width;  // else the run's dy columns are copied, zero past the edge
    for (int64_t o = 0; o < tl.OC; ++o) {
      const T* yo = dy + (n * tl.OC + o) * oplane + 2 * th * tl.OW + w0;
      const T* s0 = yo;
      const T* s1 = 2 * th + 1 < tl.OH ? yo + tl.OW : zeros;
      if (!full) {
        #pragma GCC ivdep
        for (int64_t k = 0; k < cols; ++k) {
          d0[k] = s0[k];
          d1[k] = s1[k];
        }
        s0 = d0;
        s1 = d1;
      }
      T* __restrict z = Z + o * ld + j0;
      #pragma GCC ivdep
      for (int64_t j = 0; j < len; ++j) {
        const T a0 = s0[2 * j], a1 = s0[2 * j + 1], b0 = s1[2 * j], b1 = s1[2 * j + 1];
        // rows of A dy: (a), (a + b), (a - b), (-b), each as (x0, x1); then columns the same way
        const T r[4][2] = {{a0, a1}, {a0 + b0, a1 + b1}, {a0 - b0, a1 - b1}, {-b0, -b1}};
        for (int i = 0; i < 4; ++i) {
          z[(4 * i) * ps + j] = r[i][0];
          z[(4 * i + 1) * ps + j] = r[i][0] + r[i][1];
          z[(4 * i + 2) * ps + j] = r[i][0] - r[i][1];
          z[(4 * i + 3) * ps + j] = -r[i][1];
        }
      }
    }
  });
}

// The same three transforms for any scheme S (winograd.h), from its matrices: each output is a sum of
// the inputs with a non-zero coefficient, the coefficients known at compile time (an entry of 1 or -1
// adds or subtracts, any other multiplies).
template <int R, int Cn>
struct Matrix {
  double v[R][Cn];
};
template <int R, int Cn>
constexpr Matrix<Cn, R> transpose(const double (&a)[R][Cn]) {
  Matrix<Cn, R> t{};
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < Cn; ++j) t.v[j][i] = a[i][j];
  return t;
}


// B^T applied to the rows of each n x n window (n window rows into n rows of u over the run's width),
// then to each tile's n columns of those rows.
template <class T, class S>
void input_tiles_s(const T* x, const Tiling& tl, int64_t t0, int64_t nt, T* V, int64_t ld, T* buf) {
  constexpr int m = S::m, n = S::n;
  const int64_t plane = tl.H * tl.W, ps = plane_stride<T>(tl.C, ld);
  for_each_run(tl, t0, nt, [&](int64_t img, int64_t th, int64_t tw, int64_t len, int64_t j0) {
    // the run's input columns, m*len + 2, rounded up to whole tiles: m*(len + 1)
    const int64_t width = m * (len + 1), w0 = m * tw - tl.pw;
    int64_t lo, hi;
    valid_columns(w0, tl.W, m * len + 2, &lo, &hi);
    T* __restrict u = buf;  // B^T d: n rows of width
    T* __restrict ph = buf + n * width;  // the rows of u split into their m phases, len + 1 each
    T* zeros = ph + n * width;
    #pragma GCC ivdep
    for (int64_t k = 0; k < hi - lo; ++k) zeros[k] = T(0);
    for (int i = 0; i < n; ++i) {
      for (int64_t k = 0; k < lo; ++k) u[i * width + k] = T(0);
      for (int64_t k = hi; k < width; ++k) u[i * width + k] = T(0);
    }
    const int64_t top = m * th - tl.ph;
    const int64_t h0 = std::max<int64_t>(0, top), h1 = std::min<int64_t>(tl.H, top + n);
    for (int64_t c = 0; c < tl.C; ++c) {
      const T* xc = x + (img * tl.C + c) * plane;
      if (c + kAhead < tl.C && h1 > h0)
        prefetch_span(xc + kAhead * plane + h0 * tl.W + w0 + lo, (h1 - h0 - 1) * tl.W + hi - lo);
      const T* r[n];
      for (int i = 0; i < n; ++i) {
        const int64_t h = top + i;
        r[i] = h < 0 || h >= tl.H ? zeros : xc + h * tl.W + w0 + lo;
      }
      T* __restrict ub = u + lo;
      #pragma GCC ivdep
      for (int64_t k = 0; k < hi - lo; ++k) {
        T d[n];
        #pragma GCC unroll 8
        for (int l = 0; l < n; ++l) d[l] = r[l][k];
        #pragma GCC unroll 8
        for (int i = 0; i < n; ++i) ub[i * width + k] = combine(S::BT[i], d);
      }
      // each row's tiles: window column l of tile j is phase l % m of tile j + l / m. All rows are split
      // before any is read back: a read of phase q at j + 1 straddles two of the split's vector stores
      // and waited for them to reach the cache (store forwarding fails).
      for (int i = 0; i < n; ++i) {
        const T* ui = u + i * width;
        T* __restrict pi = ph + i * width;
        #pragma GCC ivdep
        for (int64_t j = 0; j <= len; ++j)
          #pragma GCC unroll 8
          for (int q = 0; q < m; ++q) pi[q * (len + 1) + j] = ui[m * j + q];
      }
      for (int i = 0; i < n; ++i) {
        const T* pi = ph + i * width;
        T* __restrict v = V + (n * i) * ps + c * ld + j0;
        #pragma GCC ivdep
        for (int64_t j = 0; j < len; ++j) {
          T e[n];
          #pragma GCC unroll 8
          for (int l = 0; l < n; ++l) e[l] = pi[(l % m) * (len + 1) + j + l / m];
          #pragma GCC unroll 8
          for (int q = 0; q < n; ++q) v[q * ps + j] = combine(S::BT[q], e);
        }
      }
    }
  });
}

// A^T applied to the rows of each tile's n x n products (n columns of m sums), then to those columns.
template <class T, class S>
void output_tiles_s(const T* M, const Tiling& tl, int64_t t0, int64_t nt, int64_t ld, const T* bias, bool relu, T* y,
                    T* buf) {
  constexpr int m = S::m, n = S::n;
  const int64_t oplane = tl.OH * tl.OW, ps = plane_stride<T>(tl.OC, ld);
  for_each_run(tl, t0, nt, [&](int64_t img, int64_t th, int64_t tw, int64_t len, int64_t j0) {
    const int64_t width = m * len;
    const int64_t cols = std::min(width, tl.OW - m * tw);
    const int64_t rows = std::min<int64_t>(m, tl.OH - m * th);
    T* __restrict r = buf;  // m rows of width
    for (int64_t o = 0; o < tl.OC; ++o) {
      if (o + kAhead < tl.OC && rows > 0 && cols > 0)
        prefetch_span(y + (img * tl.OC + o + kAhead) * oplane + m * th * tl.OW + m * tw, (rows - 1) * tl.OW + cols,
                      true);
      const T* mo = M + o * ld + j0;
      #pragma GCC ivdep
      for (int64_t j = 0; j < len; ++j) {
        T s[m][n];
        #pragma GCC unroll 8
        for (int q = 0; q < n; ++q) {
          T col[n];
          #pragma GCC unroll 8
          for (int p = 0; p < n; ++p) col[p] = mo[(n * p + q) * ps + j];
          #pragma GCC unroll 8
          for (int a = 0; a < m; ++a) s[a][q] = combine(S::AT[a], col);
        }
        #pragma GCC unroll 8
        for (int a = 0; a < m; ++a)
          #pragma GCC unroll 8
          for (int b = 0; b < m; ++b) r[a * width + m * j + b] = combine(S::AT[b], s[a]);
      }
      const T add = bias ? bias[o] : T(0);
      for (int64_t a = 0; a < rows; ++a)
        store_row(r + a * width, cols, add, relu, y + (img * tl.OC + o) * oplane + (m * th + a) * tl.OW + m * tw);
    }
  });
}

// Z = A dy A^T of each m x m tile of dy (A = (A^T)^T, n x m): its rows first, then its columns.
template <class T, class S>
void grad_tiles_s(const T* dy, const Tiling& tl, int64_t t0, int64_t nt, T* Z, int64_t ld, T* buf) {
  constexpr int m = S::m, n = S::n;
  static constexpr auto A = transpose(S::AT);
  const int64_t oplane = tl.OH * tl.OW, ps = plane_stride<T>(tl.OC, ld);
  for_each_run(tl, t0, nt, [&](int64_t img, int64_t th, int64_t tw, int64_t len, int64_t j0) {
    const int64_t width = m * len, w0 = m * tw;
    const int64_t cols = std::min(width, tl.OW - w0);  // dy columns inside the output
    const int64_t rows = std::min<int64_t>(m, tl.OH - m * th);
    T* zeros = buf;
    for (int64_t k = 0; k < width; ++k) zeros[k] = T(0);
    T* __restrict d = buf + width;  // the run's m rows of dy, zero past the right edge
    for (int a = 0; a < m; ++a)
      for (int64_t k = cols; k < width; ++k) d[a * width + k] = T(0);
    const bool full = cols == width;  // else the run's dy columns are copied, zero past the edge
    for (int64_t o = 0; o < tl.OC; ++o) {
      const T* yo = dy + (img * tl.OC + o) * oplane + m * th * tl.OW + w0;
      // dy's rows of the channel kAhead on (four rows a channel here, against F(2x2)'s two: 1.01-1.02x)
      if (o + kAhead < tl.OC && rows > 0 && cols > 0) prefetch_span(yo + kAhead * oplane, (rows - 1) * tl.OW + cols);
      const T* s[m];
      for (int a = 0; a < m; ++a) {
        s[a] = a < rows ? yo + a * tl.OW : zeros;
        if (!full && a < rows) {
          T* __restrict da = d + a * width;
          #pragma GCC ivdep
          for (int64_t k = 0; k < cols; ++k) da[k] = s[a][k];
          s[a] = da;
        }
      }
      T* __restrict z = Z + o * ld + j0;
      #pragma GCC ivdep
      for (int64_t j = 0; j < len; ++j) {
        T t[n][m];  // A dy
        #pragma GCC unroll 8
        for (int b = 0; b < m; ++b) {
          T col[m];
          #pragma GCC unroll 8
          for (int a = 0; a < m; ++a) col[a] = s[a][m * j + b];
          #pragma GCC unroll 8
          for (int i = 0; i < n; ++i) t[i][b] = combine(A.v[i], col);
        }
        #pragma GCC unroll 8
        for (int i = 0; i < n; ++i)
          #pragma GCC unroll 8
          for (int q = 0; q < n; ++q) z[(n * i + q) * ps + j] = combine(A.v[q], t[i]);
      }
    }
  });
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

template <class T>
void fill_transforms(Transforms<T>* k) {
  k->input_tiles[kF2] = &input_tiles<T>;
  k->output_tiles[kF2] = &output_tiles<T>;
  k->grad_tiles[kF2] = &grad_tiles<T>;
  k->input_tiles[kF4] = &input_tiles_s<T, F4>;
  k->output_tiles[kF4] = &output_tiles_s<T, F4>;
  k->grad_tiles[kF4] = &grad_tiles_s<T, F4>;
}

}  // namespace

FE_DEFINE_FILLS(Transforms, fill_transforms)

}  // namespace winograd
}  // namespace conv
}  // namespace fe
