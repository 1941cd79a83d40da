// The activation family's kernels, compiled once per ISA level (common/isa.h): one loop per kind, the
// kind switched outside it, each loop a plain expression the compiler vectorises with this level's
// flags (float32 math from common/simd_math.h; float64 through libm, one element at a time).
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include <type_traits>

#include "common/isa.h"
#include "common/simd_math.h"
#include "kernels/activation/activation.h"

namespace fe {
namespace activation {
namespace {

inline float exp_(float x) { return fexp(x); }
inline double exp_(double x) { return __builtin_exp(x); }
inline float expm1_(float x) { return fexpm1(x); }
inline double expm1_(double x) { return __builtin_expm1(x); }
inline float log_(float x) { return flog(x); }
inline double log_(double x) { return __builtin_log(x); }
inline float log1p_(float x) { return flog1p(x); }
inline double log1p_(double x) { return __builtin_log1p(x); }
inline float tanh_(float x) { return ftanh(x); }
inline double tanh_(double x) { return __builtin_tanh(x); }

template <class T>
inline T abs_(T x) { return x < T(0) ? -x : x; }
template <class T>
inline T sigmoid_(T x) { return T(1) / (T(1) + exp_(-x)); }
// clamp that lets NaN through (a NaN compares false both ways)
template <class T>
inline T clamp_(T v, T lo, T hi) { return v < lo ? lo : (v > hi ? hi : v); }
// sign with sign(0) = 0 and NaN kept
template <class T>
inline T sign_(T d) { return d > T(0) ? T(1) : (d < T(0) ? T(-1) : d); }

// The normal CDF. float32: erfc from Numerical Recipes' Chebyshev fit (fractional error < 1.2e-7,
// relative, so the far negative tail is accurate too); float64: libm's erfc.
inline float phi_(float x) {
  const float z = abs_(x) * 0.70710678118654752f;
  const float t = 1.0f / (1.0f + 0.5f * z);
  const float poly = -z * z - 1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (
      -0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (
      -0.82215223f + t * 0.17087277f))))))));
  const float half_erfc = 0.5f * t * fexp(poly);
  return x >= 0.0f ? 1.0f - half_erfc : (x != x ? x : half_erfc);
}
inline double phi_(double x) { return 0.5 * __builtin_erfc(-x * 0.70710678118654752440); }

// tanh(softplus(x)) = ((1 + e)^2 - 1) / ((1 + e)^2 + 1) with e = exp(x): one exp, one division; 1 for
// x > 20, where e^2 would overflow and the value is 1 to double precision.
template <class T>
inline T mish_t(T v) {
  const T e = exp_(v < T(20) ? v : T(20));
  const T n = e * (e + T(2));
  return v > T(20) ? T(1) : (v != v ? v : n / (n + T(2)));
}

constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <class T, class F>
inline void map1(const T* __restrict x, T* __restrict y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}
template <class T, class F>
inline void map2(const T* __restrict dy, const T* __restrict x, T* __restrict dx, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) dx[i] = f(dy[i], x[i]);
}

// y = f(x) for n elements, f picked by kind (a, b: its options, activation.h)
template <class T>
void forward_body(int kind, const T* x, T* y, int64_t n, T a, T b) {
  switch (kind) {
    case kRelu: return map1(x, y, n, [](T v) { return v < T(0) ? T(0) : v; });
    case kSigmoid: return map1(x, y, n, [](T v) { return sigmoid_(v); });
    case kTanh: return map1(x, y, n, [](T v) { return tanh_(v); });
    case kElu: {
      const T ab = a * b;
      return map1(x, y, n, [=](T v) { return v > T(0) ? b * v : ab * expm1_(v); });
    }
    case kSilu: return map1(x, y, n, [](T v) { return v * sigmoid_(v); });
    case kMish: return map1(x, y, n, [](T v) { return v * mish_t(v); });
    case kHardtanh: return map1(x, y, n, [=](T v) { return clamp_(v, a, b); });
    case kSoftsign: return map1(x, y, n, [](T v) { return v / (T(1) + abs_(v)); });
    case kSoftplus:
      return map1(x, y, n, [=](T v) {
        const T bv = v * a;
        return bv > b ? v : log1p_(exp_(bv)) / a;
      });
    case kHardsigmoid: return map1(x, y, n, [](T v) { return clamp_(v + T(3), T(0), T(6)) / T(6); });
    case kHardswish: return map1(x, y, n, [](T v) { return v * clamp_(v + T(3), T(0), T(6)) / T(6); });
    case kLeakyRelu: return map1(x, y, n, [=](T v) { return v > T(0) ? v : v * a; });
    case kGelu: return map1(x, y, n, [](T v) { return v * phi_(v); });
    case kGeluTanh:
      return map1(x, y, n, [](T v) {
        const T inner = T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v);
        return T(0.5) * v * (T(1) + tanh_(inner));
      });
    default: return;
  }
}

