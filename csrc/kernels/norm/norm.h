// Batch normalisation over (N, C, L) data (L = H*W for images, 1 for features), fused per channel:
// two passes for the statistics (the mean, then the squared deviations from it), one to normalise;
// the backward reduces dy and dy*xhat per channel in the same fixed order. Channels are split over
// threads, so results do not depend on the count. float32 data whose sums overflow float (values of
// 1e19 square to 1e38; x - mean of values near 3e38) or whose variance is near float's underflow
// (values of 1e-19) get a channel's sums and arithmetic redone in double, where neither happens: an
// overflow sticks as inf/NaN in a float sum, so checking the result finds it. Other channels stay in
// float (double everywhere cost 20-200% here). Which route a channel takes depends on its data only.
#pragma once
#include "common/isa.h"
#include <cstdint>

namespace fe {
namespace norm {

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "batch-norm";
  // channels [c0, c1): mean, 1/sqrt(var + eps) and (var not null) the biased variance of x, and
  // y = gamma*xhat + beta (gamma/beta null: 1/0). N*L >= 1.
  void (*forward_train)(const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta, double eps,
                        T* y, T* mean, T* invstd, T* var, int64_t c0, int64_t c1);
  // y = gamma * (x - mean) * invstd + beta with given per-channel mean/invstd (evaluation)
  void (*forward_eval)(const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta, const T* mean,
                       const T* invstd, T* y, int64_t c0, int64_t c1);
  // dgamma = sum(dy*xhat), dbeta = sum(dy); dx = gamma*invstd*(dy - dbeta/M - xhat*dgamma/M) (train)
  // or gamma*invstd*dy (eval: the statistics are constants). dx/dgamma/dbeta may be null; N*L = 0
  // gives dgamma = dbeta = 0.
  void (*backward)(const T* dy, const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* mean,
                   const T* invstd, int train, T* dx, T* dgamma, T* dbeta, int64_t c0, int64_t c1);
};

// Fills k with the kernels of level I (defined in norm_isa.cpp, compiled once per level).
template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

template <class T>
void forward_train(const Kernels<T>& k, const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta,
                   double eps, T* y, T* mean, T* invstd, T* var, int nthreads);
template <class T>
void forward_eval(const Kernels<T>& k, const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta,
                  const T* mean, const T* invstd, T* y, int nthreads);
template <class T>
void backward(const Kernels<T>& k, const T* dy, const T* x, int64_t N, int64_t C, int64_t L, const T* gamma,
              const T* mean, const T* invstd, bool train, T* dx, T* dgamma, T* dbeta, int nthreads);

}  // namespace norm
}  // namespace fe
