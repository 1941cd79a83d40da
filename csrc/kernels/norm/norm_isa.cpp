// Batch-norm and row-norm (layer, group) loops, compiled once per ISA level (common/isa.h). Channel c's values
// are the N runs x[n, c, 0:L]; sums use kLanes partial accumulators combined in a fixed order. float32
// runs in float where that is exact enough and in double where float overflowed (see norm.h).
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "common/prefetch.h"
#include "kernels/norm/norm.h"

#include <vector>

namespace fe {
namespace norm {
namespace {

// 64 partial sums: four AVX-512 float accumulators, so the sums run at the adder's throughput, not its
// latency (one accumulator held the statistics pass to ~15 GB/s)
constexpr int kLanes = 64;

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

// Asks for the first 8 KiB of a channel's next run (the next image's plane) while this one is summed: a
// channel's runs lie C*L values apart, each a page or two, and the hardware prefetcher stops at every
// page, so each run began with a stall. Batch norm's forward statistics, (32,64,32,32) on one core:
// 0.98 -> 0.87 ms, (64,16,28,28) 0.38 -> 0.34 ms. (The backward's sums, two runs at a time, gained
// nothing from it: 1.17 -> 1.24 ms.)
template <class T>
inline void prefetch_run(const T* p, int64_t L) {
  constexpr int64_t kMost = 8192 / static_cast<int64_t>(sizeof(T));
  prefetch_span(p, L < kMost ? L : kMost);
}

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

// The moments of one chunk of contiguous values (a run of a channel, or a piece of a long one): count,
// mean and the sum of squared deviations M2, in two sweeps over the chunk: its sum, then the sums of
// d = x - (the sum's mean) and of d*d. The chunk is at most kChunk values, so the second sweep reads it
// from L1: the statistics cost one pass over memory, not the two of "mean, then variance", with the
// two-pass formula's accuracy (no E[x^2] - E[x]^2 cancellation); chunks combine in double.
constexpr int64_t kChunk = 2048;

struct Moments {
  double n = 0, mean = 0, m2 = 0;
  // Chan et al.'s pairwise update: this and b combined (b after this, a fixed order)
  void add(const Moments& b) {
    if (b.n == 0) return;
    const double n_ab = n + b.n, delta = b.mean - mean;
    mean += delta * (b.n / n_ab);
    m2 += b.m2 + delta * delta * (n * (b.n / n_ab));
    n = n_ab;
  }
};

// A chunk's moments in arithmetic A (kLanes partial sums, fixed order); false where float overflowed
// (values of 1e19 square to 1e38) or the deviations may have lost digits to its underflow (1e-19).
template <class A, class T>
inline bool chunk_moments_in(const T* x, int64_t n, Moments* r) {
  const A s = lane_sum<A>(n, [&](int64_t j) { return static_cast<A>(x[j]); });
  const A m = s / static_cast<A>(n);
  // three lane sums (the first from memory, the other two from L1): written as one loop with two
  // accumulator arrays, GCC vectorised it across the lanes' strided elements, 5x slower
  const double s1 = static_cast<double>(lane_sum<A>(n, [&](int64_t j) { return static_cast<A>(x[j]) - m; }));
  const double s2 = static_cast<double>(lane_sum<A>(n, [&](int64_t j) {
    const A d = static_cast<A>(x[j]) - m;
    return d * d;
  }));
  r->n = static_cast<double>(n);
  r->mean = static_cast<double>(m) + s1 / r->n;  // the first sum's rounding, corrected
  r->m2 = s2 - s1 * (s1 / r->n);                 // about the corrected mean
  if (r->m2 < 0) r->m2 = 0;
  return sizeof(A) == sizeof(double) ||
         (finite(static_cast<double>(s)) && finite(s1) && finite(s2) && (r->m2 == 0 || r->m2 / r->n >= 1e-28));
}

// T's arithmetic (fast: float lanes are twice double's), or double where float's failed.
template <class T>
inline Moments chunk_moments(const T* x, int64_t n) {
  Moments r;
  if (!chunk_moments_in<T>(x, n, &r)) chunk_moments_in<double>(x, n, &r);
  return r;
}

// Channel c's mean and biased variance, in double. Runs of 16 values or more (images): chunk moments
// combined in order (runs, then chunks of a run), one pass over memory. Shorter runs (features, L = 1,
// strided by C): the sum, then the squared deviations, each a lane sum down the batch.
template <class T>
inline void channel_moments(const T* x, int64_t N, int64_t C, int64_t L, int64_t c, double* mean, double* var) {
  if (L >= 16) {
    Moments acc;
    for (int64_t n = 0; n < N; ++n) {
      const T* run = x + (n * C + c) * L;
      if (n + 1 < N) prefetch_run(run + C * L, L);
      for (int64_t j = 0; j < L; j += kChunk) acc.add(chunk_moments(run + j, L - j < kChunk ? L - j : kChunk));
    }
    *mean = acc.mean;
    *var = acc.m2 / acc.n;
    return;
  }
  channel_stats<double>(x, N, C, L, c, mean, var);
}

// Splits m into hi + lo with hi = m rounded to A (lo = 0 when A is double): x - m computed as
// (x - hi) - lo keeps the digits of a large mean that A cannot hold (mean 1e4 in float: 1e-3 lost).
template <class A>
inline void split_mean(double m, A* hi, A* lo) {
  *hi = static_cast<A>(m);
  *lo = static_cast<A>(m - static_cast<double>(*hi));
}

// y = (x - mean) * a + b over channel c's runs, in arithmetic A.
template <class A, class T>
inline void normalise(const T* x, int64_t N, int64_t C, int64_t L, int64_t c, double mean, double a, double b,
                      T* y) {
  A hi, lo;
  split_mean<A>(mean, &hi, &lo);
  const A aa = static_cast<A>(a), bb = static_cast<A>(b);
  for (int64_t n = 0; n < N; ++n) {
    const T* __restrict__ xr = x + (n * C + c) * L;
    T* __restrict__ yr = y + (n * C + c) * L;
    for (int64_t j = 0; j < L; ++j) yr[j] = static_cast<T>(((static_cast<A>(xr[j]) - hi) - lo) * aa + bb);
  }
}

// Whether T's arithmetic is safe for normalise: every value and intermediate far from overflow and a
// a normal number (|x - mean| <= sqrt(M var), |(x - mean) * a| <= |gamma| sqrt(M)). Values near float's
// largest, or a variance near its underflow, take double.
template <class T>
inline bool normalise_in_t(double M, double mean, double var, double a, double g, double b) {
  if (sizeof(T) == sizeof(double)) return true;
  const double big = 1e36, spread = __builtin_sqrt(M * var);
  const double aa = a < 0 ? -a : a;
  const double gg = g < 0 ? -g : g, bb = b < 0 ? -b : b, mm = mean < 0 ? -mean : mean;
  return mm + spread < big && (aa == 0 || (aa > 1e-30 && aa < 1e30)) && gg * __builtin_sqrt(M) < big && bb < big;
}

// Image-major order for the passes over images (L >= 16): channels [c0, c1) of image 0, then of
// image 1, ... Each channel still takes its runs in image order, so every sum is the one the channel-
// by-channel loops made, bit for bit, but memory is read as one stream per image. Channel by channel,
// a channel's N runs lie C*L values apart (256 KiB at (32, 64, 32, 32)): all of them fall into the
// same few L2 sets, so the second pass over a channel found its runs evicted and read them again from
// L3, one page-sized run at a time (one core: forward 0.86-1.0 ms, backward 1.7-1.9 ms).

template <class T>
void forward_train_body(const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta, double eps,
                        T* y, T* mean_out, T* invstd_out, T* var_out, int64_t c0, int64_t c1) {
  const double M = static_cast<double>(N * L);
  const int64_t nc = c1 - c0;
  std::vector<double> mean(nc), var(nc);
  if (L >= 16) {  // pass 1: each channel's chunk moments, image by image (channel_moments' order)
    std::vector<Moments> acc(nc);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = c0; c < c1; ++c) {
        const T* run = x + (n * C + c) * L;
        if (c + 1 < c1)
          prefetch_run(run + L, L);
        else if (n + 1 < N)
          prefetch_run(x + ((n + 1) * C + c0) * L, L);
        for (int64_t j = 0; j < L; j += kChunk)
          acc[c - c0].add(chunk_moments(run + j, L - j < kChunk ? L - j : kChunk));
      }
    for (int64_t i = 0; i < nc; ++i) {
      mean[i] = acc[i].mean;
      var[i] = acc[i].m2 / acc[i].n;
    }
  } else {
    for (int64_t c = c0; c < c1; ++c) channel_moments(x, N, C, L, c, &mean[c - c0], &var[c - c0]);
  }
  // the affine of each channel, and whether T's arithmetic is safe for it
  std::vector<double> a(nc), b(nc);
  std::vector<char> in_t(nc);
  for (int64_t c = c0; c < c1; ++c) {
    const int64_t i = c - c0;
    const double invstd = 1.0 / __builtin_sqrt(var[i] + eps);
    mean_out[c] = static_cast<T>(mean[i]);
    invstd_out[c] = static_cast<T>(invstd);
    if (var_out) var_out[c] = static_cast<T>(var[i]);
    const double g = gamma ? static_cast<double>(gamma[c]) : 1.0;
    b[i] = beta ? static_cast<double>(beta[c]) : 0.0;
    a[i] = g * invstd;
    in_t[i] = normalise_in_t<T>(M, mean[i], var[i], a[i], g, b[i]);
  }
  // pass 2: normalisation fused with the affine, image by image
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t i = c - c0;
      const int64_t off = (n * C + c) * L;
      if (in_t[i])
        normalise<T>(x + off, 1, 1, L, 0, mean[i], a[i], b[i], y + off);
      else
        normalise<double>(x + off, 1, 1, L, 0, mean[i], a[i], b[i], y + off);
    }
}

// y = a * x + b over channel c's runs, in arithmetic A (evaluation: given statistics).
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
void forward_eval_body(const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* beta, const T* mean,
                       const T* invstd, T* y, int64_t c0, int64_t c1) {
  for (int64_t n = 0; n < N; ++n)  // image-major (see forward_train_body): one stream per image
    for (int64_t c = c0; c < c1; ++c) {
      const T a = (gamma ? gamma[c] : T(1)) * invstd[c], b = (beta ? beta[c] : T(0)) - a * mean[c];
      const int64_t off = (n * C + c) * L;
      affine<T>(x + off, 1, 1, L, 0, a, b, y + off);
    }
}

// One run's sum(dy) and sum(dy * ((x - hi) - lo)) in arithmetic A, added into s1 and s2.
template <class A, class T>
inline void run_grad_sums(const T* dy, const T* x, int64_t L, A hi, A lo, double* s1, double* s2) {
  *s1 += lane_sum<A>(L, [&](int64_t j) { return static_cast<A>(dy[j]); });
  *s2 += lane_sum<A>(L, [&](int64_t j) { return static_cast<A>(dy[j]) * ((static_cast<A>(x[j]) - hi) - lo); });
}

// Channel c's sum(dy) and sum(dy * (x - m)) in arithmetic A; false where float overflowed.
template <class A, class T>
inline bool channel_grad_sums(const T* dy, const T* x, int64_t N, int64_t C, int64_t L, int64_t c, double m,
                              double* sdy, double* sdyx) {
  A hi, lo;  // both sums are 0 for an empty batch
  split_mean<A>(m, &hi, &lo);
  auto d1 = [&](int64_t i) { return static_cast<A>(dy[i]); };
  auto d2 = [&](int64_t i) { return static_cast<A>(dy[i]) * ((static_cast<A>(x[i]) - hi) - lo); };
  double s1 = 0, s2 = 0;
  if (L == 1) {
    s1 = channel_sum<A>(N, C, L, c, d1);
    s2 = channel_sum<A>(N, C, L, c, d2);
  } else {
    for (int64_t n = 0; n < N; ++n) {  // both sums run by run, while the run is in L1
      const int64_t base = (n * C + c) * L;
      run_grad_sums<A>(dy + base, x + base, L, hi, lo, &s1, &s2);
    }
  }
  *sdy = s1;
  *sdyx = s2;
  return sizeof(A) == sizeof(double) || (finite(s1) && finite(s2));
}

template <class A, class T>
inline void input_grad(const T* dy, const T* x, int64_t N, int64_t C, int64_t L, int64_t c, double k, double m,
                       double mdy, double ims, T* dx) {
  const A kk = static_cast<A>(k), md = static_cast<A>(mdy), is = static_cast<A>(ims);
  A hi, lo;
  split_mean<A>(m, &hi, &lo);
  for (int64_t n = 0; n < N; ++n) {
    const T* __restrict__ dr = dy + (n * C + c) * L;
    const T* __restrict__ xr = x + (n * C + c) * L;
    T* __restrict__ out = dx + (n * C + c) * L;
    for (int64_t j = 0; j < L; ++j)
      out[j] = static_cast<T>(kk * (static_cast<A>(dr[j]) - md - ((static_cast<A>(xr[j]) - hi) - lo) * is));
  }
}

template <class T>
void backward_body(const T* dy, const T* x, int64_t N, int64_t C, int64_t L, const T* gamma, const T* mean,
                   const T* invstd, int train, T* dx, T* dgamma, T* dbeta, int64_t c0, int64_t c1) {
  const double M = static_cast<double>(N * L);
  const int64_t nc = c1 - c0;
  std::vector<double> sdy(nc, 0.0), sdyx(nc, 0.0);  // sum(dy), sum(dy * (x - mean))
  std::vector<char> in_t(nc, 1);
  if (L > 1) {
    // pass 1, image-major (see forward_train_body): each channel's run sums in T, added into doubles
    // in image order, as channel_grad_sums adds them
    std::vector<T> hi(nc), lo(nc);
    for (int64_t c = c0; c < c1; ++c) split_mean<T>(mean[c], &hi[c - c0], &lo[c - c0]);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t i = c - c0, base = (n * C + c) * L;
        run_grad_sums<T>(dy + base, x + base, L, hi[i], lo[i], &sdy[i], &sdyx[i]);
      }
    for (int64_t c = c0; c < c1; ++c) {  // float overflowed: the channel again, in double
      const int64_t i = c - c0;
      if (sizeof(T) != sizeof(double) && !(finite(sdy[i]) && finite(sdyx[i]))) {
        in_t[i] = 0;
        channel_grad_sums<double>(dy, x, N, C, L, c, mean[c], &sdy[i], &sdyx[i]);
      }
    }
  } else {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t i = c - c0;
      in_t[i] = channel_grad_sums<T>(dy, x, N, C, L, c, mean[c], &sdy[i], &sdyx[i]);
      if (!in_t[i]) channel_grad_sums<double>(dy, x, N, C, L, c, mean[c], &sdy[i], &sdyx[i]);
    }
  }
  std::vector<double> k(nc), mdy(nc), ims(nc);
  for (int64_t c = c0; c < c1; ++c) {
    const int64_t i = c - c0;
    const double is = invstd[c], g = gamma ? static_cast<double>(gamma[c]) : 1.0;
    sdyx[i] *= is;  // sum(dy * xhat)
    if (dgamma) dgamma[c] = static_cast<T>(sdyx[i]);
    if (dbeta) dbeta[c] = static_cast<T>(sdy[i]);
    k[i] = g * is;
    mdy[i] = train ? sdy[i] / M : 0.0;
    ims[i] = train ? is * sdyx[i] / M : 0.0;
  }
  if (!dx || M == 0) return;
  // pass 2: dx, image-major
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t i = c - c0, off = (n * C + c) * L;
      if (in_t[i])
        input_grad<T>(dy + off, x + off, 1, 1, L, 0, k[i], mean[c], mdy[i], ims[i], dx + off);
      else
        input_grad<double>(dy + off, x + off, 1, 1, L, 0, k[i], mean[c], mdy[i], ims[i], dx + off);
    }
}

