// Fused optimizer updates: one pass over a parameter, its gradient and its state, instead of the
// four or five NumPy passes (and temporaries) the same formulas take. PyTorch's update rules.
// Elementwise, so any split over threads gives bitwise the same result.
#pragma once
#include "common/isa.h"
#include <cstdint>

namespace fe {
namespace optim {

template <class T>
struct SgdArgs {
  T lr, momentum, dampening, weight_decay;
  int nesterov;
  int first;  // the momentum buffer is empty: it starts as the (decayed) gradient, as in PyTorch
};

template <class T>
struct AdamArgs {
  T lr, beta1, beta2, eps, weight_decay;
  T bias_correction1, bias_correction2;  // 1 - beta^t
  int decoupled;                         // AdamW: w *= 1 - lr * wd; else wd * w joins the gradient
  int amsgrad;
  // 1 - beta1, 1 - beta2 rounded from double: in float, 1 - 0.999f is 0.0009999871, and that 1.3e-5
  // relative error in every step's v left float32 Adam 30x further from float64 than torch's float32
  T one_minus_beta1, one_minus_beta2;
};

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "optimizer";
  // w, grad, buf: n elements [i0, i1); buf may be null when momentum == 0
  void (*sgd)(T* w, const T* grad, T* buf, const SgdArgs<T>& a, int64_t i0, int64_t i1);
  // exp_avg, exp_avg_sq (and max_exp_avg_sq with amsgrad, else null) updated in place
  void (*adam)(T* w, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, const AdamArgs<T>& a,
               int64_t i0, int64_t i1);
};

// Fills k with the kernels of level I (defined in optim_isa.cpp, compiled once per level).
template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

// Drivers: split [0, n) over threads (only when large enough to pay for it).
template <class T>
void sgd(const Kernels<T>& k, T* w, const T* grad, T* buf, int64_t n, const SgdArgs<T>& a, int nthreads);
template <class T>
void adam(const Kernels<T>& k, T* w, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
          const AdamArgs<T>& a, int nthreads);

}  // namespace optim
}  // namespace fe
