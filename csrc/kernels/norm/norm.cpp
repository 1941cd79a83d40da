// Batch-norm drivers: channels split over threads (each channel's reductions stay on one thread).
#include "kernels/norm/norm.h"

#include "common/parallel.h"

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

#define FE_INSTANTIATE(T)                                                                                      \
  template void forward_train<T>(const Kernels<T>&, const T*, int64_t, int64_t, int64_t, const T*, const T*,    \
                                 double, T*, T*, T*, T*, int);                                                  \
  template void forward_eval<T>(const Kernels<T>&, const T*, int64_t, int64_t, int64_t, const T*, const T*,     \
                                const T*, const T*, T*, int);                                                   \
  template void backward<T>(const Kernels<T>&, const T*, const T*, int64_t, int64_t, int64_t, const T*,         \
                            const T*, const T*, bool, T*, T*, T*, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace norm
}  // namespace fe
