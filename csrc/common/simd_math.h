// Math shared by the per-ISA kernel files: Cephes' expf core and the 8x8 / 4x4 register transposes.
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
