// Row kernels for softmax / log-softmax / cross-entropy, compiled once per ISA level (common/isa.h):
// plain loops the compiler vectorises with that file's flags (no library calls in the hot loops, so no
// inline library code compiled with ISA flags can leak to other levels).
// Every row subtracts its max before exp, so logits of +-1e4 neither overflow nor lose the answer.
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "common/simd_math.h"
#include "kernels/softmax/softmax.h"

namespace fe {
namespace softmax {
namespace {

// exp as plain arithmetic for float (common/simd_math.h's fexp: Cephes' polynomial, gradual underflow,
// NaN kept), so the loops that call it vectorise; the builtin for double.
inline float exp_(float x) { return fexp(x); }
inline double exp_(double x) { return __builtin_exp(x); }
inline float log_(float x) { return __builtin_logf(x); }
inline double log_(double x) { return __builtin_log(x); }

// Row reductions keep kLanes independent partial results, combined in a fixed order at the end: the
// compiler can vectorise them (a single running sum it could not, without reordering it), and the
// result is the same on every run and for every thread count.
constexpr int kLanes = 16;

template <class T>
inline T combine(T* acc) {
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

template <class T>
inline T row_max(const T* x, int64_t n) {
  T m = x[0];
  int64_t j = 1;
  if (n >= 2 * kLanes) {
    T acc[kLanes];
    for (int l = 0; l < kLanes; ++l) acc[l] = x[l];
    for (j = kLanes; j + kLanes <= n; j += kLanes)
      for (int l = 0; l < kLanes; ++l) acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
    m = acc[0];
    for (int l = 1; l < kLanes; ++l) m = acc[l] > m ? acc[l] : m;
  }
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// sum_j f(j) with lane accumulators; f is inlined into the vectorised loop.
template <class T, class F>
inline T lane_sum(int64_t n, F f) {
  T acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += f(j + l);
  T tail = 0;
  for (; j < n; ++j) tail += f(j);
  return combine(acc) + tail;
}

// log(sum(exp(x - m))) for the row max m. Kept apart from m: log p_j = (x_j - m) - log_sum is then
// exact where it matters (x_j = m), while m + log_sum would round at the scale of |m| (1e4 in float32
// has a spacing of 1e-3).
template <class T>
inline T row_log_sum(const T* x, int64_t n, T m) {
  return log_(lane_sum<T>(n, [&](int64_t j) { return exp_(x[j] - m); }));
}

// x, y: (rows, cols), rows [r0, r1); y may be x
template <class T>
void forward_rows(const T* x, T* y, int64_t cols, int64_t r0, int64_t r1, int log) {
  for (int64_t i = r0; i < r1; ++i) {
    const T* xi = x + i * cols;
    T* yi = y + i * cols;
    const T m = row_max(xi, cols);
    if (log) {  // y is written only after the last read of x, so y == x (in place) works
      const T ls = row_log_sum(xi, cols, m);
      for (int64_t j = 0; j < cols; ++j) yi[j] = (xi[j] - m) - ls;
    } else {
      for (int64_t j = 0; j < cols; ++j) yi[j] = exp_(xi[j] - m);
      const T inv = T(1) / lane_sum<T>(cols, [&](int64_t j) { return yi[j]; });
      for (int64_t j = 0; j < cols; ++j) yi[j] *= inv;
    }
  }
}

// y, dy, dx: (rows, cols), rows [r0, r1); dx may be dy.
// softmax: dx = y * (dy - sum(dy * y));  log-softmax: dx = dy - exp(y) * sum(dy)
template <class T>
void backward_rows(const T* y, const T* dy, T* dx, int64_t cols, int64_t r0, int64_t r1, int log) {
  for (int64_t i = r0; i < r1; ++i) {
    const T* yi = y + i * cols;
    const T* gi = dy + i * cols;
    T* di = dx + i * cols;
    if (log) {
      const T s = lane_sum<T>(cols, [&](int64_t j) { return gi[j]; });
      for (int64_t j = 0; j < cols; ++j) di[j] = gi[j] - exp_(yi[j]) * s;
    } else {
      const T s = lane_sum<T>(cols, [&](int64_t j) { return gi[j] * yi[j]; });
      for (int64_t j = 0; j < cols; ++j) di[j] = yi[j] * (gi[j] - s);
    }
  }
}

// logits: (rows, cols), target: (rows,), weight: (cols,) or null; loss, row_max_out, log_sum_out: (rows,)
template <class T>
void ce_forward_rows(const T* logits, int64_t cols, const CrossEntropyArgs<T>& a, T* loss, T* row_max_out,
                     T* log_sum_out, int64_t r0, int64_t r1) {
  const T eps = a.label_smoothing;
  for (int64_t i = r0; i < r1; ++i) {
    const T* z = logits + i * cols;
    const T m = row_max(z, cols);
    const T ls = row_log_sum(z, cols, m);
    row_max_out[i] = m;
    log_sum_out[i] = ls;
    const int64_t t = a.target[i];
    if (t == a.ignore_index) {
      loss[i] = 0;
      continue;
    }
    const T wt = a.weight ? a.weight[t] : T(1);
    T v = -(T(1) - eps) * wt * ((z[t] - m) - ls);
    if (eps != T(0)) {
      const T* w = a.weight;  // sum_c w[c] * logp[c]
      const T s = w ? lane_sum<T>(cols, [&](int64_t c) { return w[c] * ((z[c] - m) - ls); })
                    : lane_sum<T>(cols, [&](int64_t c) { return (z[c] - m) - ls; });
      v -= eps / T(cols) * s;
    }
    loss[i] = v;
  }
}

// logits, dlogits: (rows, cols); row_max_in, log_sum_in, grad, target: (rows,); weight: (cols,) or null.
// d loss_i / d z_c = p_c * ((1 - eps) w_t + eps W / C) - (1 - eps) w_t [c == t] - eps w_c / C,  W = sum_c w_c
template <class T>
void ce_backward_rows(const T* logits, const T* row_max_in, const T* log_sum_in, int64_t cols,
                      const CrossEntropyArgs<T>& a, const T* grad, T* dlogits, int64_t r0, int64_t r1) {
  const T eps = a.label_smoothing;
  T wsum = T(cols);
  if (a.weight) {
    wsum = 0;
    for (int64_t c = 0; c < cols; ++c) wsum += a.weight[c];
  }
  for (int64_t i = r0; i < r1; ++i) {
    const T* z = logits + i * cols;
    T* d = dlogits + i * cols;
    const int64_t t = a.target[i];
    if (t == a.ignore_index) {
      for (int64_t c = 0; c < cols; ++c) d[c] = 0;
      continue;
    }
    const T g = grad[i];
    const T wt = a.weight ? a.weight[t] : T(1);
    const T scale = g * ((T(1) - eps) * wt + eps * wsum / T(cols));
    const T m = row_max_in[i], ls = log_sum_in[i];
    for (int64_t c = 0; c < cols; ++c) d[c] = scale * exp_((z[c] - m) - ls);
    if (eps != T(0)) {
      const T e = g * eps / T(cols);
      if (a.weight)
        for (int64_t c = 0; c < cols; ++c) d[c] -= e * a.weight[c];
      else
        for (int64_t c = 0; c < cols; ++c) d[c] -= e;
    }
    d[t] -= g * (T(1) - eps) * wt;
  }
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->forward = &forward_rows<T>;
  k->backward = &backward_rows<T>;
  k->ce_forward = &ce_forward_rows<T>;
  k->ce_backward = &ce_backward_rows<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace softmax
}  // namespace fe