// ---- row normalisation: layer norm (G = 1, K = D, L = 1) and group norm (rows (n, g), K = C/G) ----
// A row's statistics are batch norm's channel_moments of one contiguous run (chunk moments, float
// lanes with the double fallback); the affine is per value along the row (L = 1) or per channel.

// max |v| over n values, for normalise_in_t (null: `none`)
template <class T>
inline double max_abs(const T* v, int64_t n, double none) {
  if (!v) return none;
  double m = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = v[i] < 0 ? -static_cast<double>(v[i]) : static_cast<double>(v[i]);
    m = a > m ? a : m;
  }
  return m;
}

// gamma (HG) and beta (HB) as compile-time flags, so the L = 1 loops carry no per-value branch
template <bool HG, class A, class T>
inline A gam(const T* g, int64_t j) {
  return HG ? static_cast<A>(g[j]) : A(1);
}
template <bool HB, class A, class T>
inline A bet(const T* b, int64_t j) {
  return HB ? static_cast<A>(b[j]) : A(0);
}

// One row's y in arithmetic A. L = 1: y[j] = (x[j] - mean) * invstd * gamma[j] + beta[j] along the row;
// L > 1: channel k's L values take a = invstd * gamma[k], b = beta[k].
template <bool HG, bool HB, class A, class T>
inline void row_normalise(const T* __restrict__ x, int64_t K, int64_t L, const T* g, const T* b, double mean,
                          double is, T* __restrict__ y) {
  A hi, lo;
  split_mean<A>(mean, &hi, &lo);
  if (L == 1) {
    const A s = static_cast<A>(is);
    for (int64_t j = 0; j < K; ++j)
      y[j] = static_cast<T>(((static_cast<A>(x[j]) - hi) - lo) * s * gam<HG, A>(g, j) + bet<HB, A>(b, j));
    return;
  }
  for (int64_t k = 0; k < K; ++k) {
    const A a = static_cast<A>(is * static_cast<double>(gam<HG, A>(g, k))), bb = bet<HB, A>(b, k);
    const T* __restrict__ xk = x + k * L;
    T* __restrict__ yk = y + k * L;
    for (int64_t l = 0; l < L; ++l) yk[l] = static_cast<T>(((static_cast<A>(xk[l]) - hi) - lo) * a + bb);
  }
}

