// Batch-norm loops, compiled once per ISA level (common/isa.h). Channel c's values
// are the N runs x[n, c, 0:L]; sums use kLanes partial accumulators combined in a fixed order. float32
// runs in float where that is exact enough and in double where float overflowed (see norm.h).
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "kernels/norm/norm.h"

namespace fe {
namespace norm {
namespace {

constexpr int kLanes = 16;

// Sums of f(j), j < n, with kLanes partial accumulators of type A (vectorised, fixed order).
template <class A, class F>
inline A lane_sum(int64_t n, F f) {
  A acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += f(j + l);
  A tail = 0;
  for (; j < n; ++j) tail += f(j);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0] + tail;
}

inline bool finite(double v) { return __builtin_isfinite(v); }

// The sum over channel c's values of f(i), i the flat index into an (N, C, L) array: each run's lane
// sum added into a double, or for L = 1 (features, not images) one lane sum down the batch.
template <class A, class F>
inline double channel_sum(int64_t N, int64_t C, int64_t L, int64_t c, F f) {
  if (L == 1) return lane_sum<A>(N, [&](int64_t n) { return f(n * C + c); });
  double s = 0;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t base = (n * C + c) * L;
    s += lane_sum<A>(L, [&](int64_t j) { return f(base + j); });
  }
  return s;
}

// Channel c's sum and sum of squared deviations from the mean, in arithmetic A, each run's sum added
// into a double. In float an overflow (values of 1e19 square to 1e38) sticks as inf or NaN in the
// result, and a variance below 1e-28 may have lost digits to float's underflow: then `ok` is false
// and the caller takes the double route. Double arithmetic is always ok.
template <class A, class T>
inline bool channel_stats(const T* x, int64_t N, int64_t C, int64_t L, int64_t c, double* mean, double* var) {
  const double M = static_cast<double>(N * L);
  const double s = channel_sum<A>(N, C, L, c, [&](int64_t i) { return static_cast<A>(x[i]); });
  const A m = static_cast<A>(s / M);
  // two passes: the variance of centred values, not E[x^2] - E[x]^2
  const double v = channel_sum<A>(N, C, L, c, [&](int64_t i) { const A d = static_cast<A>(x[i]) - m; return d * d; });
  *mean = s / M;
  *var = v / M;
  return sizeof(A) == sizeof(double) || (finite(s) && finite(v) && *var >= 1e-28);
}

// y = a * x + b over channel c's runs, in arithmetic A.
template <class A, class T>
inline void affine(const T* x, int64_t N, int64_t C, int64_t L, int64_t c, double a, double b, T* y) {
  const A aa = static_cast<A>(a), bb = static_cast<A>(b);
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + (n * C + c) * L;
    T* yr = y + (n * C + c) * L;
    for (int64_t j = 0; j < L; ++j) yr[j] = static_cast<T>(aa * static_cast<A>(xr[j]) + bb);
  }
}

template <class T>
void forward_train_body(const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta, double eps,
                        T* y, T* mean_out, T* invstd_out, T* var_out, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    double mean, var;
    const bool in_t = channel_stats<T>(x, N, C, L, c, &mean, &var);  // T's arithmetic: fast, usually enough
    if (!in_t) channel_stats<double>(x, N, C, L, c, &mean, &var);
    const double invstd = 1.0 / __builtin_sqrt(var + eps);
    mean_out[c] = static_cast<T>(mean);
    invstd_out[c] = static_cast<T>(invstd);
    if (var_out) var_out[c] = static_cast<T>(var);
    const double a = (gamma ? static_cast<double>(gamma[c]) : 1.0) * invstd;
    const double b = (beta ? static_cast<double>(beta[c]) : 0.0) - a * mean;
    // where T's statistics overflowed, so may a (1e-38, a float32 denormal) and a * x: double again
    if (in_t)
      affine<T>(x, N, C, L, c, a, b, y);
    else
      affine<double>(x, N, C, L, c, a, b, y);
  }
}

