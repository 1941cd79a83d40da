// Elementwise optimizer updates, compiled once per ISA level (common/isa.h): plain
// loops the compiler vectorises with that file's flags (sqrt through a builtin, no library code).
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "kernels/optim/optim.h"

namespace fe {
namespace optim {
namespace {

inline float sqrt_(float x) { return __builtin_sqrtf(x); }
inline double sqrt_(double x) { return __builtin_sqrt(x); }

// d = g + wd * w;  buf = first ? d : momentum * buf + (1 - dampening) * d;
// step = nesterov ? d + momentum * buf : buf (d itself without momentum);  w -= lr * step
template <class T>
void sgd_body(T* w, const T* grad, T* buf, const SgdArgs<T>& a, int64_t i0, int64_t i1) {
  const T lr = a.lr, m = a.momentum, damp = T(1) - a.dampening, wd = a.weight_decay;
  if (m == T(0)) {
    for (int64_t i = i0; i < i1; ++i) w[i] -= lr * (grad[i] + wd * w[i]);
    return;
  }
  if (a.first) {
    for (int64_t i = i0; i < i1; ++i) {
      const T d = grad[i] + wd * w[i];
      buf[i] = d;
      w[i] -= lr * (a.nesterov ? d + m * d : d);
    }
    return;
  }
  for (int64_t i = i0; i < i1; ++i) {
    const T d = grad[i] + wd * w[i];
    const T b = m * buf[i] + damp * d;
    buf[i] = b;
    w[i] -= lr * (a.nesterov ? d + m * b : b);
  }
}

// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  (amsgrad: vmax = max(vmax, v), used for v)
// w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), after the weight decay of Adam or AdamW
template <class T>
void adam_body(T* w, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_sq, const AdamArgs<T>& a, int64_t i0,
               int64_t i1) {
  const T b1 = a.beta1, b2 = a.beta2, wd = a.weight_decay;
  const T step = a.lr / a.bias_correction1;
  const T inv_sqrt_bc2 = T(1) / sqrt_(a.bias_correction2);
  const T shrink = a.decoupled ? T(1) - a.lr * wd : T(1);
  const T l2 = a.decoupled ? T(0) : wd;
  for (int64_t i = i0; i < i1; ++i) {
    const T wi = w[i] * shrink;
    const T g = grad[i] + l2 * w[i];
    const T m = b1 * exp_avg[i] + a.one_minus_beta1 * g;
    const T v = b2 * exp_avg_sq[i] + a.one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    T vv = v;
    if (a.amsgrad) {
      vv = max_sq[i] > v ? max_sq[i] : v;
      max_sq[i] = vv;
    }
    w[i] = wi - step * m / (sqrt_(vv) * inv_sqrt_bc2 + a.eps);
  }
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->sgd = &sgd_body<T>;
  k->adam = &adam_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace optim
}  // namespace fe