template <bool HG, bool HB, class T>
void row_forward_rows(const T* x, int64_t G, int64_t K, int64_t L, const T* gamma, const T* beta, double eps, T* y,
                      T* mean_out, T* invstd_out, int64_t r0, int64_t r1) {
  const int64_t D = K * L;
  const double gmax = max_abs(gamma, G * K, 1.0), bmax = max_abs(beta, G * K, 0.0);
  for (int64_t r = r0; r < r1; ++r) {
    if (D == 0) {  // no values: PyTorch's mean 0, invstd NaN (0/0 variance)
      mean_out[r] = T(0);
      invstd_out[r] = static_cast<T>(__builtin_nan(""));
      continue;
    }
    double mean, var;
    channel_moments(x + r * D, 1, 1, D, 0, &mean, &var);
    const double is = 1.0 / __builtin_sqrt(var + eps);
    mean_out[r] = static_cast<T>(mean);
    invstd_out[r] = static_cast<T>(is);
    const int64_t off = (r % G) * K;
    const T* g = HG ? gamma + off : nullptr;
    const T* b = HB ? beta + off : nullptr;
    if (normalise_in_t<T>(static_cast<double>(D), mean, var, is, gmax, bmax))
      row_normalise<HG, HB, T>(x + r * D, K, L, g, b, mean, is, y + r * D);
    else
      row_normalise<HG, HB, double>(x + r * D, K, L, g, b, mean, is, y + r * D);
  }
}

