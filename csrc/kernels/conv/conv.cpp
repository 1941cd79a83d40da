// Drivers for pooling: planes (N*C) split over threads; each plane is one thread's, so the result
// is bitwise the same for any thread count.
#include "kernels/conv/conv.h"

#include <algorithm>
#include <vector>

#include "common/parallel.h"

namespace fe {
namespace conv {
namespace {

template <class F>
void over_planes(int64_t planes, int64_t work_per_plane, int nthreads, F&& fn) {
  const int64_t by_size = planes * work_per_plane / 32768;
  int nt = nthreads;
  if (by_size < nt) nt = static_cast<int>(by_size);
  if (planes < nt) nt = static_cast<int>(planes);
  if (nt < 1) nt = 1;
  parallel_region(nt, [&](int tid, int count) {
    int64_t p0, p1;
    split_range(planes, count, tid, &p0, &p1);
    if (p0 < p1) fn(p0, p1);
  });
}

bool pointwise(const Geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// Splits images over threads when there are at least as many as threads (then each GEMM runs on
// one thread); otherwise one thread walks the images and each GEMM uses all of them.
template <class F>
void over_images(int64_t N, int nthreads, F&& fn) {
  if (N >= nthreads && nthreads > 1) {
    parallel_region(nthreads, [&](int tid, int count) {
      int64_t n0, n1;
      split_range(N, count, tid, &n0, &n1);
      if (n0 < n1) fn(n0, n1, 1);
    });
  } else {
    fn(0, N, nthreads);
  }
}

}  // namespace

template <class T>
void conv2d_forward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                    const T* w, int64_t OC, int64_t groups, const T* bias, T* y, int nthreads) {
  // x (N, C, H, W), w (OC, C/groups*kh*kw), y (N, OC, OH*OW)
  const int64_t L = g.OH * g.OW, K = g.C / groups * g.kh * g.kw, OCg = OC / groups;
  const bool pw = pointwise(g);
  over_images(N, nthreads, [&](int64_t n0, int64_t n1, int gemm_threads) {
    std::vector<T> col(pw ? 0 : static_cast<size_t>(g.C * g.kh * g.kw * L));
    for (int64_t n = n0; n < n1; ++n) {
      const T* xn = x + n * g.C * g.H * g.W;
      const T* c = xn;
      if (!pw) {
        k.im2col(xn, g, col.data(), L);
        c = col.data();
      }
      T* yn = y + n * OC * L;
      for (int64_t gi = 0; gi < groups; ++gi)
        gemm::gemm<T>(uk, false, false, OCg, L, K, T(1), w + gi * OCg * K, K, c + gi * K * L, L, T(0),
                      yn + gi * OCg * L, L, nullptr, false, gemm_threads);
      if (bias)
        for (int64_t o = 0; o < OC; ++o)
          for (int64_t j = 0; j < L; ++j) yn[o * L + j] += bias[o];
    }
  });
}

template <class T>
void conv2d_backward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                     const T* w, int64_t OC, int64_t groups, const T* dy, T* dx, T* dw, int nthreads) {
  const int64_t L = g.OH * g.OW, K = g.C / groups * g.kh * g.kw, OCg = OC / groups, KT = g.C * g.kh * g.kw;
  const int64_t plane = g.C * g.H * g.W;
  const bool pw = pointwise(g);
  if (dx) {
    // dcol = W_g^T @ dy[n, g]; dx[n] = col2im(dcol)
    over_images(N, nthreads, [&](int64_t n0, int64_t n1, int gemm_threads) {
      std::vector<T> dcol(pw ? 0 : static_cast<size_t>(KT * L));
      for (int64_t n = n0; n < n1; ++n) {
        T* dxn = dx + n * plane;
        T* d = pw ? dxn : dcol.data();
        for (int64_t gi = 0; gi < groups; ++gi)
          gemm::gemm<T>(uk, true, false, K, L, OCg, T(1), w + gi * OCg * K, K, dy + (n * OC + gi * OCg) * L, L, T(0),
                        d + gi * K * L, L, nullptr, false, gemm_threads);
        if (!pw) {
          std::fill(dxn, dxn + plane, T(0));
          k.col2im(dcol.data(), g, dxn);
        }
      }
    });
  }
  if (dw) {
    // dW_g = sum over images of dy[n, g] @ col[n, g]^T, in chunks of `chunk` images (a number fixed by
    // the shape alone): the chunk's columns side by side make one GEMM whose K runs over images.
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(N, (int64_t(1) << 22) / std::max<int64_t>(1, KT * L)));
    std::vector<T> col(static_cast<size_t>(KT * chunk * L));
    std::vector<T> dyc(static_cast<size_t>(OC * chunk * L));
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
      const int64_t cn = std::min(chunk, N - n0), LC = cn * L;
      parallel_region(std::min<int64_t>(nthreads, cn), [&](int tid, int count) {
        int64_t a, b;
        split_range(cn, count, tid, &a, &b);
        for (int64_t i = a; i < b; ++i) {
          const T* xn = x + (n0 + i) * plane;
          if (pw) {
            for (int64_t r = 0; r < KT; ++r) std::copy(xn + r * L, xn + (r + 1) * L, col.data() + r * LC + i * L);
          } else {
            k.im2col(xn, g, col.data() + i * L, LC);
          }
          const T* dyn = dy + (n0 + i) * OC * L;
          for (int64_t o = 0; o < OC; ++o) std::copy(dyn + o * L, dyn + (o + 1) * L, dyc.data() + o * LC + i * L);
        }
      });
      for (int64_t gi = 0; gi < groups; ++gi)
        gemm::gemm<T>(uk, false, true, OCg, K, LC, T(1), dyc.data() + gi * OCg * LC, LC, col.data() + gi * K * LC, LC,
                      n0 == 0 ? T(0) : T(1), dw + gi * OCg * K, K, nullptr, false, nthreads);
    }
  }
}

