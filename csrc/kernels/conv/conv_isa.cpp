// im2col / col2im loops, compiled once per ISA level (common/isa.h).
// Rows of the column matrix are (c, i, j) of the kernel window; columns are output positions.
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
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
inline void gather2_span(float* out, const float* in, int64_t n) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t k = 0; k < n; k += 16) {
    const int64_t m = n - k < 16 ? n - k : 16, reads = 2 * m - 1;
    const __m512 lo = _mm512_maskz_loadu_ps(reads >= 16 ? __mmask16(0xFFFF) : tail16(reads), in + 2 * k);
    const __m512 hi = _mm512_maskz_loadu_ps(reads > 16 ? tail16(reads - 16) : __mmask16(0), in + 2 * k + 16);
    _mm512_mask_storeu_ps(out + k, tail16(m), _mm512_permutex2var_ps(lo, even, hi));
  }
}
inline void gather2_span(double* out, const double* in, int64_t n) {
  const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  for (int64_t k = 0; k < n; k += 8) {
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
inline void gather2_span(T* out, const T* in, int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = in[2 * k];
}
template <class T>
inline void scatter_add2_span(T* in, const T* out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) in[2 * k] += out[k];
}
#endif

template <class T>
void im2col_rows_body(const T* x, const Geometry& g, int64_t r0, int64_t r1, T* col, int64_t ldc) {
  const int64_t n = (r1 - r0) * g.OW;
  for (int64_t c = 0; c < g.C; ++c)
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
            if (lo < hi) gather2_span(out + lo, in + (w0 + 2 * lo), hi - lo);
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) out[ow] = in[w0 + ow * g.sw];
          }
          zero_span(out + hi, g.OW - hi);
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
  for (int64_t c = 0; c < g.C; ++c)
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

template <class T>
void col2im_body(const T* col, const Geometry& g, T* dx, int64_t ldc) {
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
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace conv
}  // namespace fe