template <class T>
void row_forward_body(const T* x, int64_t G, int64_t K, int64_t L, const T* gamma, const T* beta, double eps, T* y,
                      T* mean, T* invstd, int64_t r0, int64_t r1) {
  if (gamma && beta)
    row_forward_rows<true, true>(x, G, K, L, gamma, beta, eps, y, mean, invstd, r0, r1);
  else if (gamma)
    row_forward_rows<true, false>(x, G, K, L, gamma, beta, eps, y, mean, invstd, r0, r1);
  else if (beta)
    row_forward_rows<false, true>(x, G, K, L, gamma, beta, eps, y, mean, invstd, r0, r1);
  else
    row_forward_rows<false, false>(x, G, K, L, gamma, beta, eps, y, mean, invstd, r0, r1);
}

// L = 1: the row's sum(gamma * dy) and sum(gamma * dy * (x - mean)) in arithmetic A; false where float
// overflowed.
template <bool HG, class A, class T>
inline bool row_grad_sums(const T* dy, const T* x, int64_t D, const T* g, double m, double* s1, double* s2) {
  A hi, lo;
  split_mean<A>(m, &hi, &lo);
  *s1 = static_cast<double>(lane_sum<A>(D, [&](int64_t j) { return static_cast<A>(dy[j]) * gam<HG, A>(g, j); }));
  *s2 = static_cast<double>(lane_sum<A>(D, [&](int64_t j) {
    return static_cast<A>(dy[j]) * gam<HG, A>(g, j) * ((static_cast<A>(x[j]) - hi) - lo);
  }));
  return sizeof(A) == sizeof(double) || (finite(*s1) && finite(*s2));
}

