// Convolution drivers: im2col over image chunks, one GEMM per group, col2im back (see conv.h). Every
// output element is written by one thread in a fixed order, so no result depends on the thread count.
#include "kernels/conv/conv.h"

#include <algorithm>

#include "common/parallel.h"
#include "common/scratch.h"
#include "kernels/conv/winograd.h"

namespace fe {
namespace conv {
namespace {

bool pointwise(const Geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// Images per chunk: a column buffer of about 256K elements (1 MiB in float32, so it stays in L2),
// fixed by the shape alone. Large images go one at a time.
int64_t chunk_images(int64_t N, int64_t KT, int64_t L) {
  return std::max<int64_t>(1, std::min<int64_t>(N, (int64_t(1) << 18) / std::max<int64_t>(1, KT * L)));
}

// Columns of images [n0, n0 + cn) side by side: col (KT, cn*L), image i in columns [i*L, (i+1)*L).
template <class T>
void gather_columns(const Kernels<T>& k, const T* x, const Geometry& g, int64_t n0, int64_t cn, T* col, int nthreads) {
  const int64_t L = g.OH * g.OW, LC = cn * L, KT = g.C * g.kh * g.kw, plane = g.C * g.H * g.W;
  const bool pw = pointwise(g);
  parallel_region(static_cast<int>(std::min<int64_t>(nthreads, cn)), [&](int tid, int count) {
    int64_t a, b;
    split_range(cn, count, tid, &a, &b);
    for (int64_t i = a; i < b; ++i) {
      const T* xn = x + (n0 + i) * plane;
      if (pw) {
        for (int64_t r = 0; r < KT; ++r) std::copy(xn + r * L, xn + (r + 1) * L, col + r * LC + i * L);
      } else {
        k.im2col(xn, g, col + i * L, LC);
      }
    }
  });
}

}  // namespace

template <class T>
void conv2d_forward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                    const T* w, int64_t OC, int64_t groups, const T* bias, T* y, int nthreads) {
  if (winograd::applies(g, OC, groups)) return winograd::forward(uk, x, N, g, w, OC, bias, false, y, nthreads);
  // x (N, C, H, W), w (OC, C/groups*kh*kw), y (N, OC, OH*OW)
  const int64_t L = g.OH * g.OW, K = g.C / groups * g.kh * g.kw, OCg = OC / groups, KT = g.C * g.kh * g.kw;
  const int64_t chunk = chunk_images(N, KT, L);
  Workspace ws(Workspace::bytes_for<T>({KT * chunk * L, chunk > 1 ? OC * chunk * L : 0}));
  T* col = ws.take<T>(KT * chunk * L);
  T* out = ws.take<T>(chunk > 1 ? OC * chunk * L : 0);
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t cn = std::min(chunk, N - n0), LC = cn * L;
    gather_columns(k, x, g, n0, cn, col, nthreads);
    // one image: the GEMM writes y[n] itself; several: (OC, cn*L) then copied out image by image
    T* dst = cn == 1 ? y + n0 * OC * L : out;
    for (int64_t gi = 0; gi < groups; ++gi)
      gemm::gemm<T>(uk, false, false, OCg, LC, K, T(1), w + gi * OCg * K, K, col + gi * K * LC, LC, T(0),
                    dst + gi * OCg * LC, LC, nullptr, false, nthreads);
    parallel_region(static_cast<int>(std::min<int64_t>(nthreads, cn)), [&](int tid, int count) {
      int64_t a, b;
      split_range(cn, count, tid, &a, &b);
      for (int64_t i = a; i < b; ++i) {
        T* yn = y + (n0 + i) * OC * L;
        for (int64_t o = 0; o < OC; ++o) {
          const T* src = dst + o * LC + i * L;
          const T add = bias ? bias[o] : T(0);
          T* yr = yn + o * L;
          if (cn == 1) {
            if (bias)
              for (int64_t j = 0; j < L; ++j) yr[j] += add;
          } else {
            for (int64_t j = 0; j < L; ++j) yr[j] = src[j] + add;
          }
        }
      }
    });
  }
}

template <class T>
void conv2d_backward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                     const T* w, int64_t OC, int64_t groups, const T* dy, T* dx, T* dw, int nthreads) {
  if (winograd::applies(g, OC, groups) && winograd::backward(uk, x, N, g, w, OC, dy, dx, dw, nthreads)) return;
  const int64_t L = g.OH * g.OW, K = g.C / groups * g.kh * g.kw, OCg = OC / groups, KT = g.C * g.kh * g.kw;
  const int64_t plane = g.C * g.H * g.W;
  if (N <= 0) {  // no image to sum over: dW is zeros (dx is empty), never what the allocator left
    if (dw) std::fill(dw, dw + OC * K, T(0));
    return;
  }
  const bool pw = pointwise(g);
  const int64_t chunk = chunk_images(N, KT, L);
  Workspace ws(Workspace::bytes_for<T>({KT * chunk * L, chunk > 1 ? OC * chunk * L : 0}));
  T* col = ws.take<T>(KT * chunk * L);
  T* dyc_buf = ws.take<T>(chunk > 1 ? OC * chunk * L : 0);
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t cn = std::min(chunk, N - n0), LC = cn * L;
    // dy of the chunk side by side: (OC, cn*L); one image's dy is already that
    const T* dyc_ptr = cn == 1 ? dy + n0 * OC * L : dyc_buf;
    if (cn > 1) parallel_region(static_cast<int>(std::min<int64_t>(nthreads, cn)), [&](int tid, int count) {
      int64_t a, b;
      split_range(cn, count, tid, &a, &b);
      for (int64_t i = a; i < b; ++i) {
        const T* dyn = dy + (n0 + i) * OC * L;
        for (int64_t o = 0; o < OC; ++o) std::copy(dyn + o * L, dyn + (o + 1) * L, dyc_buf + o * LC + i * L);
      }
    });
    if (dw) {
      // dW_g (+)= dy_g @ col_g^T, the chunks summed in order
      gather_columns(k, x, g, n0, cn, col, nthreads);
      for (int64_t gi = 0; gi < groups; ++gi)
        gemm::gemm<T>(uk, false, true, OCg, K, LC, T(1), dyc_ptr + gi * OCg * LC, LC, col + gi * K * LC, LC,
                      n0 == 0 ? T(0) : T(1), dw + gi * OCg * K, K, nullptr, false, nthreads);
    }
    if (dx) {
      // dcol_g = W_g^T @ dy_g, then each image's columns scattered back (col reused as dcol)
      for (int64_t gi = 0; gi < groups; ++gi)
        gemm::gemm<T>(uk, true, false, K, LC, OCg, T(1), w + gi * OCg * K, K, dyc_ptr + gi * OCg * LC, LC, T(0),
                      col + gi * K * LC, LC, nullptr, false, nthreads);
      parallel_region(static_cast<int>(std::min<int64_t>(nthreads, cn)), [&](int tid, int count) {
        int64_t a, b;
        split_range(cn, count, tid, &a, &b);
        for (int64_t i = a; i < b; ++i) {
          T* dxn = dx + (n0 + i) * plane;
          if (pw) {
            for (int64_t r = 0; r < KT; ++r)
              std::copy(col + r * LC + i * L, col + r * LC + (i + 1) * L, dxn + r * L);
          } else {
            k.col2im(col + i * L, g, dxn, LC);  // overwrites dxn
          }
        }
      });
    }
  }
}

#define FE_INSTANTIATE(T)                                                                                    \
  template void conv2d_forward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const T*, int64_t, const Geometry&, \
                                  const T*, int64_t, int64_t, const T*, T*, int);                               \
  template void conv2d_backward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const T*, int64_t,                \
                                   const Geometry&, const T*, int64_t, int64_t, const T*, T*, T*, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace conv
}  // namespace fe
