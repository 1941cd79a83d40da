// im2col / col2im loops, compiled once per ISA level (common/isa.h).
// Rows of the column matrix are (c, i, j) of the kernel window; columns are output positions.
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "common/prefetch.h"
#include "common/scratch.h"
#include "kernels/conv/conv.h"

#include <algorithm>

namespace fe {
namespace conv {
namespace {

// Rows of a column matrix are short (an output row: 28 or 10 values in LeNet-5). Plain loops would
// either become memcpy/memset calls (three library calls per 28-value row cost more than the copying:
// im2col ran at 5-10 GB/s) or a vector body plus up to 15 scalar iterations. The span helpers below
// copy, zero and add n contiguous values with full vectors and one masked vector for the rest (masked
// lanes are neither read nor written, so a span may end at the end of an array).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#if defined(__AVX512F__)
inline __mmask16 tail16(int64_t r) { return static_cast<__mmask16>((1u << r) - 1u); }
inline __mmask8 tail8(int64_t r) { return static_cast<__mmask8>((1u << r) - 1u); }
inline void copy_span(float* out, const float* in, int64_t n) {
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) _mm512_storeu_ps(out + k, _mm512_loadu_ps(in + k));
  if (k < n) _mm512_mask_storeu_ps(out + k, tail16(n - k), _mm512_maskz_loadu_ps(tail16(n - k), in + k));
}
inline void copy_span(double* out, const double* in, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) _mm512_storeu_pd(out + k, _mm512_loadu_pd(in + k));
  if (k < n) _mm512_mask_storeu_pd(out + k, tail8(n - k), _mm512_maskz_loadu_pd(tail8(n - k), in + k));
}
inline void zero_span(float* out, int64_t n) {
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) _mm512_storeu_ps(out + k, _mm512_setzero_ps());
  if (k < n) _mm512_mask_storeu_ps(out + k, tail16(n - k), _mm512_setzero_ps());
}
inline void zero_span(double* out, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) _mm512_storeu_pd(out + k, _mm512_setzero_pd());
  if (k < n) _mm512_mask_storeu_pd(out + k, tail8(n - k), _mm512_setzero_pd());
}
inline void add_span(float* out, const float* in, int64_t n) {
  int64_t k = 0;
  for (; k + 16 <= n; k += 16)
    _mm512_storeu_ps(out + k, _mm512_add_ps(_mm512_loadu_ps(out + k), _mm512_loadu_ps(in + k)));
  if (k < n) {
    const __mmask16 m = tail16(n - k);
    _mm512_mask_storeu_ps(out + k, m,
                          _mm512_add_ps(_mm512_maskz_loadu_ps(m, out + k), _mm512_maskz_loadu_ps(m, in + k)));
  }
}
inline void add_span(double* out, const double* in, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    _mm512_storeu_pd(out + k, _mm512_add_pd(_mm512_loadu_pd(out + k), _mm512_loadu_pd(in + k)));
  if (k < n) {
    const __mmask8 m = tail8(n - k);
    _mm512_mask_storeu_pd(out + k, m,
                          _mm512_add_pd(_mm512_maskz_loadu_pd(m, out + k), _mm512_maskz_loadu_pd(m, in + k)));
  }
}
// Stride 2 (ResNet's downsampling layers): out[k] = in[2k] for k < n, and its adjoint in[2k] += out[k],
// a vector of outputs from two vectors of inputs; reads and writes in[0 .. 2n-2] only (masked lanes
// are not touched), and the odd inputs are never written, so their values (and zeros' signs) stay.
// gather2_span may read up to in[avail - 1] (the rest of the input row): whole vectors while they fit,
// with no mask to compute (a 1x1 stride-2 layer's 16-value rows: one unmasked load pair each).
inline void gather2_span(float* out, const float* in, int64_t n, int64_t avail) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  int64_t k = 0;
  for (; k + 16 <= n && 2 * k + 32 <= avail; k += 16)
    _mm512_storeu_ps(out + k, _mm512_permutex2var_ps(_mm512_loadu_ps(in + 2 * k), even, _mm512_loadu_ps(in + 2 * k + 16)));
  for (; k < n; k += 16) {
    const int64_t m = n - k < 16 ? n - k : 16, reads = 2 * m - 1;
    const __m512 lo = _mm512_maskz_loadu_ps(reads >= 16 ? __mmask16(0xFFFF) : tail16(reads), in + 2 * k);
    const __m512 hi = _mm512_maskz_loadu_ps(reads > 16 ? tail16(reads - 16) : __mmask16(0), in + 2 * k + 16);
    _mm512_mask_storeu_ps(out + k, tail16(m), _mm512_permutex2var_ps(lo, even, hi));
  }
}
inline void gather2_span(double* out, const double* in, int64_t n, int64_t avail) {
  const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  int64_t k = 0;
  for (; k + 8 <= n && 2 * k + 16 <= avail; k += 8)
    _mm512_storeu_pd(out + k, _mm512_permutex2var_pd(_mm512_loadu_pd(in + 2 * k), even, _mm512_loadu_pd(in + 2 * k + 8)));
  for (; k < n; k += 8) {
    const int64_t m = n - k < 8 ? n - k : 8, reads = 2 * m - 1;
    const __m512d lo = _mm512_maskz_loadu_pd(reads >= 8 ? __mmask8(0xFF) : tail8(reads), in + 2 * k);
    const __m512d hi = _mm512_maskz_loadu_pd(reads > 8 ? tail8(reads - 8) : __mmask8(0), in + 2 * k + 8);
    _mm512_mask_storeu_pd(out + k, tail8(m), _mm512_permutex2var_pd(lo, even, hi));
  }
}
inline void scatter_add2_span(float* in, const float* out, int64_t n) {
  // lane 2j of the spread vectors holds out[k + j] (lo) or out[k + 8 + j] (hi); only even lanes are added
  const __m512i lo_idx = _mm512_setr_epi32(0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0);
  const __m512i hi_idx = _mm512_setr_epi32(8, 0, 9, 0, 10, 0, 11, 0, 12, 0, 13, 0, 14, 0, 15, 0);
  for (int64_t k = 0; k < n; k += 16) {
    const int64_t m = n - k < 16 ? n - k : 16, writes = 2 * m - 1;
    const __mmask16 mlo = (writes >= 16 ? __mmask16(0xFFFF) : tail16(writes)) & __mmask16(0x5555);
    const __mmask16 mhi = (writes > 16 ? tail16(writes - 16) : __mmask16(0)) & __mmask16(0x5555);
    const __m512 v = _mm512_maskz_loadu_ps(tail16(m), out + k);
    float* p = in + 2 * k;
    _mm512_mask_storeu_ps(p, mlo, _mm512_add_ps(_mm512_maskz_loadu_ps(mlo, p), _mm512_permutexvar_ps(lo_idx, v)));
    _mm512_mask_storeu_ps(p + 16, mhi,
                          _mm512_add_ps(_mm512_maskz_loadu_ps(mhi, p + 16), _mm512_permutexvar_ps(hi_idx, v)));
  }
}
inline void scatter_add2_span(double* in, const double* out, int64_t n) {
  const __m512i lo_idx = _mm512_setr_epi64(0, 0, 1, 0, 2, 0, 3, 0);
  const __m512i hi_idx = _mm512_setr_epi64(4, 0, 5, 0, 6, 0, 7, 0);
  for (int64_t k = 0; k < n; k += 8) {
    const int64_t m = n - k < 8 ? n - k : 8, writes = 2 * m - 1;
    const __mmask8 mlo = (writes >= 8 ? __mmask8(0xFF) : tail8(writes)) & __mmask8(0x55);
    const __mmask8 mhi = (writes > 8 ? tail8(writes - 8) : __mmask8(0)) & __mmask8(0x55);
    const __m512d v = _mm512_maskz_loadu_pd(tail8(m), out + k);
    double* p = in + 2 * k;
    _mm512_mask_storeu_pd(p, mlo, _mm512_add_pd(_mm512_maskz_loadu_pd(mlo, p), _mm512_permutexvar_pd(lo_idx, v)));
    _mm512_mask_storeu_pd(p + 8, mhi,
                          _mm512_add_pd(_mm512_maskz_loadu_pd(mhi, p + 8), _mm512_permutexvar_pd(hi_idx, v)));
  }
}
// out[2k] = in[k], out[2k + 1] = 0 for 2k + 1 < w (the row of a stride-2 1x1 layer's dx): w is 2n or 2n - 1
inline void expand2_span(float* out, const float* in, int64_t n, int64_t w) {
  const __m512i lo_idx = _mm512_setr_epi32(0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0);
  const __m512i hi_idx = _mm512_setr_epi32(8, 0, 9, 0, 10, 0, 11, 0, 12, 0, 13, 0, 14, 0, 15, 0);
  int64_t k = 0;
  for (; k + 16 <= n && 2 * k + 32 <= w; k += 16) {
    const __m512 v = _mm512_loadu_ps(in + k);
    _mm512_storeu_ps(out + 2 * k, _mm512_maskz_permutexvar_ps(0x5555, lo_idx, v));
    _mm512_storeu_ps(out + 2 * k + 16, _mm512_maskz_permutexvar_ps(0x5555, hi_idx, v));
  }
  for (; k < n; k += 16) {
    const int64_t m = n - k < 16 ? n - k : 16, left = w - 2 * k;
    const __m512 v = _mm512_maskz_loadu_ps(tail16(m), in + k);
    _mm512_mask_storeu_ps(out + 2 * k, left >= 16 ? __mmask16(0xFFFF) : tail16(left),
                          _mm512_maskz_permutexvar_ps(0x5555, lo_idx, v));
    if (left > 16)
      _mm512_mask_storeu_ps(out + 2 * k + 16, left >= 32 ? __mmask16(0xFFFF) : tail16(left - 16),
                            _mm512_maskz_permutexvar_ps(0x5555, hi_idx, v));
  }
}
inline void expand2_span(double* out, const double* in, int64_t n, int64_t w) {
  const __m512i lo_idx = _mm512_setr_epi64(0, 0, 1, 0, 2, 0, 3, 0);
  const __m512i hi_idx = _mm512_setr_epi64(4, 0, 5, 0, 6, 0, 7, 0);
  int64_t k = 0;
  for (; k + 8 <= n && 2 * k + 16 <= w; k += 8) {
    const __m512d v = _mm512_loadu_pd(in + k);
    _mm512_storeu_pd(out + 2 * k, _mm512_maskz_permutexvar_pd(0x55, lo_idx, v));
    _mm512_storeu_pd(out + 2 * k + 8, _mm512_maskz_permutexvar_pd(0x55, hi_idx, v));
  }
  for (; k < n; k += 8) {
    const int64_t m = n - k < 8 ? n - k : 8, left = w - 2 * k;
    const __m512d v = _mm512_maskz_loadu_pd(tail8(m), in + k);
    _mm512_mask_storeu_pd(out + 2 * k, left >= 8 ? __mmask8(0xFF) : tail8(left),
                          _mm512_maskz_permutexvar_pd(0x55, lo_idx, v));
    if (left > 8)
      _mm512_mask_storeu_pd(out + 2 * k + 8, left >= 16 ? __mmask8(0xFF) : tail8(left - 8),
                            _mm512_maskz_permutexvar_pd(0x55, hi_idx, v));
  }
}
// Two gather2_spans in one pass: even[k] = in[2k] (k < ne), odd[k] = in[2k + 1] (k < no), with no = ne or
// ne - 1; reads in[0 .. ne + no - 1] only.
inline void deinterleave2_span(float* even, float* odd, const float* in, int64_t ne, int64_t no) {
  const __m512i e_idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i o_idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const int64_t n = ne + no;
  for (int64_t k = 0; k < ne; k += 16) {
    const int64_t me = ne - k < 16 ? ne - k : 16, mo = no - k < 0 ? 0 : (no - k < 16 ? no - k : 16);
    const int64_t r = n - 2 * k;  // inputs left from in + 2k
    const __m512 lo = _mm512_maskz_loadu_ps(r >= 16 ? __mmask16(0xFFFF) : tail16(r), in + 2 * k);
    const __m512 hi = _mm512_maskz_loadu_ps(r >= 32 ? __mmask16(0xFFFF) : r > 16 ? tail16(r - 16) : __mmask16(0),
                                            in + 2 * k + 16);
    _mm512_mask_storeu_ps(even + k, tail16(me), _mm512_permutex2var_ps(lo, e_idx, hi));
    _mm512_mask_storeu_ps(odd + k, tail16(mo), _mm512_permutex2var_ps(lo, o_idx, hi));
  }
}
inline void deinterleave2_span(double* even, double* odd, const double* in, int64_t ne, int64_t no) {
  const __m512i e_idx = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  const __m512i o_idx = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
  const int64_t n = ne + no;
  for (int64_t k = 0; k < ne; k += 8) {
    const int64_t me = ne - k < 8 ? ne - k : 8, mo = no - k < 0 ? 0 : (no - k < 8 ? no - k : 8);
    const int64_t r = n - 2 * k;
    const __m512d lo = _mm512_maskz_loadu_pd(r >= 8 ? __mmask8(0xFF) : tail8(r), in + 2 * k);
    const __m512d hi = _mm512_maskz_loadu_pd(r >= 16 ? __mmask8(0xFF) : r > 8 ? tail8(r - 8) : __mmask8(0),
                                             in + 2 * k + 8);
    _mm512_mask_storeu_pd(even + k, tail8(me), _mm512_permutex2var_pd(lo, e_idx, hi));
    _mm512_mask_storeu_pd(odd + k, tail8(mo), _mm512_permutex2var_pd(lo, o_idx, hi));
  }
}
// The inverse of two gather2_spans: out[2k] = even[k] (k < ne) and out[2k + 1] = odd[k] (k < no), with
// no = ne or ne - 1; writes out[0 .. ne + no - 1] only.
inline void interleave2_span(float* out, const float* even, const float* odd, int64_t ne, int64_t no) {
  const __m512i lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const int64_t n = ne + no;
  for (int64_t k = 0; k < ne; k += 16) {
    const int64_t me = ne - k < 16 ? ne - k : 16, mo = no - k < 0 ? 0 : (no - k < 16 ? no - k : 16);
    const __m512 e = _mm512_maskz_loadu_ps(tail16(me), even + k), o = _mm512_maskz_loadu_ps(tail16(mo), odd + k);
    const int64_t w = n - 2 * k;  // outputs left from out + 2k
    _mm512_mask_storeu_ps(out + 2 * k, w >= 16 ? __mmask16(0xFFFF) : tail16(w), _mm512_permutex2var_ps(e, lo_idx, o));
    if (w > 16)
      _mm512_mask_storeu_ps(out + 2 * k + 16, w >= 32 ? __mmask16(0xFFFF) : tail16(w - 16),
                            _mm512_permutex2var_ps(e, hi_idx, o));
  }
}
inline void interleave2_span(double* out, const double* even, const double* odd, int64_t ne, int64_t no) {
  const __m512i lo_idx = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
  const __m512i hi_idx = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
  const int64_t n = ne + no;
  for (int64_t k = 0; k < ne; k += 8) {
    const int64_t me = ne - k < 8 ? ne - k : 8, mo = no - k < 0 ? 0 : (no - k < 8 ? no - k : 8);
    const __m512d e = _mm512_maskz_loadu_pd(tail8(me), even + k), o = _mm512_maskz_loadu_pd(tail8(mo), odd + k);
    const int64_t w = n - 2 * k;
    _mm512_mask_storeu_pd(out + 2 * k, w >= 8 ? __mmask8(0xFF) : tail8(w), _mm512_permutex2var_pd(e, lo_idx, o));
    if (w > 8)
      _mm512_mask_storeu_pd(out + 2 * k + 8, w >= 16 ? __mmask8(0xFF) : tail8(w - 8),
                            _mm512_permutex2var_pd(e, hi_idx, o));
  }
}
#elif defined(__AVX2__)
inline __m256i tail_mask32(int64_t r) {  // lanes < r of 8 int32 lanes set
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(r)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i tail_mask64(int64_t r) {  // lanes < r of 4 int64 lanes set
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(r), _mm256_setr_epi64x(0, 1, 2, 3));
}
inline void copy_span(float* out, const float* in, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) _mm256_storeu_ps(out + k, _mm256_loadu_ps(in + k));
  if (k < n) {
    const __m256i m = tail_mask32(n - k);
    _mm256_maskstore_ps(out + k, m, _mm256_maskload_ps(in + k, m));
  }
}
inline void copy_span(double* out, const double* in, int64_t n) {
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) _mm256_storeu_pd(out + k, _mm256_loadu_pd(in + k));
  if (k < n) {
    const __m256i m = tail_mask64(n - k);
    _mm256_maskstore_pd(out + k, m, _mm256_maskload_pd(in + k, m));
  }
}
inline void zero_span(float* out, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) _mm256_storeu_ps(out + k, _mm256_setzero_ps());
  if (k < n) _mm256_maskstore_ps(out + k, tail_mask32(n - k), _mm256_setzero_ps());
}
inline void zero_span(double* out, int64_t n) {
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) _mm256_storeu_pd(out + k, _mm256_setzero_pd());
  if (k < n) _mm256_maskstore_pd(out + k, tail_mask64(n - k), _mm256_setzero_pd());
}
inline void add_span(float* out, const float* in, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    _mm256_storeu_ps(out + k, _mm256_add_ps(_mm256_loadu_ps(out + k), _mm256_loadu_ps(in + k)));
  if (k < n) {
    const __m256i m = tail_mask32(n - k);
    _mm256_maskstore_ps(out + k, m, _mm256_add_ps(_mm256_maskload_ps(out + k, m), _mm256_maskload_ps(in + k, m)));
  }
}
inline void add_span(double* out, const double* in, int64_t n) {
  int64_t k = 0;
  for (; k + 4 <= n; k += 4)
    _mm256_storeu_pd(out + k, _mm256_add_pd(_mm256_loadu_pd(out + k), _mm256_loadu_pd(in + k)));
  if (k < n) {
    const __m256i m = tail_mask64(n - k);
    _mm256_maskstore_pd(out + k, m, _mm256_add_pd(_mm256_maskload_pd(out + k, m), _mm256_maskload_pd(in + k, m)));
  }
}
#else
template <class T>
inline void copy_span(T* out, const T* in, int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = in[k];
}
template <class T>
inline void zero_span(T* out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = T(0);
}
template <class T>
inline void add_span(T* out, const T* in, int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] += in[k];
}
#endif

