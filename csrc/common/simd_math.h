// Math shared by the per-ISA kernel files: Cephes' expf core, float32 exp/expm1/log/log1p/tanh as
// arithmetic (activation family), and the 8x8 / 4x4 register transposes.
// Everything is in an anonymous namespace: each <family>_isa.cpp gets its own copy compiled with its
// own level's flags, so no AVX code can be picked by the linker for a scalar caller.
#pragma once
#include <cstdint>

#include "common/isa.h"

namespace fe {
namespace {

// Cephes' expf: with x = n*ln2 + r (n = floor(x/ln2 + 1/2), r in [-ln2/2, ln2/2], computed by the
// caller from its clamped argument), exp(r) as this polynomial (about 1 ulp). The caller applies 2^n
// its own way (softmax underflows gradually; the gates clamp to one normal factor).
inline float expf_poly(float r) {
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * (r * r) + r + 1.0f;
}

// float32 exp, expm1, log, log1p and tanh as plain arithmetic (Cephes' polynomials), so loops that call
// them vectorise with each level's flags; special values (NaN, +-inf, 0, the overflow and underflow
// ranges) are selects at the end, which -fno-trapping-math lets the compiler if-convert. About 1-3 ulp.
// exp underflows gradually below -87.3 (2^n applied as two factors) and is 0 below -104.
inline float fexp(float x) {
  const float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  const float fx = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  const float poly = expf_poly(xc - fx * 0.693359375f + fx * 2.12194440e-4f);
  const int n = static_cast<int>(fx), n1 = n >> 1, n2 = n - n1;  // n in [-150, 129]: both halves in range
  const unsigned bits1 = static_cast<unsigned>(n1 + 127) << 23, bits2 = static_cast<unsigned>(n2 + 127) << 23;
  float scale1, scale2;
  __builtin_memcpy(&scale1, &bits1, sizeof scale1);
  __builtin_memcpy(&scale2, &bits2, sizeof scale2);
  const float y = (poly * scale1) * scale2;
  return x != x ? x : (x < -104.0f ? 0.0f : y);
}

// exp(x) - 1: a Taylor polynomial for |x| < 0.35 (relative error < 1e-9), exp(x) - 1 beyond (which loses
// at most a factor 3.4 of exp's relative error there).
inline float fexpm1(float x) {
  const float p = x * (1.0f + x * (0.5f + x * (1.66666667e-1f + x * (4.16666667e-2f + x * (8.33333333e-3f +
                  x * (1.38888889e-3f + x * (1.98412698e-4f + x * 2.48015873e-5f)))))));
  const float big = fexp(x) - 1.0f;
  return (x < 0.35f && x > -0.35f) ? p : big;
}

// log: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log(m) by Cephes' logf polynomial. Denormals are scaled
// into the normal range first; x < 0 gives NaN, 0 gives -inf, inf and NaN themselves.
inline float flog(float x) {
  const bool tiny = x < 1.17549435e-38f;
  const float xs = tiny ? x * 8388608.0f : x;
  unsigned bits;
  __builtin_memcpy(&bits, &xs, sizeof bits);
  float e = static_cast<float>(static_cast<int>((bits >> 23) & 0xffu) - 126) - (tiny ? 23.0f : 0.0f);
  bits = (bits & 0x007fffffu) | 0x3f000000u;  // m in [0.5, 1)
  float m;
  __builtin_memcpy(&m, &bits, sizeof m);
  const bool low = m < 0.707106781186547524f;
  e = low ? e - 1.0f : e;
  m = low ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float p = 7.0376836292e-2f;
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  float y = p * m * z;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  float r = m + y;
  r += 0.693359375f * e;
  const float inf = __builtin_inff();
  r = x == inf ? inf : r;
  r = x == 0.0f ? -inf : r;
  r = x < 0.0f ? __builtin_nanf("") : r;
  return x != x ? x : r;
}

// log(1 + u), accurate for small u: log(w) u / (w - 1) with w = 1 + u rounded (Goldberg's trick).
inline float flog1p(float u) {
  const float w = 1.0f + u;
  const float r = w == 1.0f ? u : flog(w) * (u / (w - 1.0f));
  return u == __builtin_inff() ? u : r;
}

// tanh: Cephes' odd polynomial for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) with x's sign beyond.
inline float ftanh(float x) {
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float ax = x < 0.0f ? -x : x;
  const float big = 1.0f - 2.0f / (fexp(2.0f * ax) + 1.0f);
  const float r = ax < 0.625f ? small : (x < 0.0f ? -big : big);
  return x != x ? x : r;
}

#ifdef __AVX__
// dst[c*ldd + r] (=, or += with add) src[r*lds + c] for an 8x8 block of floats: eight loads, a shuffle
// network and eight stores. Callers pass add as a constant where they can, so the branch folds away.
inline void transpose_8x8_ps(const float* src, int64_t lds, float* dst, int64_t ldd, int add) {
  __m256 r[8], t[8], u[8];
  for (int q = 0; q < 8; ++q) r[q] = _mm256_loadu_ps(src + q * lds);
  for (int q = 0; q < 8; q += 2) {
    t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
    t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
  }
  for (int q = 0; q < 8; q += 4) {
    u[q] = _mm256_shuffle_ps(t[q], t[q + 2], 0x44);
    u[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], 0xEE);
    u[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0x44);
    u[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
  }
  for (int q = 0; q < 4; ++q) {  // columns q and q+4 of the 8 rows
    __m256 lo = _mm256_permute2f128_ps(u[q], u[q + 4], 0x20), hi = _mm256_permute2f128_ps(u[q], u[q + 4], 0x31);
    if (add) {
      lo = _mm256_add_ps(_mm256_loadu_ps(dst + q * ldd), lo);
      hi = _mm256_add_ps(_mm256_loadu_ps(dst + (q + 4) * ldd), hi);
    }
    _mm256_storeu_ps(dst + q * ldd, lo);
    _mm256_storeu_ps(dst + (q + 4) * ldd, hi);
  }
}

// The same for a 4x4 block of doubles.
inline void transpose_4x4_pd(const double* src, int64_t lds, double* dst, int64_t ldd, int add) {
  const __m256d r0 = _mm256_loadu_pd(src), r1 = _mm256_loadu_pd(src + lds);
  const __m256d r2 = _mm256_loadu_pd(src + 2 * lds), r3 = _mm256_loadu_pd(src + 3 * lds);
  const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
  const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
  __m256d c[4] = {_mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
                  _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};
  for (int q = 0; q < 4; ++q) {
    if (add) c[q] = _mm256_add_pd(_mm256_loadu_pd(dst + q * ldd), c[q]);
    _mm256_storeu_pd(dst + q * ldd, c[q]);
  }
}
#endif

}  // namespace
}  // namespace fe
