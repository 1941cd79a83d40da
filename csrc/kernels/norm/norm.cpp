// Batch-norm drivers: channels split over threads (each channel's reductions stay on one thread); the
// row-norm drivers (layer norm, group norm): rows split over threads, parameter gradients by row blocks.
#include "kernels/norm/norm.h"

#include <algorithm>

#include "common/parallel.h"
#include "common/scratch.h"

namespace fe {
namespace norm {

template <class T>
void forward_train(const Kernels<T>& k, const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta,
                   double eps, T* y, T* mean, T* invstd, T* var, int nthreads) {
  parallel_items(C, N * L, nthreads, [&](int64_t c0, int64_t c1) {
    k.forward_train(x, N, C, L, gamma, beta, eps, y, mean, invstd, var, c0, c1);
  });
}

template <class T>
void forward_eval(const Kernels<T>& k, const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta,
                  const T* mean, const T* invstd, T* y, int nthreads) {
  parallel_items(C, N * L, nthreads,
                 [&](int64_t c0, int64_t c1) { k.forward_eval(x, N, C, L, gamma, beta, mean, invstd, y, c0, c1); });
}

template <class T>
void backward(const Kernels<T>& k, const T* dy, const T* x, int64_t N, int64_t C, int64_t L, const T* gamma,
              const T* mean, const T* invstd, bool train, T* dx, T* dgamma, T* dbeta, int nthreads) {
  parallel_items(C, N * L, nthreads, [&](int64_t c0, int64_t c1) {
    k.backward(dy, x, N, C, L, gamma, mean, invstd, train ? 1 : 0, dx, dgamma, dbeta, c0, c1);
  });
}

template <class T>
void row_forward(const Kernels<T>& k, const T* x, int64_t R, int64_t G, int64_t K, int64_t L, const T* gamma,
                 const T* beta, double eps, T* y, T* mean, T* invstd, int nthreads) {
  parallel_items(R, std::max<int64_t>(K * L, 1), nthreads, [&](int64_t r0, int64_t r1) {
    k.row_forward(x, G, K, L, gamma, beta, eps, y, mean, invstd, r0, r1);
  });
}

// At most this many blocks of rows for the parameter gradients: enough to keep the threads busy, and
// the partial sums (2 * blocks * G*K values) stay small next to the data.
constexpr int64_t kMaxRowBlocks = 64;
// Rows per block: at least ~32K values of work each, and at most kMaxRowBlocks blocks. A function of the
// shape only, so the order the partial sums are added in is the same for any thread count.
inline int64_t rows_per_block(int64_t R, int64_t D) {
  const int64_t by_work = std::max<int64_t>(1, kMinWorkPerThread / std::max<int64_t>(D, 1));
  const int64_t by_count = (R + kMaxRowBlocks - 1) / kMaxRowBlocks;
  return std::max(by_work, by_count);
}

template <class T>
void row_backward(const Kernels<T>& k, const T* dy, const T* x, int64_t R, int64_t G, int64_t K, int64_t L,
                  const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma, T* dbeta, int nthreads) {
  const int64_t D = K * L, P = G * K;
  if (!dgamma && !dbeta) {
    parallel_items(R, std::max<int64_t>(D, 1), nthreads, [&](int64_t r0, int64_t r1) {
      k.row_backward(dy, x, G, K, L, gamma, mean, invstd, dx, nullptr, nullptr, r0, r1);
    });
    return;
  }
  const int64_t rpb = rows_per_block(R, D), nb = (R + rpb - 1) / rpb;
  Workspace ws(Workspace::bytes_for<T>({nb * P, nb * P}));
  T* pg = ws.take<T>(nb * P);
  T* pb = ws.take<T>(nb * P);
  parallel_items(nb, rpb * std::max<int64_t>(D, 1), nthreads, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      k.row_backward(dy, x, G, K, L, gamma, mean, invstd, dx, pg + b * P, pb + b * P, b * rpb,
                     std::min(R, (b + 1) * rpb));
  });
  // the blocks' partial sums added in block order, in double (no rows: zeros)
  parallel_items(P, std::max<int64_t>(nb, 1), nthreads, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      double sg = 0, sb = 0;
      for (int64_t b = 0; b < nb; ++b) {
        sg += static_cast<double>(pg[b * P + p]);
        sb += static_cast<double>(pb[b * P + p]);
      }
      if (dgamma) dgamma[p] = static_cast<T>(sg);
      if (dbeta) dbeta[p] = static_cast<T>(sb);
    }
  });
}

#define FE_INSTANTIATE(T)                                                                                      \
  template void forward_train<T>(const Kernels<T>&, const T*, int64_t, int64_t, int64_t, const T*, const T*,    \
                                 double, T*, T*, T*, T*, int);                                                  \
  template void forward_eval<T>(const Kernels<T>&, const T*, int64_t, int64_t, int64_t, const T*, const T*,     \
                                const T*, const T*, T*, int);                                                   \
  template void backward<T>(const Kernels<T>&, const T*, const T*, int64_t, int64_t, int64_t, const T*,         \
                            const T*, const T*, bool, T*, T*, T*, int);                                 \
  template void row_forward<T>(const Kernels<T>&, const T*, int64_t, int64_t, int64_t, int64_t, const T*,      \
                               const T*, double, T*, T*, T*, int);                                              \
  template void row_backward<T>(const Kernels<T>&, const T*, const T*, int64_t, int64_t, int64_t, int64_t,     \
                                const T*, const T*, const T*, T*, T*, T*, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace norm
}  // namespace fe