// L = 1: dx[j] = is * (gamma[j] * dy[j] - c - (x[j] - mean) * e) (dx may be null), and the parameter
// partial sums pdg[j] += dy * xhat, pdb[j] += dy (may be null), in arithmetic A. (is outside the
// bracket: a row of one value gets dx = 0 exactly, as gamma * dy - c cancels.)
template <bool HG, class A, class T>
inline void row_input_grad(const T* __restrict__ dy, const T* __restrict__ x, int64_t D, const T* g, double m,
                           double is, double c, double e, T* __restrict__ dx, T* __restrict__ pdg,
                           T* __restrict__ pdb) {
  A hi, lo;
  split_mean<A>(m, &hi, &lo);
  const A s = static_cast<A>(is), cc = static_cast<A>(c), ee = static_cast<A>(e);
  if (dx)
    for (int64_t j = 0; j < D; ++j) {
      const A d = (static_cast<A>(x[j]) - hi) - lo;
      dx[j] = static_cast<T>(s * (gam<HG, A>(g, j) * static_cast<A>(dy[j]) - cc - d * ee));
    }
  if (pdg)
    for (int64_t j = 0; j < D; ++j) {
      const A d = (static_cast<A>(x[j]) - hi) - lo, gy = static_cast<A>(dy[j]);
      pdg[j] = static_cast<T>(static_cast<A>(pdg[j]) + gy * d * s);
      pdb[j] = static_cast<T>(static_cast<A>(pdb[j]) + gy);
    }
}