// Output rows [r0, r1) of the column matrix: col (C*kh*kw, (r1-r0)*OW) with row stride ldc; column
// (oh - r0)*OW + ow is output position (oh, ow). A tile of output rows keeps the columns in cache.
#if !defined(__AVX512F__)
template <class T>
inline void gather2_span(T* out, const T* in, int64_t n, int64_t) {
  for (int64_t k = 0; k < n; ++k) out[k] = in[2 * k];
}
template <class T>
inline void scatter_add2_span(T* in, const T* out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) in[2 * k] += out[k];
}
template <class T>
inline void expand2_span(T* out, const T* in, int64_t n, int64_t w) {
  for (int64_t k = 0; k < n; ++k) {
    out[2 * k] = in[k];
    if (2 * k + 1 < w) out[2 * k + 1] = T(0);
  }
}
template <class T>
inline void interleave2_span(T* out, const T* even, const T* odd, int64_t ne, int64_t no) {
  for (int64_t k = 0; k < no; ++k) {
    out[2 * k] = even[k];
    out[2 * k + 1] = odd[k];
  }
  if (ne > no) out[2 * no] = even[no];
}
template <class T>
inline void deinterleave2_span(T* even, T* odd, const T* in, int64_t ne, int64_t no) {
  for (int64_t k = 0; k < no; ++k) {
    even[k] = in[2 * k];
    odd[k] = in[2 * k + 1];
  }
  if (ne > no) even[no] = in[2 * no];
}
#endif