// dx = dy f'(x); the slopes at the kinks (and NaN) as PyTorch's kernels give them (ops/elementwise.py)
template <class T>
void backward_body(int kind, const T* dy, const T* x, T* dx, int64_t n, T a, T b) {
  switch (kind) {
    case kRelu: return map2(dy, x, dx, n, [](T g, T v) { return v > T(0) ? g : T(0); });
    case kSigmoid:
      return map2(dy, x, dx, n, [](T g, T v) {
        const T s = sigmoid_(v);
        return g * s * (T(1) - s);
      });
    case kTanh:
      return map2(dy, x, dx, n, [](T g, T v) {
        const T t = tanh_(v);
        return g * (T(1) - t * t);
      });
    case kElu: {
      const T ab = a * b;
      return map2(dy, x, dx, n, [=](T g, T v) { return v > T(0) ? g * b : g * (ab * exp_(v)); });
    }
    case kSilu:
      return map2(dy, x, dx, n, [](T g, T v) {
        const T s = sigmoid_(v);
        return g * (s * (T(1) + v * (T(1) - s)));
      });
    case kMish:
      return map2(dy, x, dx, n, [](T g, T v) {
        const T t = mish_t(v);
        return g * (t + v * sigmoid_(v) * (T(1) - t * t));
      });
    case kHardtanh: return map2(dy, x, dx, n, [=](T g, T v) { return (v > a && v < b) ? g : T(0); });
    case kSoftsign:
      return map2(dy, x, dx, n, [](T g, T v) {
        const T av = abs_(v), r = T(1) / (T(1) + av);
        return g * (r * (T(1) - av * r));
      });
    case kSoftplus:
      return map2(dy, x, dx, n, [=](T g, T v) {
        const T bv = v * a;
        return bv > b ? g : g * sigmoid_(bv);
      });
    case kHardsigmoid:
      return map2(dy, x, dx, n, [](T g, T v) { return (v > T(-3) && v < T(3)) ? g * T(1.0 / 6.0) : T(0); });
    case kHardswish:
      return map2(dy, x, dx, n, [](T g, T v) {
        return v <= T(-3) ? T(0) : (v >= T(3) ? g : g * (v / T(3) + T(0.5)));
      });
    case kLeakyRelu: return map2(dy, x, dx, n, [=](T g, T v) { return v > T(0) ? g : g * a; });
    case kGelu:
      return map2(dy, x, dx, n, [](T g, T v) {
        return g * (phi_(v) + v * (exp_(T(-0.5) * v * v) * T(kInvSqrt2Pi)));
      });
    case kGeluTanh:
      return map2(dy, x, dx, n, [](T g, T v) {
        const T k = T(kSqrt2OverPi);
        const T t = tanh_(k * (v + T(0.044715) * v * v * v));
        return g * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * (k * (T(1) + T(3 * 0.044715) * v * v)));
      });
    default: return;
  }
}

// PReLU over x viewed as (N, C, S), flat elements [i0, i1): y = x > 0 ? x : w[c] x
template <class T>
void prelu_forward_body(const T* x, const T* w, T* y, int64_t C, int64_t S, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1;) {
    const int64_t c = (i / S) % C, s0 = i % S;
    const int64_t len = (S - s0) < (i1 - i) ? (S - s0) : (i1 - i);
    const T wc = w[c];
    const T* __restrict xs = x + i;
    T* __restrict ys = y + i;
    for (int64_t k = 0; k < len; ++k) ys[k] = xs[k] > T(0) ? xs[k] : wc * xs[k];
    i += len;
  }
}