template <class T>
void maxpool(const Kernels<T>& k, const T* x, const Geometry& g, T* y, int64_t* argmax, int64_t planes,
             int nthreads) {
  over_planes(planes, g.OH * g.OW * g.kh * g.kw, nthreads,
              [&](int64_t p0, int64_t p1) { k.maxpool(x, g, y, argmax, p0, p1); });
}

template <class T>
void maxpool_backward(const Kernels<T>& k, const T* dy, const int64_t* argmax, const Geometry& g, T* dx,
                      int64_t planes, int nthreads) {
  over_planes(planes, g.OH * g.OW, nthreads,
              [&](int64_t p0, int64_t p1) { k.maxpool_backward(dy, argmax, g, dx, p0, p1); });
}

template <class T>
void avgpool(const Kernels<T>& k, const T* x, const Geometry& g, T* y, int64_t planes, int nthreads) {
  over_planes(planes, g.OH * g.OW * g.kh * g.kw, nthreads,
              [&](int64_t p0, int64_t p1) { k.avgpool(x, g, y, p0, p1); });
}

template <class T>
void avgpool_backward(const Kernels<T>& k, const T* dy, const Geometry& g, T* dx, int64_t planes, int nthreads) {
  over_planes(planes, g.OH * g.OW * g.kh * g.kw, nthreads,
              [&](int64_t p0, int64_t p1) { k.avgpool_backward(dy, g, dx, p0, p1); });
}

#define FE_INSTANTIATE(T)                                                                                    \
  template void conv2d_forward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const T*, int64_t, const Geometry&, \
                                  const T*, int64_t, int64_t, const T*, T*, int);                               \
  template void conv2d_backward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const T*, int64_t,                \
                                   const Geometry&, const T*, int64_t, int64_t, const T*, T*, T*, int);          \
  template void maxpool<T>(const Kernels<T>&, const T*, const Geometry&, T*, int64_t*, int64_t, int);         \
  template void maxpool_backward<T>(const Kernels<T>&, const T*, const int64_t*, const Geometry&, T*, int64_t, \
                                    int);                                                                     \
  template void avgpool<T>(const Kernels<T>&, const T*, const Geometry&, T*, int64_t, int);                   \
  template void avgpool_backward<T>(const Kernels<T>&, const T*, const Geometry&, T*, int64_t, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace conv
}  // namespace fe