// Stride 2 in both axes (ResNet's 3x3 downsampling layers), no dilation: the input plane's four phases
// x[2u + a][2v + b] (a, b in {0, 1}) are themselves planes, and window tap (i, j) reads one of them at
// stride 1: phase ((i - ph) mod 2, (j - pw) mod 2), shifted by (floor((i - ph) / 2), floor((j - pw) / 2)).
// So im2col de-interleaves each channel's rows once into a thread's buffer, and every tap's column row is
// then a shifted copy, for an output row as long as a phase row (even W) one contiguous block for the
// whole tile. The per-row stride-2 gathers took 28 % of the ResNet 64 -> 128 3x3 stride-2 forward,
// their per-row set-up more than the copying (16 outputs a row); one core, that layer's forward, data
// and weight gradients are now 1.16x, 1.04x and 1.10x as fast (medians of 8 alternated rounds). col2im
// is the same in reverse: the rows of dx de-interleaved, each tap's columns added to its phase, the
// phases interleaved back, which adds every value in the order the per-row scatter did (the same bits).
inline int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((1 - v) / 2); }

struct Phases {
  int64_t Wp;      // a phase row's stride: ceil(W / 2) (the odd phase of an odd W has one value less)
  int64_t u0, u1;  // the phase rows the tile's taps read: [u0, u1) of each phase
  Phases(const Geometry& g, int64_t r0, int64_t r1) {
    Wp = (g.W + 1) / 2;
    u0 = std::max<int64_t>(0, r0 + floor_div2(-g.ph));
    u1 = std::min<int64_t>((g.H + 1) / 2, r1 + floor_div2(g.kh - 1 - g.ph));
    if (u1 < u0) u1 = u0;
  }
  int64_t plane() const { return (u1 - u0) * Wp; }  // one phase's rows in the buffer
  // the input plane's rows those phase rows come from, [2 u0, min(H, 2 u1)): their elements from 2 u0 * W
  // (none when an odd H's last phase row is all the tile reads)
  int64_t first_row() const { return 2 * u0; }
  int64_t row_elements(const Geometry& g) const {
    return std::max<int64_t>(0, std::min<int64_t>(g.H, 2 * u1) - 2 * u0) * g.W;
  }
};