constexpr int kLanes = 16;

template <class T>
inline T combine(T* acc) {
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

// dx = x > 0 ? dy : w[c] dy (dx may be null); dw_part (C, or null) = per channel the sum of x dy where
// x <= 0 over [i0, i1), in memory order with kLanes lanes per run of one channel
template <class T>
void prelu_backward_body(const T* dy, const T* x, const T* w, T* dx, T* dw_part, int64_t C, int64_t S, int64_t i0,
                         int64_t i1) {
  if (dw_part)
    for (int64_t c = 0; c < C; ++c) dw_part[c] = T(0);
  if (S == 1 && dw_part) {  // (N, C): channels run along each row; accumulate a row at a time
    for (int64_t i = i0; i < i1;) {
      const int64_t c0 = i % C, len = (C - c0) < (i1 - i) ? (C - c0) : (i1 - i);
      const T* __restrict xs = x + i;
      const T* __restrict gs = dy + i;
      T* __restrict part = dw_part + c0;
      const T* __restrict ws = w + c0;
      if (dx) {
        T* __restrict ds = dx + i;
        for (int64_t k = 0; k < len; ++k) ds[k] = xs[k] > T(0) ? gs[k] : ws[k] * gs[k];
      }
      for (int64_t k = 0; k < len; ++k) {
        const T xm = xs[k] > T(0) ? T(0) : xs[k];
        part[k] += xm * gs[k];
      }
      i += len;
    }
    return;
  }
  for (int64_t i = i0; i < i1;) {
    const int64_t c = (i / S) % C, s0 = i % S;
    const int64_t len = (S - s0) < (i1 - i) ? (S - s0) : (i1 - i);
    const T wc = w[c];
    const T* __restrict xs = x + i;
    const T* __restrict gs = dy + i;
    if (dx) {
      T* __restrict ds = dx + i;
      for (int64_t k = 0; k < len; ++k) ds[k] = xs[k] > T(0) ? gs[k] : wc * gs[k];
    }
    if (dw_part) {
      T acc[kLanes] = {};
      int64_t k = 0;
      for (; k + kLanes <= len; k += kLanes)
        for (int l = 0; l < kLanes; ++l) {  // (min(x, 0) first: GCC 12 vectorised `acc += c ? 0 : x g` wrongly)
          const T xm = xs[k + l] > T(0) ? T(0) : xs[k + l];
          acc[l] += xm * gs[k + l];
        }
      T tail = 0;
      for (; k < len; ++k) tail += (xs[k] > T(0) ? T(0) : xs[k]) * gs[k];
      dw_part[c] += combine(acc) + tail;
    }
    i += len;
  }
}

// ---- pointwise losses ------------------------------------------------------------------------------

// Walks [i0, i1) in runs that stay within one row of `cols` (so a per-column weight is a contiguous
// run too) and within kLossBlock elements; calls run(i, j0, len).
template <class T, class R>
inline void walk(const LossArgs<T>& a, int64_t i0, int64_t i1, R run) {
  for (int64_t i = i0; i < i1;) {
    const int64_t j0 = i % a.cols;
    int64_t len = a.cols - j0;
    if (len > i1 - i) len = i1 - i;
    if (len > kLossBlock) len = kLossBlock;
    run(i, j0, len);
    i += len;
  }
}

// Calls body(has_pw, has_w) with compile-time flags for the weights present.
template <class T, class B>
inline void with_weights(const LossArgs<T>& a, B body) {
  using Y = std::true_type;
  using N = std::false_type;
  if (a.pos_weight && a.weight) body(Y{}, Y{});
  else if (a.pos_weight) body(Y{}, N{});
  else if (a.weight) body(N{}, Y{});
  else body(N{}, N{});
}

template <class T, class F>
double loss_forward_run(const LossArgs<T>& a, int64_t i0, int64_t i1, int reduce, F f) {
  alignas(64) T buf[kLossBlock];
  with_weights(a, [&](auto has_pw, auto has_w) {
    walk(a, i0, i1, [&](int64_t i, int64_t j0, int64_t len) {
      const T* __restrict x = a.x + i;
      const T* __restrict y = a.y + i;
      const T* __restrict pw = has_pw ? a.pos_weight + (a.pw_full ? i : j0) : nullptr;
      const T* __restrict w = has_w ? a.weight + (a.w_full ? i : j0) : nullptr;
      T* __restrict o = reduce ? buf + (i - i0) : a.out + i;
      for (int64_t k = 0; k < len; ++k) {
        T pwk = T(1), wk = T(1);
        if constexpr (decltype(has_pw)::value) pwk = pw[k];
        if constexpr (decltype(has_w)::value) wk = w[k];
        o[k] = f(x[k], y[k], pwk, wk);
      }
    });
  });
  if (!reduce) return 0.0;
  const int64_t n = i1 - i0;
  T acc[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += buf[k + l];
  T tail = 0;
  for (; k < n; ++k) tail += buf[k];
  return static_cast<double>(combine(acc)) + static_cast<double>(tail);
}

template <class T, class F>
void loss_backward_run(const LossArgs<T>& a, int64_t i0, int64_t i1, F f) {
  alignas(64) T sink[kLossBlock];  // the gradient nobody asked for
  with_weights(a, [&](auto has_pw, auto has_w) {
    walk(a, i0, i1, [&](int64_t i, int64_t j0, int64_t len) {
      const T* __restrict x = a.x + i;
      const T* __restrict y = a.y + i;
      const T* __restrict pw = has_pw ? a.pos_weight + (a.pw_full ? i : j0) : nullptr;
      const T* __restrict w = has_w ? a.weight + (a.w_full ? i : j0) : nullptr;
      T* __restrict gx = a.dx ? a.dx + i : sink;
      T* __restrict gy = a.dy ? a.dy + i : sink;
      const T sc = a.gscale;
      if (a.grad_full) {
        const T* __restrict g = a.grad + i;
        for (int64_t k = 0; k < len; ++k) {
          T pwk = T(1), wk = T(1);
          if constexpr (decltype(has_pw)::value) pwk = pw[k];
          if constexpr (decltype(has_w)::value) wk = w[k];
          f(x[k], y[k], pwk, wk, g[k] * sc, gx[k], gy[k]);
        }
      } else {
        const T g0 = a.grad[0] * sc;
        for (int64_t k = 0; k < len; ++k) {
          T pwk = T(1), wk = T(1);
          if constexpr (decltype(has_pw)::value) pwk = pw[k];
          if constexpr (decltype(has_w)::value) wk = w[k];
          f(x[k], y[k], pwk, wk, g0, gx[k], gy[k]);
        }
      }
    });
  });
}

template <class T>
double loss_forward_body(int kind, const LossArgs<T>& a, int64_t i0, int64_t i1, int reduce) {
  const T p = a.param;
  switch (kind) {
    case kBceWithLogits:
      return loss_forward_run(a, i0, i1, reduce, [](T x, T y, T pw, T w) {
        const T sp = (x < T(0) ? -x : T(0)) + log1p_(exp_(-abs_(x)));  // softplus(-x), stable
        return w * ((T(1) - y) * x + (T(1) + (pw - T(1)) * y) * sp);
      });
    case kBce:
      return loss_forward_run(a, i0, i1, reduce, [](T x, T y, T pw, T w) {
        T lx = log_(x), l1x = log1p_(-x);
        lx = lx < T(-100) ? T(-100) : lx;
        l1x = l1x < T(-100) ? T(-100) : l1x;
        return -(y * lx + (T(1) - y) * l1x) * w;
      });
    case kSmoothL1:  // beta = 0 falls to |d| - 0 (the quadratic piece is never taken)
      return loss_forward_run(a, i0, i1, reduce, [=](T x, T y, T, T) {
        const T d = x - y, ad = abs_(d);
        return ad < p ? T(0.5) * d * d / p : ad - T(0.5) * p;
      });
    case kHuber:
      return loss_forward_run(a, i0, i1, reduce, [=](T x, T y, T, T) {
        const T d = x - y, ad = abs_(d);
        return ad < p ? T(0.5) * d * d : p * (ad - T(0.5) * p);
      });
    case kKlDiv:
      return loss_forward_run(a, i0, i1, reduce, [](T x, T y, T, T) {
        const T ylogy = y == T(0) ? T(0) : y * log_(y);
        return ylogy - y * x;
      });
    case kKlDivLogTarget:
      return loss_forward_run(a, i0, i1, reduce, [](T x, T y, T, T) { return exp_(y) * (y - x); });
    case kMse:
      return loss_forward_run(a, i0, i1, reduce, [](T x, T y, T, T) {
        const T d = x - y;
        return d * d;
      });
    case kL1: return loss_forward_run(a, i0, i1, reduce, [](T x, T y, T, T) { return abs_(x - y); });
    default: return 0.0;
  }
}

template <class T>
void loss_backward_body(int kind, const LossArgs<T>& a, int64_t i0, int64_t i1) {
  const T p = a.param;
  switch (kind) {
    case kBceWithLogits:
      return loss_backward_run(a, i0, i1, [](T x, T y, T pw, T w, T g, T& gx, T& gy) {
        const T e = exp_(-abs_(x));
        const T sig = x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
        const T gw = g * w;
        gx = gw * ((T(1) - y) - (T(1) + (pw - T(1)) * y) * (T(1) - sig));
        gy = gw * (-x + (pw - T(1)) * ((x < T(0) ? -x : T(0)) + log1p_(e)));
      });
    case kBce:
      return loss_backward_run(a, i0, i1, [](T x, T y, T, T w, T g, T& gx, T& gy) {
        const T eps = T(1e-12f);
        const T q = (T(1) - x) * x;
        const T gw = g * w;
        gx = gw * (x - y) / (q < eps ? eps : q);
        gy = gw * (log1p_(-x) - log_(x));
      });
    case kSmoothL1:
      return loss_backward_run(a, i0, i1, [=](T x, T y, T, T, T g, T& gx, T& gy) {
        const T d = x - y;
        const T s = abs_(d) < p ? d / p : sign_(d);
        gx = g * s;
        gy = -(g * s);
      });
    case kHuber:
      return loss_backward_run(a, i0, i1, [=](T x, T y, T, T, T g, T& gx, T& gy) {
        const T d = x - y;
        const T s = abs_(d) < p ? d : p * sign_(d);
        gx = g * s;
        gy = -(g * s);
      });
    case kKlDiv:
      return loss_backward_run(a, i0, i1, [](T x, T y, T, T, T g, T& gx, T& gy) {
        gx = -y * g;
        gy = y == T(0) ? T(__builtin_nan("")) : (log_(y) + T(1) - x) * g;
      });
    case kKlDivLogTarget:
      return loss_backward_run(a, i0, i1, [](T x, T y, T, T, T g, T& gx, T& gy) {
        const T ey = exp_(y);
        gx = -ey * g;
        gy = ey * (y - x + T(1)) * g;
      });
    case kMse:
      return loss_backward_run(a, i0, i1, [](T x, T y, T, T, T g, T& gx, T& gy) {
        const T s = T(2) * (x - y) * g;
        gx = s;
        gy = -s;
      });
    case kL1:
      return loss_backward_run(a, i0, i1, [](T x, T y, T, T, T g, T& gx, T& gy) {
        const T d = x - y;  // torch's sign: 0 at NaN (so the gradient there is 0)
        const T s = (d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0))) * g;
        gx = s;
        gy = -s;
      });
    default: return;
  }
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->forward = &forward_body<T>;
  k->backward = &backward_body<T>;
  k->prelu_forward = &prelu_forward_body<T>;
  k->prelu_backward = &prelu_backward_body<T>;
  k->loss_forward = &loss_forward_body<T>;
  k->loss_backward = &loss_backward_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace activation
}  // namespace fe
