// Packing op(A) and op(B) into the contiguous, zero-padded micro-panels the microkernels stream.
// A panel is `w` wide (MR for A, NR for B) and kc deep: panel[p*w + i]. Two source layouts occur:
//   copy:        source row p holds the panel's w values contiguously (A transposed, B as stored);
//   interleave:  source row i holds one panel column along k (A as stored, B transposed): a transpose,
//                done in 4x4 (float) or 2x2 (double) SSE2 blocks — SSE2 is part of every x86-64 CPU.
#include <algorithm>
#include <cstring>

#include "kernels/gemm/gemm.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define FE_PACK_SSE2 1
#endif

namespace fe {
namespace gemm {
namespace {

// panel[p*w + i] = src[p*ld + i] for i < cols, zero for cols <= i < pad (pad <= w: the columns past
// pad are never read by the kernel that takes this panel, so they are left as they are).
template <class T, int W>
void copy_panel_fixed(const T* src, int64_t ld, int64_t kc, T* dst) {
  for (int64_t p = 0; p < kc; ++p) {
    const T* s = src + p * ld;
    T* d = dst + p * W;
    for (int i = 0; i < W; ++i) d[i] = s[i];
  }
}

template <class T>
void copy_panel(const T* src, int64_t ld, int64_t cols, int w, int pad, int64_t kc, T* dst) {
  if (cols == w) {
    switch (w) {  // the common widths get a fixed-length (unrolled, vectorised) inner loop
      case 8: return copy_panel_fixed<T, 8>(src, ld, kc, dst);
      case 16: return copy_panel_fixed<T, 16>(src, ld, kc, dst);
      case 32: return copy_panel_fixed<T, 32>(src, ld, kc, dst);
      default: break;
    }
  }
  for (int64_t p = 0; p < kc; ++p) {
    const T* s = src + p * ld;
    T* d = dst + p * w;
    for (int64_t i = 0; i < cols; ++i) d[i] = s[i];
    for (int64_t i = cols; i < pad; ++i) d[i] = T(0);
  }
}

// panel[p*w + i] = src[i*ld + p] for i < rows, zero for rows <= i < pad.
template <class T>
void interleave_scalar(const T* src, int64_t ld, int64_t i0, int64_t i1, int w, int64_t p0, int64_t kc,
                       T* dst) {
  for (int64_t i = i0; i < i1; ++i) {
    const T* s = src + i * ld;
    for (int64_t p = p0; p < kc; ++p) dst[p * w + i] = s[p];
  }
}

template <class T>
void interleave_panel(const T* src, int64_t ld, int64_t rows, int w, int pad, int64_t kc, T* dst);

template <>
void interleave_panel<float>(const float* src, int64_t ld, int64_t rows, int w, int pad, int64_t kc, float* dst) {
  int64_t i = 0;
#ifdef FE_PACK_SSE2
  const int64_t kc4 = kc & ~int64_t(3);
  for (; i + 4 <= rows; i += 4) {
    const float* s0 = src + i * ld;
    for (int64_t p = 0; p < kc4; p += 4) {
      __m128 r0 = _mm_loadu_ps(s0 + p), r1 = _mm_loadu_ps(s0 + ld + p);
      __m128 r2 = _mm_loadu_ps(s0 + 2 * ld + p), r3 = _mm_loadu_ps(s0 + 3 * ld + p);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(dst + p * w + i, r0);
      _mm_storeu_ps(dst + (p + 1) * w + i, r1);
      _mm_storeu_ps(dst + (p + 2) * w + i, r2);
      _mm_storeu_ps(dst + (p + 3) * w + i, r3);
    }
    interleave_scalar(src, ld, i, i + 4, w, kc4, kc, dst);
  }
  if (i + 2 <= rows) {  // two rows left (MR = 6 or 14): pairs of values per k step
    const float* s0 = src + i * ld;
    for (int64_t p = 0; p < kc4; p += 4) {
      const __m128 r0 = _mm_loadu_ps(s0 + p), r1 = _mm_loadu_ps(s0 + ld + p);
      const __m128 lo = _mm_unpacklo_ps(r0, r1), hi = _mm_unpackhi_ps(r0, r1);
      _mm_storel_pi(reinterpret_cast<__m64*>(dst + p * w + i), lo);
      _mm_storeh_pi(reinterpret_cast<__m64*>(dst + (p + 1) * w + i), lo);
      _mm_storel_pi(reinterpret_cast<__m64*>(dst + (p + 2) * w + i), hi);
      _mm_storeh_pi(reinterpret_cast<__m64*>(dst + (p + 3) * w + i), hi);
    }
    interleave_scalar(src, ld, i, i + 2, w, kc4, kc, dst);
    i += 2;
  }
#endif
  interleave_scalar(src, ld, i, rows, w, 0, kc, dst);
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t r = rows; r < pad; ++r) dst[p * w + r] = 0.0f;
}

template <>
void interleave_panel<double>(const double* src, int64_t ld, int64_t rows, int w, int pad, int64_t kc,
                              double* dst) {
  int64_t i = 0;
#ifdef FE_PACK_SSE2
  const int64_t kc2 = kc & ~int64_t(1);
  for (; i + 2 <= rows; i += 2) {
    const double* s0 = src + i * ld;
    for (int64_t p = 0; p < kc2; p += 2) {
      const __m128d r0 = _mm_loadu_pd(s0 + p), r1 = _mm_loadu_pd(s0 + ld + p);
      _mm_storeu_pd(dst + p * w + i, _mm_unpacklo_pd(r0, r1));
      _mm_storeu_pd(dst + (p + 1) * w + i, _mm_unpackhi_pd(r0, r1));
    }
    interleave_scalar(src, ld, i, i + 2, w, kc2, kc, dst);
  }
#endif
  interleave_scalar(src, ld, i, rows, w, 0, kc, dst);
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t r = rows; r < pad; ++r) dst[p * w + r] = 0.0;
}

}  // namespace