// L > 1: channel k's sum(dy) and sum(dy * (x - mean)) over its L values in arithmetic A.
template <class A, class T>
inline bool run_grad_sums(const T* dy, const T* x, int64_t L, double m, double* c1, double* c2) {
  A hi, lo;
  split_mean<A>(m, &hi, &lo);
  *c1 = static_cast<double>(lane_sum<A>(L, [&](int64_t l) { return static_cast<A>(dy[l]); }));
  *c2 = static_cast<double>(
      lane_sum<A>(L, [&](int64_t l) { return static_cast<A>(dy[l]) * ((static_cast<A>(x[l]) - hi) - lo); }));
  return sizeof(A) == sizeof(double) || (finite(*c1) && finite(*c2));
}

// L > 1: dx = is * (gamma[k] * dy - c - (x - mean) * e) over channel k's values.
template <class A, class T>
inline void run_input_grad(const T* __restrict__ dy, const T* __restrict__ x, int64_t L, double m, double is,
                           double gk, double c, double e, T* __restrict__ dx) {
  A hi, lo;
  split_mean<A>(m, &hi, &lo);
  const A s = static_cast<A>(is), gg = static_cast<A>(gk), cc = static_cast<A>(c), ee = static_cast<A>(e);
  for (int64_t l = 0; l < L; ++l)
    dx[l] = static_cast<T>(s * (gg * static_cast<A>(dy[l]) - cc - ((static_cast<A>(x[l]) - hi) - lo) * ee));
}