inline bool phase_path(const Geometry& g) {
  return g.sh == 2 && g.sw == 2 && g.dh == 1 && g.dw == 1 && g.kh >= 2 && g.kw >= 2;
}

// Channel plane x (H, W) -> the phase rows [u0, u1) in buf: phase (a, b) at buf + (2a + b) * plane, row u
// at (u - u0) * Wp. Rows past the plane (odd H) and the odd phase's last column (odd W) are zeros.
template <class T>
void deinterleave_rows(const T* x, const Geometry& g, const Phases& ph, T* buf) {
  const int64_t P = ph.plane(), ne = ph.Wp, no = g.W / 2;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t u = ph.u0; u < ph.u1; ++u) {
      T* even = buf + 2 * a * P + (u - ph.u0) * ph.Wp;
      T* odd = even + P;
      const int64_t h = 2 * u + a;
      if (h >= g.H) {
        zero_span(even, ne);
        zero_span(odd, ne);
        continue;
      }
      deinterleave2_span(even, odd, x + h * g.W, ne, no);
      if (no < ne) odd[no] = T(0);
    }
}

// Where tap (i, j) reads: phase (a, b) shifted by (di, dj); the output rows [oh0, oh1) (inside the
// tile's [r0, r1)) and columns [lo, hi) whose reads fall inside the phase (the others read padding).
struct Tap {
  int64_t phase, di, dj, oh0, oh1, lo, hi;
  Tap(const Geometry& g, int64_t i, int64_t j, int64_t r0, int64_t r1) {
    const int64_t a = (i - g.ph) & 1, b = (j - g.pw) & 1;
    phase = 2 * a + b;
    di = floor_div2(i - g.ph);
    dj = floor_div2(j - g.pw);
    // this phase is (H - a + 1) / 2 rows by (W - b + 1) / 2 columns, read at stride 1 from (di, dj)
    valid_span(di, 1, (g.H - a + 1) / 2, g.OH, &oh0, &oh1);
    oh0 = std::min(std::max(oh0, r0), r1);
    oh1 = std::min(std::max(oh1, oh0), r1);
    valid_span(dj, 1, (g.W - b + 1) / 2, g.OW, &lo, &hi);
  }
};