template <class T>
void forward_eval_body(const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta, const T* mean,
                       const T* invstd, T* y, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    const T a = (gamma ? gamma[c] : T(1)) * invstd[c], b = (beta ? beta[c] : T(0)) - a * mean[c];
    affine<T>(x, N, C, L, c, a, b, y);
  }
}

// Channel c's sum(dy) and sum(dy * (x - m)) in arithmetic A; false where float overflowed.
template <class A, class T>
inline bool channel_grad_sums(const T* dy, const T* x, int64_t N, int64_t C, int64_t L, int64_t c, double m,
                              double* sdy, double* sdyx) {
  const A mm = static_cast<A>(m);  // both sums are 0 for an empty batch
  auto d1 = [&](int64_t i) { return static_cast<A>(dy[i]); };
  auto d2 = [&](int64_t i) { return static_cast<A>(dy[i]) * (static_cast<A>(x[i]) - mm); };
  double s1 = 0, s2 = 0;
  if (L == 1) {
    s1 = channel_sum<A>(N, C, L, c, d1);
    s2 = channel_sum<A>(N, C, L, c, d2);
  } else {
    for (int64_t n = 0; n < N; ++n) {  // both sums run by run, while the run is in L1
      const int64_t base = (n * C + c) * L;
      s1 += lane_sum<A>(L, [&](int64_t j) { return d1(base + j); });
      s2 += lane_sum<A>(L, [&](int64_t j) { return d2(base + j); });
    }
  }
  *sdy = s1;
  *sdyx = s2;
  return sizeof(A) == sizeof(double) || (finite(s1) && finite(s2));
}

template <class A, class T>
inline void input_grad(const T* dy, const T* x, int64_t N, int64_t C, int64_t L, int64_t c, double k, double m,
                       double mdy, double ims, T* dx) {
  const A kk = static_cast<A>(k), mm = static_cast<A>(m), md = static_cast<A>(mdy), is = static_cast<A>(ims);
  for (int64_t n = 0; n < N; ++n) {
    const T* dr = dy + (n * C + c) * L;
    const T* xr = x + (n * C + c) * L;
    T* out = dx + (n * C + c) * L;
    for (int64_t j = 0; j < L; ++j)
      out[j] = static_cast<T>(kk * (static_cast<A>(dr[j]) - md - (static_cast<A>(xr[j]) - mm) * is));
  }
}

template <class T>
void backward_body(const T* dy, const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* mean,
                   const T* invstd, int train, T* dx, T* dgamma, T* dbeta, int64_t c0, int64_t c1) {
  const double M = static_cast<double>(N * L);
  for (int64_t c = c0; c < c1; ++c) {
    const double m = mean[c], is = invstd[c], g = gamma ? static_cast<double>(gamma[c]) : 1.0;
    double sdy, sdyx;  // sum(dy), sum(dy * (x - mean))
    const bool in_t = channel_grad_sums<T>(dy, x, N, C, L, c, m, &sdy, &sdyx);
    if (!in_t) channel_grad_sums<double>(dy, x, N, C, L, c, m, &sdy, &sdyx);
    sdyx *= is;  // sum(dy * xhat)
    if (dgamma) dgamma[c] = static_cast<T>(sdyx);
    if (dbeta) dbeta[c] = static_cast<T>(sdy);
    if (!dx || M == 0) continue;
    const double k = g * is, mdy = train ? sdy / M : 0.0, ims = train ? is * sdyx / M : 0.0;
    if (in_t)
      input_grad<T>(dy, x, N, C, L, c, k, m, mdy, ims, dx);
    else
      input_grad<double>(dy, x, N, C, L, c, k, m, mdy, ims, dx);
  }
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->forward_train = &forward_train_body<T>;
  k->forward_eval = &forward_eval_body<T>;
  k->backward = &backward_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace norm
}  // namespace fe