// dst holds ceil(mc/mr) panels; panel r: dst[r*kc*mr + p*mr + i] = op(A)(row0 + r*mr + i, col0 + p).
template <class T>
void pack_a(bool trans_a, const T* A, int64_t lda, int64_t row0, int64_t mc, int64_t col0, int64_t kc,
            int mr, T* dst) {
  for (int64_t r = 0; r < mc; r += mr) {
    const int64_t rows = std::min<int64_t>(mr, mc - r);
    T* panel = dst + (r / mr) * kc * mr;
    if (trans_a)  // A stored K x M: op(A)(i, p) = A[p*lda + i]
      copy_panel(A + col0 * lda + row0 + r, lda, rows, mr, mr, kc, panel);
    else  // op(A)(i, p) = A[i*lda + p]
      interleave_panel(A + (row0 + r) * lda + col0, lda, rows, mr, mr, kc, panel);
  }
}

// Packs panels [panel_begin, panel_end) of the kc x nc block at (row0, col0) of op(B). A last panel of
// at most narrow_nr columns is read by a narrow kernel, so it is zero-padded only to narrow_nr.
template <class T>
void pack_b(bool trans_b, const T* B, int64_t ldb, int64_t row0, int64_t kc, int64_t col0,
            int64_t panel_begin, int64_t panel_end, int64_t nc, int nr, int narrow_nr, T* dst) {
  for (int64_t q = panel_begin; q < panel_end; ++q) {
    const int64_t j0 = q * nr;
    const int64_t cols = std::min<int64_t>(nr, nc - j0);
    const int pad = (narrow_nr && cols <= narrow_nr) ? narrow_nr : nr;
    T* panel = dst + q * kc * nr;
    if (trans_b)  // B stored N x K: op(B)(p, j) = B[j*ldb + p]
      interleave_panel(B + (col0 + j0) * ldb + row0, ldb, cols, nr, pad, kc, panel);
    else  // op(B)(p, j) = B[p*ldb + j]
      copy_panel(B + row0 * ldb + col0 + j0, ldb, cols, nr, pad, kc, panel);
  }
}

template void pack_a<float>(bool, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int, float*);
template void pack_a<double>(bool, const double*, int64_t, int64_t, int64_t, int64_t, int64_t, int, double*);
template void pack_b<float>(bool, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                            int, int, float*);
template void pack_b<double>(bool, const double*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                             int64_t, int, int, double*);

}  // namespace gemm
}  // namespace fe