// Where output (oh, ow) of tap t reads in the buffer deinterleave_rows filled: origin + oh*Wp + ow.
inline int64_t tap_origin(const Phases& ph, const Tap& t) {
  return t.phase * ph.plane() + (t.di - ph.u0) * ph.Wp + t.dj;
}

template <class T>
void im2col_rows_phases(const T* x, const Geometry& g, int64_t r0, int64_t r1, T* col, int64_t ldc) {
  const Phases ph(g, r0, r1);
  const int64_t P = ph.plane(), n = (r1 - r0) * g.OW;
  T* buf = thread_buffer<T>(2, 4 * P);
  const int64_t h0 = ph.first_row(), span = ph.row_elements(g);
  for (int64_t c = 0; c < g.C; ++c) {
    if (c + 1 < g.C && span > 0)  // the next channel's rows, fetched while this channel's taps are copied
      prefetch_span(x + ((c + 1) * g.H + h0) * g.W, span);
    deinterleave_rows(x + c * g.H * g.W, g, ph, buf);
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const Tap t(g, i, j, r0, r1);
        T* row = col + ((c * g.kh + i) * g.kw + j) * ldc;  // output row oh at row + (oh - r0)*OW
        const T* src = buf + tap_origin(ph, t);  // (oh, ow) at src + oh*Wp + ow
        zero_span(row, (t.oh0 - r0) * g.OW);
        zero_span(row + (t.oh1 - r0) * g.OW, n - (t.oh1 - r0) * g.OW);
        if (t.oh0 >= t.oh1) continue;
        if (t.lo >= t.hi) {
          zero_span(row + (t.oh0 - r0) * g.OW, (t.oh1 - t.oh0) * g.OW);
          continue;
        }
        if (ph.Wp == g.OW) {
          // phase rows as long as output rows: one block, then the padding columns' zeros row by row
          copy_span(row + (t.oh0 - r0) * g.OW + t.lo, src + t.oh0 * ph.Wp + t.lo,
                    (t.oh1 - t.oh0 - 1) * g.OW + t.hi - t.lo);
          if (t.lo > 0 || t.hi < g.OW)
            for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
              zero_span(row + (oh - r0) * g.OW, t.lo);
              zero_span(row + (oh - r0) * g.OW + t.hi, g.OW - t.hi);
            }
          continue;
        }
        for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
          T* out = row + (oh - r0) * g.OW;
          zero_span(out, t.lo);
          copy_span(out + t.lo, src + oh * ph.Wp + t.lo, t.hi - t.lo);
          zero_span(out + t.hi, g.OW - t.hi);
        }
      }
  }
}

