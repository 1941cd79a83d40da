// Drivers of the activation family: contiguous ranges over threads for the elementwise kernels; the
// fixed-order reductions (PReLU's dweight, the losses' sum) over blocks whose size depends on the shape
// only, partials added in block order, so every thread count gives the same bits.
#include "kernels/activation/activation.h"

#include <algorithm>
#include <vector>

#include "common/parallel.h"

namespace fe {
namespace activation {
namespace {

// Threads split [0, n) at multiples of kAlign elements only. Where an element falls relative to the
// vectorised loop's body and its scalar epilogue (which GCC may contract into FMAs differently, one ulp
// apart) then depends on n alone, so every thread count gives the same bits.
constexpr int64_t kAlign = 256;

template <class F>
void aligned_ranges(int64_t n, int64_t align, int nthreads, F&& fn) {
  const int64_t blocks = (n + align - 1) / align;
  parallel_items(blocks, align, nthreads, [&](int64_t b0, int64_t b1) { fn(b0 * align, std::min(n, b1 * align)); });
}

}  // namespace

template <class T>
void forward(const Kernels<T>& k, int kind, const T* x, T* y, int64_t n, T a, T b, int nthreads) {
  aligned_ranges(n, kAlign, nthreads, [&](int64_t i0, int64_t i1) { k.forward(kind, x + i0, y + i0, i1 - i0, a, b); });
}

template <class T>
void backward(const Kernels<T>& k, int kind, const T* dy, const T* x, T* dx, int64_t n, T a, T b, int nthreads) {
  aligned_ranges(n, kAlign, nthreads, [&](int64_t i0, int64_t i1) { k.backward(kind, dy + i0, x + i0, dx + i0, i1 - i0, a, b); });
}

template <class T>
void prelu_forward(const Kernels<T>& k, const T* x, const T* w, T* y, int64_t n, int64_t C, int64_t S, int nthreads) {
  aligned_ranges(n, kAlign, nthreads, [&](int64_t i0, int64_t i1) { k.prelu_forward(x, w, y, C, S, i0, i1); });
}

template <class T>
void prelu_backward(const Kernels<T>& k, const T* dy, const T* x, const T* w, T* dx, T* dw, int64_t n, int64_t C,
                    int64_t S, int nthreads) {
  if (!dw) {
    aligned_ranges(n, kAlign, nthreads, [&](int64_t i0, int64_t i1) { k.prelu_backward(dy, x, w, dx, nullptr, C, S, i0, i1); });
    return;
  }
  // units of U flat elements (U >= C keeps the partials, units * C, within n + C), each summing its own
  // per-channel partials in memory order; then dw[c] = the units' partials added in unit order
  const int64_t U = std::max(kPreluUnit, C);
  const int64_t units = (n + U - 1) / U;
  std::vector<T> part(static_cast<size_t>(units * C));
  parallel_items(units, U, nthreads, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u)
      k.prelu_backward(dy, x, w, dx, part.data() + u * C, C, S, u * U, std::min(n, (u + 1) * U));
  });
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t u = 0; u < units; ++u) s += static_cast<double>(part[u * C + c]);
    dw[c] = static_cast<T>(s);
  }
}

template <class T>
double loss_forward(const Kernels<T>& k, int kind, const LossArgs<T>& a, int64_t n, int reduce, int nthreads) {
  if (reduce == kNone) {
    aligned_ranges(n, kLossBlock, nthreads, [&](int64_t i0, int64_t i1) { k.loss_forward(kind, a, i0, i1, kNone); });
    return 0.0;
  }
  const int64_t blocks = (n + kLossBlock - 1) / kLossBlock;
  std::vector<double> part(static_cast<size_t>(blocks));
  parallel_items(blocks, kLossBlock, nthreads, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      part[b] = k.loss_forward(kind, a, b * kLossBlock, std::min(n, (b + 1) * kLossBlock), kSum);
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

template <class T>
void loss_backward(const Kernels<T>& k, int kind, const LossArgs<T>& a, int64_t n, int nthreads) {
  aligned_ranges(n, kLossBlock, nthreads, [&](int64_t i0, int64_t i1) { k.loss_backward(kind, a, i0, i1); });
}

#define FE_INSTANTIATE(T)                                                                                       \
  template void forward<T>(const Kernels<T>&, int, const T*, T*, int64_t, T, T, int);                          \
  template void backward<T>(const Kernels<T>&, int, const T*, const T*, T*, int64_t, T, T, int);               \
  template void prelu_forward<T>(const Kernels<T>&, const T*, const T*, T*, int64_t, int64_t, int64_t, int);   \
  template void prelu_backward<T>(const Kernels<T>&, const T*, const T*, const T*, T*, T*, int64_t, int64_t,   \
                                  int64_t, int);                                                               \
  template double loss_forward<T>(const Kernels<T>&, int, const LossArgs<T>&, int64_t, int, int);              \
  template void loss_backward<T>(const Kernels<T>&, int, const LossArgs<T>&, int64_t, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace activation
}  // namespace fe
