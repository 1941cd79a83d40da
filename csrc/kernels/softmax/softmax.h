// Softmax, log-softmax and fused cross-entropy over the last axis of a (rows, cols) array.
// Each ISA supplies row-range kernels (softmax_isa.cpp compiled with its flags); the drivers in
// softmax.cpp split rows over threads. Every row is computed by one thread, and reductions over rows
// (the loss mean) are left to the caller in a fixed order, so results do not depend on thread count.
#pragma once
#include "common/isa.h"
#include <cstdint>

namespace fe {
namespace softmax {

// Cross-entropy settings shared by forward and backward (PyTorch's definitions):
//   loss_i = -(1 - eps) * w[t_i] * logp[i, t_i] - (eps / C) * sum_c w[c] * logp[i, c]
//   rows whose target equals ignore_index have loss 0 and gradient 0; w = 1 when weight is null.
template <class T>
struct CrossEntropyArgs {
  const int64_t* target;  // (rows,)
  const T* weight;        // (cols,) or nullptr
  int64_t ignore_index;
  T label_smoothing;
};

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "softmax";
  // y = softmax(x) (or log_softmax with log != 0) for rows [r0, r1); x, y: (rows, cols); y may be x
  void (*forward)(const T* x, T* y, int64_t cols, int64_t r0, int64_t r1, int log);
  // dx for rows [r0, r1) given y = the forward output and dy (all (rows, cols)); dx is overwritten
  // and may be dy, never y
  void (*backward)(const T* y, const T* dy, T* dx, int64_t cols, int64_t r0, int64_t r1, int log);
  // loss[i], and for the backward each row's max and log(sum(exp(logits - max))), rows [r0, r1)
  void (*ce_forward)(const T* logits, int64_t cols, const CrossEntropyArgs<T>& a, T* loss, T* row_max,
                     T* log_sum, int64_t r0, int64_t r1);
  // dlogits[i] = grad[i] * d loss_i / d logits[i] for rows [r0, r1) (overwritten)
  void (*ce_backward)(const T* logits, const T* row_max, const T* log_sum, int64_t cols,
                      const CrossEntropyArgs<T>& a, const T* grad, T* dlogits, int64_t r0, int64_t r1);
};

// Fills k with the kernels of level I (defined in softmax_isa.cpp, compiled once per level).
template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

// Drivers (threads over rows).
template <class T>
void forward(const Kernels<T>& k, const T* x, T* y, int64_t rows, int64_t cols, bool log, int nthreads);
template <class T>
void backward(const Kernels<T>& k, const T* y, const T* dy, T* dx, int64_t rows, int64_t cols, bool log,
              int nthreads);
template <class T>
void cross_entropy_forward(const Kernels<T>& k, const T* logits, int64_t rows, int64_t cols,
                           const CrossEntropyArgs<T>& a, T* loss, T* row_max, T* log_sum, int nthreads);
template <class T>
void cross_entropy_backward(const Kernels<T>& k, const T* logits, const T* row_max, const T* log_sum,
                            int64_t rows, int64_t cols, const CrossEntropyArgs<T>& a, const T* grad, T* dlogits,
                            int nthreads);

}  // namespace softmax
}  // namespace fe
