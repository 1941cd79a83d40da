// Drivers for the fused optimizer updates: elementwise, split over threads in contiguous chunks.
#include "kernels/optim/optim.h"

#include "common/parallel.h"

namespace fe {
namespace optim {
namespace {

// Elements over threads; below ~64K elements per thread one thread is faster.
template <class F>
void over_elements(int64_t n, int nthreads, F&& fn) {
  parallel_ranges(n, 1, 65536, nthreads, fn);
}

}  // namespace

template <class T>
void sgd(const Kernels<T>& k, T* w, const T* grad, T* buf, int64_t n, const SgdArgs<T>& a, int nthreads) {
  over_elements(n, nthreads, [&](int64_t i0, int64_t i1) { k.sgd(w, grad, buf, a, i0, i1); });
}

template <class T>
void adam(const Kernels<T>& k, T* w, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
          const AdamArgs<T>& a, int nthreads) {
  over_elements(n, nthreads,
                [&](int64_t i0, int64_t i1) { k.adam(w, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, a, i0, i1); });
}

template void sgd<float>(const Kernels<float>&, float*, const float*, float*, int64_t, const SgdArgs<float>&, int);
template void sgd<double>(const Kernels<double>&, double*, const double*, double*, int64_t,
                          const SgdArgs<double>&, int);
template void adam<float>(const Kernels<float>&, float*, const float*, float*, float*, float*, int64_t,
                          const AdamArgs<float>&, int);
template void adam<double>(const Kernels<double>&, double*, const double*, double*, double*, double*, int64_t,
                           const AdamArgs<double>&, int);

}  // namespace optim
}  // namespace fe
