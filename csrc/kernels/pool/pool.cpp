// Drivers for pooling: planes (N*C) split over threads; each plane is one thread's, so the result
// is bitwise the same for any thread count.
#include "kernels/pool/pool.h"

#include <atomic>

#include "common/parallel.h"

namespace fe {
namespace pool {

template <class T>
void maxpool(const Kernels<T>& k, const T* x, const Geometry& g, T* y, int64_t* argmax, int64_t planes,
             int nthreads) {
  parallel_items(planes, g.OH * g.OW * g.kh * g.kw, nthreads,
                 [&](int64_t p0, int64_t p1) { k.maxpool(x, g, y, argmax, p0, p1); });
}

template <class T>
int64_t maxpool_backward(const Kernels<T>& k, const T* dy, const int64_t* argmax, const Geometry& g, T* dx,
                         int64_t planes, int nthreads) {
  std::atomic<int64_t> bad{0};
  parallel_items(planes, g.H * g.W, nthreads, [&](int64_t p0, int64_t p1) {
    bad.fetch_add(k.maxpool_backward(dy, argmax, g, dx, p0, p1), std::memory_order_relaxed);
  });
  return bad.load();
}

template <class T>
void avgpool(const Kernels<T>& k, const T* x, const Geometry& g, const AvgDivisor& dv, T* y, int64_t planes,
             int nthreads) {
  parallel_items(planes, g.OH * g.OW * g.kh * g.kw, nthreads,
                 [&](int64_t p0, int64_t p1) { k.avgpool(x, g, dv, y, p0, p1); });
}

template <class T>
void avgpool_backward(const Kernels<T>& k, const T* dy, const Geometry& g, const AvgDivisor& dv, T* dx,
                      int64_t planes, int nthreads) {
  parallel_items(planes, g.OH * g.OW * g.kh * g.kw, nthreads,
                 [&](int64_t p0, int64_t p1) { k.avgpool_backward(dy, g, dv, dx, p0, p1); });
}

#define FE_INSTANTIATE(T)                                                                                    \
  template void maxpool<T>(const Kernels<T>&, const T*, const Geometry&, T*, int64_t*, int64_t, int);         \
  template int64_t maxpool_backward<T>(const Kernels<T>&, const T*, const int64_t*, const Geometry&, T*,     \
                                       int64_t, int);                                                                   \
  template void avgpool<T>(const Kernels<T>&, const T*, const Geometry&, const AvgDivisor&, T*, int64_t, int); \
  template void avgpool_backward<T>(const Kernels<T>&, const T*, const Geometry&, const AvgDivisor&, T*, int64_t, \
                                    int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace pool
}  // namespace fe
