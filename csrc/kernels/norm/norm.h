// Batch normalisation over (N, C, L) data (L = H*W for images, 1 for features), fused per channel:
// two passes for the statistics (the mean, then the squared deviations from it), one to normalise;
// the backward reduces dy and dy*xhat per channel in the same fixed order. Channels are split over
// threads, so results do not depend on the count. float32 data whose sums overflow float (values of
// 1e19 square to 1e38; x - mean of values near 3e38) or whose variance is near float's underflow
// (values of 1e-19) get a channel's sums and arithmetic redone in double, where neither happens: an
// overflow sticks as inf/NaN in a float sum, so checking the result finds it. Other channels stay in
// float (double everywhere cost 20-200% here). Which route a channel takes depends on its data only.
//
// Layer norm and group norm share one row kernel (below): each row of D = K*L contiguous values is
// normalised by its own mean and variance, and its K "channels" (L values each) take their affine
// from gamma/beta. Rows split over threads; the parameter gradients are summed in fixed blocks of rows
// (a function of the shape, not of the thread count), then the blocks in order.
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

  // Row normalisation. x is rows of D = K*L contiguous values; row r belongs to group g = r % G and its
  // channel k (values k*L .. k*L+L-1) uses gamma[g*K + k], beta[g*K + k] (null: 1, 0).
  //   layer norm over (M, D): G = 1, K = D, L = 1;  group norm over (N, C, L): rows N*G, K = C/G.
  // rows [r0, r1): mean, invstd = 1/sqrt(var + eps) (var biased), y = gamma * (x - mean) * invstd + beta.
  // D = 0: mean 0, invstd NaN (as PyTorch), no y.
  void (*row_forward)(const T* x, int64_t G, int64_t K, int64_t L, const T* gamma, const T* beta, double eps, T* y,
                      T* mean, T* invstd, int64_t r0, int64_t r1);
  // rows [r0, r1): dx = invstd * (gd - mean(gd) - xhat * mean(gd * xhat)), gd = gamma * dy (dx may be
  // null); pdgamma/pdbeta (both or neither, G*K each) are overwritten with the block's partial sums of
  // sum_l(dy * xhat) and sum_l(dy) per parameter, rows added in order.
  void (*row_backward)(const T* dy, const T* x, int64_t G, int64_t K, int64_t L, const T* gamma, const T* mean,
                       const T* invstd, T* dx, T* pdgamma, T* pdbeta, int64_t r0, int64_t r1);
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

// Row normalisation drivers (layer norm, group norm): R rows of K*L values, G groups (see Kernels).
// dgamma/dbeta (G*K, may be null) are summed in blocks of rows fixed by the shape, then block by block.
template <class T>
void row_forward(const Kernels<T>& k, const T* x, int64_t R, int64_t G, int64_t K, int64_t L, const T* gamma,
                 const T* beta, double eps, T* y, T* mean, T* invstd, int nthreads);
template <class T>
void row_backward(const Kernels<T>& k, const T* dy, const T* x, int64_t R, int64_t G, int64_t K, int64_t L,
                  const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma, T* dbeta, int nthreads);

}  // namespace norm
}  // namespace fe