template <class T>
void col2im_rows_add_phases(const T* col, const Geometry& g, int64_t r0, int64_t r1, T* dx, int64_t ldc) {
  const Phases ph(g, r0, r1);
  const int64_t P = ph.plane(), no = g.W / 2;
  T* buf = thread_buffer<T>(2, 4 * P);
  const int64_t h0 = ph.first_row(), span = ph.row_elements(g);
  for (int64_t c = 0; c < g.C; ++c) {
    T* dc = dx + c * g.H * g.W;
    if (c + 1 < g.C && span > 0)  // the next channel's rows of dx, read and written back after this channel's
      prefetch_span(dx + ((c + 1) * g.H + h0) * g.W, span);
    deinterleave_rows(dc, g, ph, buf);
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const Tap t(g, i, j, r0, r1);
        if (t.oh0 >= t.oh1 || t.lo >= t.hi) continue;
        const T* row = col + ((c * g.kh + i) * g.kw + j) * ldc;
        T* dst = buf + tap_origin(ph, t);
        if (ph.Wp == g.OW && t.lo == 0 && t.hi == g.OW) {  // whole rows: one block
          add_span(dst + t.oh0 * ph.Wp, row + (t.oh0 - r0) * g.OW, (t.oh1 - t.oh0) * g.OW);
          continue;
        }
        for (int64_t oh = t.oh0; oh < t.oh1; ++oh)
          add_span(dst + oh * ph.Wp + t.lo, row + (oh - r0) * g.OW + t.lo, t.hi - t.lo);
      }
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t u = ph.u0; u < ph.u1 && 2 * u + a < g.H; ++u) {
        const T* even = buf + 2 * a * P + (u - ph.u0) * ph.Wp;
        interleave2_span(dc + (2 * u + a) * g.W, even, even + P, ph.Wp, no);
      }
  }
}

// The input rows [h0, h1) of a plane that output rows [r0, r1) read (the per-row path; empty when they
// all fall in the padding).
inline void input_rows(const Geometry& g, int64_t r0, int64_t r1, int64_t* h0, int64_t* h1) {
  *h0 = std::max<int64_t>(0, r0 * g.sh - g.ph);
  *h1 = std::min<int64_t>(g.H, (r1 - 1) * g.sh - g.ph + (g.kh - 1) * g.dh + 1);
}

// 1x1 windows, no padding, strided (conv.h's strided_pointwise): column row c is channel c's rows r0*sh,
// (r0+1)*sh, ... read at column stride sw, no zeros anywhere. The general loop's per-row
// set-up (padding spans, two empty zero fills) cost ~20 cycles for each 16-value row; here a row is its
// copy alone, and only the rows read are prefetched, a few channels ahead (the odd rows of a stride-2
// layer are never read).
template <class T>
void im2col_rows_pointwise(const T* x, const Geometry& g, int64_t r0, int64_t r1, T* col, int64_t ldc) {
  const int64_t rs = g.sh * g.W, plane = g.H * g.W, n = r1 - r0;
  constexpr int64_t kAhead = 4;
  auto fetch = [&](int64_t c) {
    const T* in = x + c * plane + r0 * rs;
    for (int64_t r = 0; r < n; ++r) prefetch_span(in + r * rs, (g.OW - 1) * g.sw + 1);
  };
  for (int64_t c = 0; c < kAhead && c < g.C; ++c) fetch(c);
  for (int64_t c = 0; c < g.C; ++c) {
    if (c + kAhead < g.C) fetch(c + kAhead);
    const T* in = x + c * plane + r0 * rs;
    T* out = col + c * ldc;
    if (g.sw == 1)
      for (int64_t r = 0; r < n; ++r, in += rs, out += g.OW) copy_span(out, in, g.OW);
    else if (g.sw == 2)
      for (int64_t r = 0; r < n; ++r, in += rs, out += g.OW) gather2_span(out, in, g.OW, g.W);
    else
      for (int64_t r = 0; r < n; ++r, in += rs, out += g.OW)
        for (int64_t ow = 0; ow < g.OW; ++ow) out[ow] = in[ow * g.sw];
  }
}

