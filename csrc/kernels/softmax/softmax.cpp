// Drivers for the softmax family: rows split over threads; each row is one thread's, so the result
// is bitwise the same for any thread count.
#include "kernels/softmax/softmax.h"

#include "common/parallel.h"

namespace fe {
namespace softmax {

template <class T>
void forward(const Kernels<T>& k, const T* x, T* y, int64_t rows, int64_t cols, bool log, int nthreads) {
  if (rows <= 0 || cols <= 0) return;
  parallel_items(rows, cols, nthreads, [&](int64_t r0, int64_t r1) { k.forward(x, y, cols, r0, r1, log ? 1 : 0); });
}

template <class T>
void backward(const Kernels<T>& k, const T* y, const T* dy, T* dx, int64_t rows, int64_t cols, bool log,
              int nthreads) {
  if (rows <= 0 || cols <= 0) return;
  parallel_items(rows, cols, nthreads,
                 [&](int64_t r0, int64_t r1) { k.backward(y, dy, dx, cols, r0, r1, log ? 1 : 0); });
}

template <class T>
void cross_entropy_forward(const Kernels<T>& k, const T* logits, int64_t rows, int64_t cols,
                           const CrossEntropyArgs<T>& a, T* loss, T* row_max, T* log_sum, int nthreads) {
  if (rows <= 0 || cols <= 0) return;
  parallel_items(rows, cols, nthreads,
                 [&](int64_t r0, int64_t r1) { k.ce_forward(logits, cols, a, loss, row_max, log_sum, r0, r1); });
}

template <class T>
void cross_entropy_backward(const Kernels<T>& k, const T* logits, const T* row_max, const T* log_sum,
                            int64_t rows, int64_t cols, const CrossEntropyArgs<T>& a, const T* grad, T* dlogits,
                            int nthreads) {
  if (rows <= 0 || cols <= 0) return;
  parallel_items(rows, cols, nthreads, [&](int64_t r0, int64_t r1) {
    k.ce_backward(logits, row_max, log_sum, cols, a, grad, dlogits, r0, r1);
  });
}

#define FE_INSTANTIATE(T)                                                                                   \
  template void forward<T>(const Kernels<T>&, const T*, T*, int64_t, int64_t, bool, int);                  \
  template void backward<T>(const Kernels<T>&, const T*, const T*, T*, int64_t, int64_t, bool, int);       \
  template void cross_entropy_forward<T>(const Kernels<T>&, const T*, int64_t, int64_t,                    \
                                         const CrossEntropyArgs<T>&, T*, T*, T*, int);                      \
  template void cross_entropy_backward<T>(const Kernels<T>&, const T*, const T*, const T*, int64_t, int64_t, \
                                          const CrossEntropyArgs<T>&, const T*, T*, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace softmax
}  // namespace fe
