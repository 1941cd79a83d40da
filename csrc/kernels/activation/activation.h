// Pointwise activations (forward and backward from the input x), PReLU with a per-channel weight, and
// the fused pointwise losses (bce_with_logits, bce, smooth_l1, huber, kl_div, mse, l1) with their
// reductions. PyTorch's formulas and edge values (NaN propagates; the slopes at the kinks are torch's).
//
// float32 uses the arithmetic exp/log/tanh of common/simd_math.h, so every loop vectorises with its
// level's flags (about 1-3 ulp); float64 calls libm one element at a time (correctly rounded or nearly,
// never vectorised): honest double precision, at scalar speed.
//
// Determinism: activations are elementwise (any split gives the same bits). PReLU's dweight and the
// losses' sum/mean reduce in fixed-size blocks (kPreluUnit, kLossBlock elements of the flat array), each
// block summed in a fixed lane order, the block partials added in block order: the result depends on
// the shape only, never on the thread count.
#pragma once
#include <cstdint>

#include "common/isa.h"

namespace fe {
namespace activation {

// The activation kinds (the binding maps their names); a and b are the kind's two options.
enum Kind : int {
  kRelu = 0,     // max(x, 0) (NaN propagates)
  kSigmoid,      // 1 / (1 + exp(-x))
  kTanh,         // tanh(x)
  kElu,          // a = alpha, b = scale: scale * (x > 0 ? x : alpha expm1(x)); SELU is (1.6733, 1.0507)
  kSilu,         // x sigmoid(x)
  kMish,         // x tanh(softplus(x))
  kHardtanh,     // a = min_val, b = max_val: clamp(x, a, b)
  kSoftsign,     // x / (1 + |x|)
  kSoftplus,     // a = beta, b = threshold: beta x > threshold ? x : log1p(exp(beta x)) / beta
  kHardsigmoid,  // clamp(x + 3, 0, 6) / 6
  kHardswish,    // x clamp(x + 3, 0, 6) / 6
  kLeakyRelu,    // a = negative_slope
  kGelu,         // x Phi(x), Phi the normal CDF
  kGeluTanh,     // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  kNumKinds
};

// The pointwise losses.
enum LossKind : int {
  kBceWithLogits = 0,  // w [(1 - y) x + (1 + (pw - 1) y) softplus(-x)]
  kBce,                // -w [y max(log x, -100) + (1 - y) max(log1p(-x), -100)]
  kSmoothL1,           // param = beta
  kHuber,              // param = delta
  kKlDiv,              // xlogy(y, y) - y x
  kKlDivLogTarget,     // exp(y) (y - x)
  kMse,                // (x - y)^2
  kL1,                 // |x - y|
  kNumLossKinds
};

enum Reduction : int { kNone = 0, kSum = 1, kMean = 2 };

// Flat blocks of the fixed-order reductions (shape-independent constants).
constexpr int64_t kLossBlock = 2048;
constexpr int64_t kPreluUnit = 16384;

// One loss call's arrays (n elements of x and y, C-contiguous, one shape). pos_weight and weight are
// null, full (n elements, *_full = 1) or one value per position of the last axis (cols elements,
// broadcast over the rows). grad: n elements (grad_full) or one; gscale multiplies it (1/n for 'mean').
template <class T>
struct LossArgs {
  const T* x;
  const T* y;
  const T* pos_weight;
  const T* weight;
  int pw_full, w_full;
  int64_t cols;
  T param;
  T* out;          // forward, reduction none: n losses
  const T* grad;   // backward
  int grad_full;
  T gscale;
  T* dx;           // backward outputs (either may be null)
  T* dy;
};

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "activation";
  // y[i] = f(x[i]) for i in [0, n)
  void (*forward)(int kind, const T* x, T* y, int64_t n, T a, T b);
  // dx[i] = dy[i] f'(x[i])
  void (*backward)(int kind, const T* dy, const T* x, T* dx, int64_t n, T a, T b);
  // x: (N, C, S) flat elements [i0, i1); w: C slopes
  void (*prelu_forward)(const T* x, const T* w, T* y, int64_t C, int64_t S, int64_t i0, int64_t i1);
  // dx over [i0, i1); dw_part (C, zeroed by the kernel) gets sum of x dy where x <= 0, in memory order
  void (*prelu_backward)(const T* dy, const T* x, const T* w, T* dx, T* dw_part, int64_t C, int64_t S, int64_t i0,
                         int64_t i1);
  // reduction none: out[i] for [i0, i1), returns 0; else returns the sum of [i0, i1) (at most kLossBlock
  // elements), lanes combined in a fixed order
  double (*loss_forward)(int kind, const LossArgs<T>& a, int64_t i0, int64_t i1, int reduce);
  void (*loss_backward)(int kind, const LossArgs<T>& a, int64_t i0, int64_t i1);
};

template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

// Drivers (activation.cpp): threads over contiguous ranges; the fixed-order reductions.
template <class T>
void forward(const Kernels<T>& k, int kind, const T* x, T* y, int64_t n, T a, T b, int nthreads);
template <class T>
void backward(const Kernels<T>& k, int kind, const T* dy, const T* x, T* dx, int64_t n, T a, T b, int nthreads);
template <class T>
void prelu_forward(const Kernels<T>& k, const T* x, const T* w, T* y, int64_t n, int64_t C, int64_t S, int nthreads);
// dx or dw may be null
template <class T>
void prelu_backward(const Kernels<T>& k, const T* dy, const T* x, const T* w, T* dx, T* dw, int64_t n, int64_t C,
                    int64_t S, int nthreads);
// reduction none: writes a.out; else returns the sum (the caller divides for 'mean')
template <class T>
double loss_forward(const Kernels<T>& k, int kind, const LossArgs<T>& a, int64_t n, int reduce, int nthreads);
template <class T>
void loss_backward(const Kernels<T>& k, int kind, const LossArgs<T>& a, int64_t n, int nthreads);

}  // namespace activation
}  // namespace fe