// dx's rows of output rows [r0, r1) for a strided 1x1 layer (Kernels::col2im_rows_pointwise): each row
// written once, the values where the windows read and zeros between, with no fill before.
template <class T>
void col2im_rows_pointwise_body(const T* col, const Geometry& g, int64_t r0, int64_t r1, T* dx, int64_t ldc) {
  const int64_t h0 = std::min(g.H, r0 * g.sh), h1 = r1 >= g.OH ? g.H : std::min(g.H, r1 * g.sh);
  const int64_t plane = g.H * g.W;
  for (int64_t c = 0; c < g.C; ++c) {
    const T* src = col + c * ldc;
    T* dc = dx + c * plane;
    for (int64_t h = h0; h < h1; ++h) {
      T* out = dc + h * g.W;
      const int64_t oh = h / g.sh;
      if (h % g.sh != 0 || oh >= r1) {  // a row no window reads
        zero_span(out, g.W);
        continue;
      }
      const T* in = src + (oh - r0) * g.OW;
      if (g.sw == 1) {
        copy_span(out, in, g.OW);
        zero_span(out + g.OW, g.W - g.OW);
      } else if (g.sw == 2) {
        const int64_t w = std::min(g.W, 2 * g.OW);  // 2 OW - 1 at an odd W: no zero after the last value
        expand2_span(out, in, g.OW, w);
        zero_span(out + w, g.W - w);
      } else {
        zero_span(out, g.W);
        for (int64_t ow = 0; ow < g.OW; ++ow) out[ow * g.sw] = in[ow];
      }
    }
  }
}

template <class T>
void im2col_rows_body(const T* x, const Geometry& g, int64_t r0, int64_t r1, T* col, int64_t ldc) {
  if (phase_path(g)) {
    im2col_rows_phases(x, g, r0, r1, col, ldc);
    return;
  }
  if (strided_pointwise(g)) {
    im2col_rows_pointwise(x, g, r0, r1, col, ldc);
    return;
  }
  const int64_t n = (r1 - r0) * g.OW;
  int64_t h0, h1;
  input_rows(g, r0, r1, &h0, &h1);
  for (int64_t c = 0; c < g.C; ++c) {
    if (c + 1 < g.C && h0 < h1)  // the next channel's rows, fetched while this channel's are copied
      prefetch_span(x + ((c + 1) * g.H + h0) * g.W, (h1 - h0) * g.W);
    for (int64_t i = 0; i < g.kh; ++i) {
      // the output rows oh in [oh0, oh1) read an input row inside [0, H); the others are padding
      int64_t oh0, oh1;
      valid_span(i * g.dh - g.ph, g.sh, g.H, g.OH, &oh0, &oh1);
      oh0 = std::min(std::max(oh0, r0), r1);
      oh1 = std::min(std::max(oh1, oh0), r1);
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * ldc;  // output row oh at row + (oh - r0)*OW
        const int64_t w0 = j * g.dw - g.pw;
        int64_t lo, hi;
        valid_span(w0, g.sw, g.W, g.OW, &lo, &hi);
        zero_span(row, (oh0 - r0) * g.OW);
        zero_span(row + (oh1 - r0) * g.OW, n - (oh1 - r0) * g.OW);
        if (g.sw == 1 && g.sh == 1 && g.OW == g.W && oh0 < oh1 && lo < hi) {
          // "Same" padding at stride 1: output rows and input rows have one length, so the window's
          // rows [oh0, oh1) are one contiguous copy of the plane at a fixed offset; the columns that
          // fall in the padding (ow < lo, ow >= hi) then get their zeros back, row by row.
          const int64_t h0 = oh0 + i * g.dh - g.ph;  // the input row output row oh0 reads
          copy_span(row + (oh0 - r0) * g.OW + lo, x + (c * g.H + h0) * g.W + w0 + lo,
                    (oh1 - oh0 - 1) * g.OW + hi - lo);
          if (lo > 0 || hi < g.OW)
            for (int64_t oh = oh0; oh < oh1; ++oh) {
              zero_span(row + (oh - r0) * g.OW, lo);
              zero_span(row + (oh - r0) * g.OW + hi, g.OW - hi);
            }
          continue;
        }
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          const int64_t h = oh * g.sh - g.ph + i * g.dh;
          T* out = row + (oh - r0) * g.OW;
          const T* in = x + (c * g.H + h) * g.W;
          zero_span(out, lo);
          if (g.sw == 1) {
            if (lo < hi) copy_span(out + lo, in + (w0 + lo), hi - lo);  // (no pointer past the row)
          } else if (g.sw == 2) {
            if (lo < hi) gather2_span(out + lo, in + (w0 + 2 * lo), hi - lo, g.W - (w0 + 2 * lo));
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) out[ow] = in[w0 + ow * g.sw];
          }
          zero_span(out + hi, g.OW - hi);
        }
      }
    }
  }
}