template <bool HG, class T>
void row_backward_rows(const T* dy, const T* x, int64_t G, int64_t K, int64_t L, const T* gamma, const T* mean,
                       const T* invstd, T* dx, T* pdgamma, T* pdbeta, int64_t r0, int64_t r1) {
  const int64_t D = K * L;
  if (pdgamma)
    for (int64_t p = 0; p < G * K; ++p) pdgamma[p] = pdbeta[p] = T(0);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t off = (r % G) * K;
    const T* g = HG ? gamma + off : nullptr;
    const T* dyr = dy + r * D;
    const T* xr = x + r * D;
    T* dxr = dx ? dx + r * D : nullptr;
    const double m = mean[r], is = invstd[r];
    // dx = is * (gd - c - (x - m) * e), c = s1/D, e = is^2 * s2/D: s1 = sum(gd), s2 = sum(gd * (x - m)),
    // gd = gamma * dy
    double s1 = 0, s2 = 0;
    if (L == 1) {
      const bool in_t = row_grad_sums<HG, T>(dyr, xr, D, g, m, &s1, &s2);
      if (!in_t) row_grad_sums<HG, double>(dyr, xr, D, g, m, &s1, &s2);
      const double c = D ? s1 / D : 0.0, e = D ? is * is * s2 / D : 0.0;
      T* pg = pdgamma ? pdgamma + off : nullptr;
      T* pb = pdbeta ? pdbeta + off : nullptr;
      if (in_t)
        row_input_grad<HG, T>(dyr, xr, D, g, m, is, c, e, dxr, pg, pb);
      else
        row_input_grad<HG, double>(dyr, xr, D, g, m, is, c, e, dxr, pg, pb);
      continue;
    }
    bool in_t = true;
    for (int64_t k = 0; k < K; ++k) {
      double c1, c2;
      if (!run_grad_sums<T>(dyr + k * L, xr + k * L, L, m, &c1, &c2)) {
        run_grad_sums<double>(dyr + k * L, xr + k * L, L, m, &c1, &c2);
        in_t = false;
      }
      const double gk = HG ? static_cast<double>(g[k]) : 1.0;
      s1 += gk * c1;
      s2 += gk * c2;
      if (pdgamma) {
        pdgamma[off + k] = static_cast<T>(static_cast<double>(pdgamma[off + k]) + c2 * is);
        pdbeta[off + k] = static_cast<T>(static_cast<double>(pdbeta[off + k]) + c1);
      }
    }
    if (!dxr || D == 0) continue;
    const double c = s1 / D, e = is * is * s2 / D;
    for (int64_t k = 0; k < K; ++k) {
      const double gk = HG ? static_cast<double>(g[k]) : 1.0;
      if (in_t)
        run_input_grad<T>(dyr + k * L, xr + k * L, L, m, is, gk, c, e, dxr + k * L);
      else
        run_input_grad<double>(dyr + k * L, xr + k * L, L, m, is, gk, c, e, dxr + k * L);
    }
  }
}

template <class T>
void row_backward_body(const T* dy, const T* x, int64_t G, int64_t K, int64_t L, const T* gamma, const T* mean,
                       const T* invstd, T* dx, T* pdgamma, T* pdbeta, int64_t r0, int64_t r1) {
  if (gamma)
    row_backward_rows<true>(dy, x, G, K, L, gamma, mean, invstd, dx, pdgamma, pdbeta, r0, r1);
  else
    row_backward_rows<false>(dy, x, G, K, L, gamma, mean, invstd, dx, pdgamma, pdbeta, r0, r1);
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->forward_train = &forward_train_body<T>;
  k->forward_eval = &forward_eval_body<T>;
  k->backward = &backward_body<T>;
  k->row_forward = &row_forward_body<T>;
  k->row_backward = &row_backward_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace norm
}  // namespace fe