template <class T>
void im2col_body(const T* x, const Geometry& g, T* col, int64_t ldc) {
  im2col_rows_body(x, g, 0, g.OH, col, ldc);
}

// dx += the columns of output rows [r0, r1) (laid out as im2col_rows writes them) scattered back.
template <class T>
void col2im_rows_add_body(const T* col, const Geometry& g, int64_t r0, int64_t r1, T* dx, int64_t ldc) {
  if (phase_path(g)) {
    col2im_rows_add_phases(col, g, r0, r1, dx, ldc);
    return;
  }
  int64_t h0, h1;
  input_rows(g, r0, r1, &h0, &h1);
  for (int64_t c = 0; c < g.C; ++c) {
    if (c + 1 < g.C && h0 < h1)  // the next channel's rows of dx, added to after this channel's
      prefetch_span(dx + ((c + 1) * g.H + h0) * g.W, (h1 - h0) * g.W);
    for (int64_t i = 0; i < g.kh; ++i) {
      int64_t oh0, oh1;
      valid_span(i * g.dh - g.ph, g.sh, g.H, g.OH, &oh0, &oh1);
      oh0 = std::min(std::max(oh0, r0), r1);
      oh1 = std::min(std::max(oh1, oh0), r1);
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* row = col + ((c * g.kh + i) * g.kw + j) * ldc;
        const int64_t w0 = j * g.dw - g.pw;
        int64_t lo, hi;
        valid_span(w0, g.sw, g.W, g.OW, &lo, &hi);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          const int64_t h = oh * g.sh - g.ph + i * g.dh;
          T* out = dx + (c * g.H + h) * g.W;
          const T* in = row + (oh - r0) * g.OW;
          if (g.sw == 1 && lo < hi)
            add_span(out + (w0 + lo), in + lo, hi - lo);
          else if (g.sw == 2 && lo < hi)
            scatter_add2_span(out + (w0 + 2 * lo), in + lo, hi - lo);
          else if (g.sw != 1)
            for (int64_t ow = lo; ow < hi; ++ow) out[w0 + ow * g.sw] += in[ow];
        }
      }
    }
  }
}

template <class T>
void col2im_body(const T* col, const Geometry& g, T* dx, int64_t ldc) {
  if (strided_pointwise(g)) {
    col2im_rows_pointwise_body(col, g, 0, g.OH, dx, ldc);
    return;
  }
  zero_span(dx, g.C * g.H * g.W);  // dx is overwritten: inputs no window reads get 0
  col2im_rows_add_body(col, g, 0, g.OH, dx, ldc);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

// Lanes of partial sums: two 64-byte vectors' worth, so any level's vectors divide them and the
// compiler keeps them in registers (lane j takes the values k with k % kLanes == j of each plane, the
// plane's last hw % kLanes values go to lanes 0, 1, ..); then a fixed pairwise tree over the lanes.
template <class T, bool Mask, bool Store>
T bias_grad_channel_t(const T* dy, const T* y, T* out, int64_t N, int64_t hw, int64_t stride) {
  constexpr int64_t L = 128 / sizeof(T);
  T acc[L];
  for (int64_t j = 0; j < L; ++j) acc[j] = T(0);
  const int64_t full = hw / L * L;
  for (int64_t n = 0; n < N; ++n) {
    const T* d = dy + n * stride;
    const T* m = Mask ? y + n * stride : nullptr;
    T* o = Store ? out + n * stride : nullptr;
    int64_t k = 0;
    for (; k < full; k += L) {
      // dy is loaded whole, then selected: written as one `m > 0 ? d : 0`, GCC 12 at -O3 turns the loads
      // into masked loads and (AVX2 and AVX-512, double) sums the wrong lanes
      T v[L];
      for (int64_t j = 0; j < L; ++j) v[j] = d[k + j];
      if (Mask)
        for (int64_t j = 0; j < L; ++j) v[j] = m[k + j] > T(0) ? v[j] : T(0);
      if (Store)
        for (int64_t j = 0; j < L; ++j) o[k + j] = v[j];
      for (int64_t j = 0; j < L; ++j) acc[j] += v[j];
    }
    for (; k < hw; ++k) {
      const T v = Mask ? (m[k] > T(0) ? d[k] : T(0)) : d[k];
      if (Store) o[k] = v;
      acc[k - full] += v;
    }
  }
  for (int64_t w = L / 2; w >= 1; w /= 2)
    for (int64_t j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

template <class T>
T bias_grad_channel_body(const T* dy, const T* y, T* out, int64_t N, int64_t hw, int64_t stride) {
  if (!y) return bias_grad_channel_t<T, false, false>(dy, nullptr, nullptr, N, hw, stride);
  return out ? bias_grad_channel_t<T, true, true>(dy, y, out, N, hw, stride)
             : bias_grad_channel_t<T, true, false>(dy, y, nullptr, N, hw, stride);
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->bias_grad_channel = &bias_grad_channel_body<T>;
  k->im2col = &im2col_body<T>;
  k->col2im = &col2im_body<T>;
  k->im2col_rows = &im2col_rows_body<T>;
  k->col2im_rows_add = &col2im_rows_add_body<T>;
  k->col2im_rows_pointwise = &col2im_rows_pointwise_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace conv
}  // namespace fe
