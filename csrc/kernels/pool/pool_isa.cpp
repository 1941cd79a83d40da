// Max and average pooling loops (NCHW planes), compiled once per ISA level (common/isa.h): plain loops
// the compiler vectorises with that file's flags, and for float on AVX-512 explicit kernels where GCC's
// loops ran mostly in scalar epilogues (rows of 14-16 outputs) or stalled on their own stores:
//   forward:  2x2 stride 2 one pass, 16 outputs a step (maxpool_2x2s2_row_avx512, avgpool_2x2s2_row_avx512;
//             pooled rows of at most 8 several rows a step, max/avgpool_2x2s2_group_avx512);
//             any other max window 16 outputs a block, four rows at once, the running best in registers
//             (maxpool_blocks_avx512); any other average window separably, columns then rows
//             (avgpool_forward_separable);
//   backward: disjoint windows inside the plane (kernel <= stride, no padding) write dx once, row by row
//             (2x2 stride 2: both rows of a window row from one read of its argmax,
//             maxpool_backward_2x2s2_rows_avx512; avg: avgpool_backward_2x2s2_row_avx512; short rows:
//             max/avgpool_backward_2x2s2_group_avx512);
//             others: max by scatter of each plane, avg separably, rows then columns
//             (avgpool_backward_separable).
// Every plane is one thread's and the order of every sum is fixed by the shape alone.
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "common/prefetch.h"
#include "kernels/pool/pool.h"

#include <algorithm>
#include <type_traits>
#include <vector>

namespace fe {
namespace pool {
namespace {

// One candidate of a window against the best so far: it wins if better, or equal and earlier in the
// plane (a smaller index: earlier in raster order).
template <class T>
inline void maxpool_take(T v, int32_t cand, T& b, int32_t& best) {
  const bool same = (v == b) | ((v != v) & (b != b));
  const bool take = (v > b) | ((v != v) & (b == b)) | (same & (cand < best));
  b = take ? v : b;
  best = take ? cand : best;
}

// The horizontal pass of max pooling (see maxpool_body): n outputs, output q's window is columns
// [q*sw, q*sw + kw) of m/idx. KW, SW > 0: width and stride as compile-time constants, written out
// with no j loop so that the q loop vectorises (GCC leaves an inner loop or a run-time stride as
// branches, which mispredict on real data); 0: read from kw, sw.
template <class T, int KW, int SW>
inline void maxpool_hpass(const T* __restrict__ m, const int32_t* __restrict__ idx, int64_t n, int64_t sw_rt,
                          int64_t kw, T* __restrict__ y, int64_t* __restrict__ argmax) {
  const int64_t sw = SW > 0 ? SW : sw_rt;
  for (int64_t q = 0; q < n; ++q) {
    const T* mq = m + q * sw;
    const int32_t* iq = idx + q * sw;
    T b = mq[0];
    int32_t best = iq[0];
    if (KW >= 2) maxpool_take(mq[1], iq[1], b, best);
    if (KW >= 3) maxpool_take(mq[2], iq[2], b, best);
    if (KW == 0)
      for (int64_t j = 1; j < kw; ++j) maxpool_take(mq[j], iq[j], b, best);
    y[q] = b;
    argmax[q] = best;
  }
}

template <class T>
void maxpool_hpass_any(const T* m, const int32_t* idx, int64_t n, int64_t sw, int64_t kw, T* y, int64_t* argmax) {
  if (kw == 2 && sw == 2)
    maxpool_hpass<T, 2, 2>(m, idx, n, sw, kw, y, argmax);
  else if (kw == 3 && sw == 3)
    maxpool_hpass<T, 3, 3>(m, idx, n, sw, kw, y, argmax);
  else
    maxpool_hpass<T, 0, 0>(m, idx, n, sw, kw, y, argmax);
}

// Whether every window lies inside the padded input: false when ceil_mode's last windows overhang it
// (then the loops that assume whole windows are not taken, and average pooling's divisors vary).
inline bool within_padded(const Geometry& g) {
  return (g.OH - 1) * g.sh + (g.kh - 1) * g.dh < g.H + 2 * g.ph && (g.OW - 1) * g.sw + (g.kw - 1) * g.dw < g.W + 2 * g.pw;
}

// Whether every window lies inside the plane and no two windows share an input (the common pooling
// layer: kernel_size = stride, no padding): then each input has at most one window, and the backward
// writes dx in one pass.
inline bool disjoint_inside(const Geometry& g) {
  return g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1 && g.kh <= g.sh && g.kw <= g.sw && within_padded(g);
}

// The factors 1/divisor of average pooling (AvgDivisor). Returns the one factor when every output has
// the same divisor (a divisor_override, or whole windows that padding counts in or that see no padding),
// leaving `scale` empty; else fills scale (OH*OW) with each output's factor (PyTorch's rule: a window
// clipped to the padded input counts its padding, clipped to the input it does not) and returns 0.
template <class T>
T avg_scale(const Geometry& g, const AvgDivisor& dv, std::vector<T>* scale) {
  if (dv.divisor_override != 0) return T(1) / T(dv.divisor_override);
  const bool whole = within_padded(g) && (dv.count_include_pad || (g.ph == 0 && g.pw == 0));
  if (whole) return T(1) / T(g.kh * g.kw);
  // the divisor is separable: rows (clipped the same way) times columns
  auto counts = [&](int64_t n, int64_t in, int64_t k, int64_t s, int64_t p) {
    std::vector<int64_t> c(static_cast<std::size_t>(n));
    for (int64_t o = 0; o < n; ++o) {
      int64_t a = o * s - p, b = std::min(a + k, in + p);
      if (!dv.count_include_pad) {
        a = std::max<int64_t>(a, 0);
        b = std::min(b, in);
      }
      c[o] = b - a;
    }
    return c;
  };
  const std::vector<int64_t> rc = counts(g.OH, g.H, g.kh, g.sh, g.ph), cc = counts(g.OW, g.W, g.kw, g.sw, g.pw);
  scale->resize(static_cast<std::size_t>(g.OH * g.OW));
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) (*scale)[oh * g.OW + ow] = T(1) / T(rc[oh] * cc[ow]);
  return T(0);
}

// For each window column j, the outputs [lo, hi) whose input column lies inside: {lo_0, hi_0, lo_1, ...}.
inline std::vector<int64_t> column_spans(const Geometry& g) {
  std::vector<int64_t> spans(static_cast<std::size_t>(2 * g.kw));
  for (int64_t j = 0; j < g.kw; ++j) conv::valid_span(j * g.dw - g.pw, g.sw, g.W, g.OW, &spans[2 * j], &spans[2 * j + 1]);
  return spans;
}

// For each input row h and window row i, the output row oh whose window row i is h, or -1:
// rows[h * kh + i]. Computed once per call (a division per row and plane cost more than the row's work).
inline std::vector<int64_t> window_rows(const Geometry& g) {
  std::vector<int64_t> rows(static_cast<std::size_t>(g.H * g.kh), -1);
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t h = oh * g.sh - g.ph + i * g.dh;
      if (h >= 0 && h < g.H) rows[h * g.kh + i] = oh;
    }
  return rows;
}

// Disjoint windows: the output row whose window covers input row h, or -1 (see window_rows).
inline std::vector<int64_t> covering_rows(const Geometry& g) {
  const std::vector<int64_t> rows = window_rows(g);
  std::vector<int64_t> cover(static_cast<std::size_t>(g.H), -1);
  for (int64_t h = 0; h < g.H; ++h)
    for (int64_t i = 0; i < g.kh; ++i)
      if (rows[h * g.kh + i] >= 0) cover[h] = rows[h * g.kh + i];
  return cover;
}

inline bool is_2x2_stride_2(const Geometry& g) {
  return g.H * g.W < (int64_t(1) << 31) && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 &&
         g.dh == 1 && g.dw == 1 && within_padded(g);
}

#if defined(__AVX512F__)
// 2x2 stride-2 max pooling on float rows with AVX-512 (the hot case: LeNet, most CNNs). An output row
// is short (14 in LeNet), so the compiler's loops would run it mostly in their scalar epilogues; here
// 16 outputs per step and one masked step for the rest (masked lanes are neither read nor written).
inline __mmask16 tail16(int64_t r) { return r >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << r) - 1u); }

// The best of a window's four inputs a, b (row 0), c, d (row 1) in raster order, by maxpool_take's rule
// (a later one wins only if greater, or a NaN over a number): *m the value, *k its offset from a
// (0, 1, W or W + 1: one, w1 and w2 hold the last three).
inline void maxpool_best_of_4(__m512 a, __m512 b, __m512 c, __m512 d, __m512i one, __m512i w1, __m512i w2, __m512* m_,
                              __m512i* k_) {
  __m512 m = a;
  __m512i k = _mm512_setzero_si512();
  __mmask16 t = _mm512_cmp_ps_mask(b, m, _CMP_GT_OQ) |
                (_mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(m, m, _CMP_ORD_Q));
  m = _mm512_mask_mov_ps(m, t, b);
  k = _mm512_mask_mov_epi32(k, t, one);
  t = _mm512_cmp_ps_mask(c, m, _CMP_GT_OQ) |
      (_mm512_cmp_ps_mask(c, c, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(m, m, _CMP_ORD_Q));
  m = _mm512_mask_mov_ps(m, t, c);
  k = _mm512_mask_mov_epi32(k, t, w1);
  t = _mm512_cmp_ps_mask(d, m, _CMP_GT_OQ) |
      (_mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(m, m, _CMP_ORD_Q));
  *m_ = _mm512_mask_mov_ps(m, t, d);
  *k_ = _mm512_mask_mov_epi32(k, t, w2);
}

// Planes with short output rows (OW <= 8: LeNet's 10x10 -> 5x5) would fill few lanes a row, so there the
// 2x2 stride-2 kernels take group_rows(OW, W) output rows at once (as many as 16 lanes and a run of 64
// inputs hold): lane L is output (L / OW, L % OW) of the group, and its window's first input lies
// ia[L] = (L / OW) * 2W + 2 * (L % OW) past the group's first input row. The plane's rows are contiguous,
// so the group's 2 * rows input rows are one run: the forward loads it in four vectors and permutes each
// lane's four inputs out of them; the backward writes the run whole, each input taking the dy of the
// window that holds it where that window's argmax names it, else 0 (group_owners).
// (64,16,10,10), one Zen 4 core, old and new builds in turn: max pooling forward 49-50 -> 24-36 us,
// backward 71-73 -> 30-43 us (row by row, 5 of 16 lanes: 35 cycles a row forward); average pooling
// forward 24.5-25.2 -> 13.7 us, backward 30-31 -> 14-15 us.
inline int64_t group_rows(int64_t OW, int64_t W) { return OW <= 8 ? std::min(16 / OW, 32 / W) : 1; }

// ia[l]: lane l's window's first input, counted from the group's first input row
inline int32_t group_window(int64_t l, int64_t OW, int64_t W) {
  return static_cast<int32_t>((l / OW) * 2 * W + 2 * (l % OW));
}

inline __m512i group_offsets(int64_t OW, int64_t W) {
  alignas(64) int32_t ia[16];
  const int64_t n = group_rows(OW, W) * OW;
  for (int64_t l = 0; l < 16; ++l) ia[l] = l < n ? group_window(l, OW, W) : 0;
  return _mm512_load_si512(ia);
}

// The group's run of `span` (<= 64) inputs from x0, in four vectors (zeros past the run).
inline void load_run(const float* x0, int64_t span, __m512* v) {
  for (int i = 0; i < 4; ++i) v[i] = _mm512_maskz_loadu_ps(tail16(std::max<int64_t>(span - 16 * i, 0)), x0 + 16 * i);
}

// The run's element idx[L] in lane L, from the run in v[0..4) (idx < 64).
inline __m512 pick64(const __m512* v, __m512i idx) {
  const __mmask16 high = _mm512_cmpge_epi32_mask(idx, _mm512_set1_epi32(32));
  return _mm512_mask_blend_ps(high, _mm512_permutex2var_ps(v[0], idx, v[1]), _mm512_permutex2var_ps(v[2], idx, v[3]));
}

// The n outputs (n <= 16) of a group of output rows whose run of `span` inputs starts at x0 (flat index
// `base` of the plane), as maxpool_2x2s2_row_avx512 computes each row; ia from group_offsets.
inline void maxpool_2x2s2_group_avx512(const float* x0, int64_t span, int64_t n, __m512i ia, int64_t base, int32_t W,
                                       float* y, int64_t* argmax) {
  const __m512i one = _mm512_set1_epi32(1), w1 = _mm512_set1_epi32(W), w2 = _mm512_set1_epi32(W + 1);
  const __mmask16 my = tail16(n);
  __m512 v[4];
  load_run(x0, span, v);
  const __m512 a = pick64(v, ia), b = pick64(v, _mm512_add_epi32(ia, one));
  const __m512 c = pick64(v, _mm512_add_epi32(ia, w1)), d = pick64(v, _mm512_add_epi32(ia, w2));
  __m512 m;
  __m512i k;
  maxpool_best_of_4(a, b, c, d, one, w1, w2, &m, &k);
  _mm512_mask_storeu_ps(y, my, m);
  const __m512i at = _mm512_add_epi32(ia, k), vb = _mm512_set1_epi64(base);
  const __m512i k0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(at));
  const __m512i k1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(at, 1));
  _mm512_mask_storeu_epi64(argmax, static_cast<__mmask8>(my), _mm512_add_epi64(vb, k0));
  _mm512_mask_storeu_epi64(argmax + 8, static_cast<__mmask8>(my >> 8), _mm512_add_epi64(vb, k1));
}

// Output row of y/argmax from input rows r0, r1 (W columns each, r0 at flat index `base` of the plane):
// the rule of maxpool_take in raster order a, b (row 0), c, d (row 1).
inline void maxpool_2x2s2_row_avx512(const float* r0, const float* r1, int64_t OW, int64_t base, int32_t W,
                                     float* y, int64_t* argmax) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const __m512i one = _mm512_set1_epi32(1), w1 = _mm512_set1_epi32(W), w2 = _mm512_set1_epi32(W + 1);
  const __m512i lane2 = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  for (int64_t q = 0; q < OW; q += 16) {
    const int64_t n = OW - q < 16 ? OW - q : 16;
    const __mmask16 mlo = tail16(2 * n), mhi = tail16(2 * n - 16 > 0 ? 2 * n - 16 : 0), my = tail16(n);
    const __m512 r0lo = _mm512_maskz_loadu_ps(mlo, r0 + 2 * q), r0hi = _mm512_maskz_loadu_ps(mhi, r0 + 2 * q + 16);
    const __m512 r1lo = _mm512_maskz_loadu_ps(mlo, r1 + 2 * q), r1hi = _mm512_maskz_loadu_ps(mhi, r1 + 2 * q + 16);
    const __m512 a = _mm512_permutex2var_ps(r0lo, even, r0hi), b = _mm512_permutex2var_ps(r0lo, odd, r0hi);
    const __m512 c = _mm512_permutex2var_ps(r1lo, even, r1hi), d = _mm512_permutex2var_ps(r1lo, odd, r1hi);
    __m512 m;
    __m512i k;
    maxpool_best_of_4(a, b, c, d, one, w1, w2, &m, &k);
    _mm512_mask_storeu_ps(y + q, my, m);
    const __m512i b0 = _mm512_add_epi64(_mm512_set1_epi64(base + 2 * q), lane2);
    const __m512i b1 = _mm512_add_epi64(b0, _mm512_set1_epi64(16));
    const __m512i k0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(k));
    const __m512i k1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(k, 1));
    _mm512_mask_storeu_epi64(argmax + q, static_cast<__mmask8>(my), _mm512_add_epi64(b0, k0));
    _mm512_mask_storeu_epi64(argmax + q + 8, static_cast<__mmask8>(my >> 8), _mm512_add_epi64(b1, k1));
  }
}

// The same for 2x2 stride-2 average pooling: y = (((0 + a) + b) + c + d) * inv, the plain loop's order
// (avgpool_body). Its rows of 14 outputs ran mostly in GCC's scalar epilogue: (64,32,28,28) 0.38 -> 0.33 ms.
inline void avgpool_2x2s2_row_avx512(const float* r0, const float* r1, int64_t OW, float inv_, float* y) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const __m512 inv = _mm512_set1_ps(inv_);
  for (int64_t q = 0; q < OW; q += 16) {
    const int64_t n = OW - q < 16 ? OW - q : 16;
    const __mmask16 mlo = tail16(2 * n), mhi = tail16(2 * n - 16 > 0 ? 2 * n - 16 : 0), my = tail16(n);
    const __m512 r0lo = _mm512_maskz_loadu_ps(mlo, r0 + 2 * q), r0hi = _mm512_maskz_loadu_ps(mhi, r0 + 2 * q + 16);
    const __m512 r1lo = _mm512_maskz_loadu_ps(mlo, r1 + 2 * q), r1hi = _mm512_maskz_loadu_ps(mhi, r1 + 2 * q + 16);
    __m512 s = _mm512_add_ps(_mm512_setzero_ps(), _mm512_permutex2var_ps(r0lo, even, r0hi));
    s = _mm512_add_ps(s, _mm512_permutex2var_ps(r0lo, odd, r0hi));
    s = _mm512_add_ps(s, _mm512_permutex2var_ps(r1lo, even, r1hi));
    s = _mm512_add_ps(s, _mm512_permutex2var_ps(r1lo, odd, r1hi));
    _mm512_mask_storeu_ps(y + q, my, _mm512_mul_ps(s, inv));
  }
}

// The n outputs of a group of output rows (group_rows), as avgpool_2x2s2_row_avx512 computes each row.
inline void avgpool_2x2s2_group_avx512(const float* x0, int64_t span, int64_t n, __m512i ia, int32_t W, float inv_,
                                       float* y) {
  __m512 v[4];
  load_run(x0, span, v);
  const __m512i one = _mm512_set1_epi32(1), w1 = _mm512_set1_epi32(W);
  __m512 s = _mm512_add_ps(_mm512_setzero_ps(), pick64(v, ia));
  s = _mm512_add_ps(s, pick64(v, _mm512_add_epi32(ia, one)));
  s = _mm512_add_ps(s, pick64(v, _mm512_add_epi32(ia, w1)));
  s = _mm512_add_ps(s, pick64(v, _mm512_add_epi32(ia, _mm512_add_epi32(w1, one))));
  _mm512_mask_storeu_ps(y, tail16(n), _mm512_mul_ps(s, _mm512_set1_ps(inv_)));
}

// The 2x2 stride-2 average-pooling gradient of one input row pair with AVX-512: out[2q] = out[2q+1] =
// d[q] * inv for q < OW, written to both rows (GCC's loop stored the pairs one element at a time).
inline void avgpool_backward_2x2s2_row_avx512(const float* d, int64_t OW, float inv_, float* o0, float* o1) {
  const __m512i lo = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m512i hi = _mm512_setr_epi32(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  const __m512 inv = _mm512_set1_ps(inv_);
  for (int64_t q = 0; q < OW; q += 16) {
    const int64_t n = OW - q < 16 ? OW - q : 16;
    const __mmask16 mlo = tail16(2 * n), mhi = tail16(2 * n - 16 > 0 ? 2 * n - 16 : 0);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(tail16(n), d + q), inv);
    const __m512 a = _mm512_permutexvar_ps(lo, v), b = _mm512_permutexvar_ps(hi, v);
    _mm512_mask_storeu_ps(o0 + 2 * q, mlo, a);
    _mm512_mask_storeu_ps(o0 + 2 * q + 16, mhi, b);
    _mm512_mask_storeu_ps(o1 + 2 * q, mlo, a);
    _mm512_mask_storeu_ps(o1 + 2 * q + 16, mhi, b);
  }
}

// Both input rows of output row oh of the 2x2 stride-2 max-pooling gradient at once (out0: row 2*oh at
// flat index `row` of the plane, out1 the next row): column 2q of row 2*oh + i gets d[q] where a[q] names
// it, else 0. One load and subtraction of the argmax serves the two rows (one row at a time, each
// argmax was loaded and compared twice). Adds to *hits the argmaxes found in their window, to *wanted
// those >= 0 and to *below those < -1 (see maxpool_backward_disjoint).
inline void maxpool_backward_2x2s2_rows_avx512(const float* d, const int64_t* a, int64_t OW, int64_t row, int64_t W,
                                               float* out0, float* out1, int64_t* hits, int64_t* wanted,
                                               int64_t* below) {
  const __m512i lane2 = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi64(1), vw = _mm512_set1_epi64(W),
                vw1 = _mm512_set1_epi64(W + 1), minus1 = _mm512_set1_epi64(-1);
  int64_t h = 0, wn = 0, bl = 0;
  for (int64_t q = 0; q < OW; q += 16) {
    const int64_t n = OW - q < 16 ? OW - q : 16;
    const __mmask16 my = tail16(n), mlo = tail16(2 * n), mhi = tail16(2 * n - 16 > 0 ? 2 * n - 16 : 0);
    const __mmask8 m0 = static_cast<__mmask8>(my), m1 = static_cast<__mmask8>(my >> 8);
    const __m512i c0 = _mm512_add_epi64(_mm512_set1_epi64(row + 2 * q), lane2);
    const __m512i c1 = _mm512_add_epi64(c0, _mm512_set1_epi64(16));
    const __m512i a0 = _mm512_maskz_loadu_epi64(m0, a + q), a1 = _mm512_maskz_loadu_epi64(m1, a + q + 8);
    const __m512i rel0 = _mm512_sub_epi64(a0, c0), rel1 = _mm512_sub_epi64(a1, c1);
    auto eq = [&](__m512i v) {
      return static_cast<__mmask16>(my & (_mm512_cmpeq_epi64_mask(rel0, v) | (_mm512_cmpeq_epi64_mask(rel1, v) << 8)));
    };
    const __mmask16 e00 = eq(zero), e01 = eq(one), e10 = eq(vw), e11 = eq(vw1);
    const __mmask16 ge = my & static_cast<__mmask16>(_mm512_cmpge_epi64_mask(a0, zero) |
                                                     (_mm512_cmpge_epi64_mask(a1, zero) << 8));
    const __mmask16 lt = my & static_cast<__mmask16>(_mm512_cmplt_epi64_mask(a0, minus1) |
                                                     (_mm512_cmplt_epi64_mask(a1, minus1) << 8));
    const __m512 dv = _mm512_maskz_loadu_ps(my, d + q);
    // dy where the argmax names column 0 / 1 of the window's row 0 / 1, spread to the two columns
    const __m512 v00 = _mm512_maskz_mov_ps(e00, dv), v01 = _mm512_maskz_mov_ps(e01, dv);
    const __m512 v10 = _mm512_maskz_mov_ps(e10, dv), v11 = _mm512_maskz_mov_ps(e11, dv);
    _mm512_mask_storeu_ps(out0 + 2 * q, mlo, _mm512_permutex2var_ps(v00, lo, v01));
    _mm512_mask_storeu_ps(out0 + 2 * q + 16, mhi, _mm512_permutex2var_ps(v00, hi, v01));
    _mm512_mask_storeu_ps(out1 + 2 * q, mlo, _mm512_permutex2var_ps(v10, lo, v11));
    _mm512_mask_storeu_ps(out1 + 2 * q + 16, mhi, _mm512_permutex2var_ps(v10, hi, v11));
    h += __builtin_popcount(static_cast<unsigned>(e00 | e01 | e10 | e11));  // a lane matches at most one
    wn += __builtin_popcount(static_cast<unsigned>(ge));
    bl += __builtin_popcount(static_cast<unsigned>(lt));
  }
  *hits += h;
  *wanted += wn;
  *below += bl;
}

// For the gradient of a group of output rows: which lane's window holds each element e of the run (own,
// 0 for none) and e itself (tgt, -2 for none), per vector of 16 elements. From group_offsets' ia.
struct GroupOwners {
  __m512i own[4], tgt[4];
};

inline GroupOwners group_owners(int64_t OW, int64_t W) {
  alignas(64) int32_t own[64], tgt[64];
  for (int e = 0; e < 64; ++e) own[e] = 0, tgt[e] = -2;
  const int64_t n = group_rows(OW, W) * OW;
  for (int64_t l = 0; l < n; ++l) {
    const int64_t a = group_window(l, OW, W);
    for (int64_t e : {a, a + 1, a + W, a + W + 1}) own[e] = static_cast<int32_t>(l), tgt[e] = static_cast<int32_t>(e);
  }
  GroupOwners g;
  for (int j = 0; j < 4; ++j) g.own[j] = _mm512_load_si512(own + 16 * j), g.tgt[j] = _mm512_load_si512(tgt + 16 * j);
  return g;
}

// The gradient of a group of output rows (group_rows) at once: the group's 2 * rows input rows, one run
// of `span` elements from out (flat index `base` of the plane), each get the dy of the window that holds
// them where its argmax names them, else 0; the counts as maxpool_backward_2x2s2_rows_avx512's.
inline void maxpool_backward_2x2s2_group_avx512(const float* d, const int64_t* a, int64_t n, const GroupOwners& go,
                                                int64_t base, float* out, int64_t span, int64_t* hits,
                                                int64_t* wanted, int64_t* below) {
  const __mmask16 my = tail16(n);
  const __mmask8 m0 = static_cast<__mmask8>(my), m1 = static_cast<__mmask8>(my >> 8);
  const __m512i zero = _mm512_setzero_si512(), minus1 = _mm512_set1_epi64(-1), vb = _mm512_set1_epi64(base),
                vspan = _mm512_set1_epi64(span);
  const __m512i a0 = _mm512_maskz_loadu_epi64(m0, a), a1 = _mm512_maskz_loadu_epi64(m1, a + 8);
  const __m512i rel0 = _mm512_sub_epi64(a0, vb), rel1 = _mm512_sub_epi64(a1, vb);
  // each lane's argmax as an element of the run, -1 where it lies outside the run (or the lane is unused)
  const __mmask16 in = my & static_cast<__mmask16>(
                                (_mm512_cmpge_epi64_mask(rel0, zero) & _mm512_cmplt_epi64_mask(rel0, vspan)) |
                                ((_mm512_cmpge_epi64_mask(rel1, zero) & _mm512_cmplt_epi64_mask(rel1, vspan)) << 8));
  const __m512i rel = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(rel0)),
                                         _mm512_cvtepi64_epi32(rel1), 1);
  const __m512i at = _mm512_mask_mov_epi32(_mm512_set1_epi32(-1), in, rel);
  const __m512 dv = _mm512_maskz_loadu_ps(my, d);
  int64_t h = 0;
  for (int j = 0; j < 4 && 16 * j < span; ++j) {
    const __mmask16 take = _mm512_cmpeq_epi32_mask(_mm512_permutexvar_epi32(go.own[j], at), go.tgt[j]);
    _mm512_mask_storeu_ps(out + 16 * j, tail16(span - 16 * j), _mm512_maskz_mov_ps(take, _mm512_permutexvar_ps(go.own[j], dv)));
    h += __builtin_popcount(static_cast<unsigned>(take & tail16(span - 16 * j)));
  }
  *hits += h;
  *wanted += __builtin_popcount(static_cast<unsigned>(
      my & (_mm512_cmpge_epi64_mask(a0, zero) | (_mm512_cmpge_epi64_mask(a1, zero) << 8))));
  *below += __builtin_popcount(static_cast<unsigned>(
      my & (_mm512_cmplt_epi64_mask(a0, minus1) | (_mm512_cmplt_epi64_mask(a1, minus1) << 8))));
}

// The average-pooling gradient of a group of output rows (group_rows): the run of `span` inputs at out
// written whole, each input the dy * inv of the window that holds it (0 for none), as
// avgpool_backward_2x2s2_row_avx512 writes each row pair.
inline void avgpool_backward_2x2s2_group_avx512(const float* d, int64_t n, const GroupOwners& go, float inv_,
                                                float* out, int64_t span) {
  const __m512 dv = _mm512_mul_ps(_mm512_maskz_loadu_ps(tail16(n), d), _mm512_set1_ps(inv_));
  for (int j = 0; j < 4 && 16 * j < span; ++j) {
    const __mmask16 held = _mm512_cmpge_epi32_mask(go.tgt[j], _mm512_setzero_si512());
    _mm512_mask_storeu_ps(out + 16 * j, tail16(span - 16 * j), _mm512_maskz_permutexvar_ps(held, go.own[j], dv));
  }
}

// The row pass of the separable average-pooling gradient (avgpool_backward_separable) over float rows
// with AVX-512, for strides sw of 1 or 2: t[w] = the sum over window columns j, in order, of d[ow] with
// ow*sw - pw + j*dw = w, for w in blocks of 16 (the last block's lanes past W hold whatever their
// outputs give, and are never read). Each block and window column j gathers its outputs e .. e+15 with
// one masked load (only those in [0, OW)) and a permutation that spreads them to the lanes that take
// them (ok); neither depends on the plane or the row, so they are worked out once a call.
class AvgRowTaps {
 public:
  explicit AvgRowTaps(const Geometry& g) : kw_(g.kw), blocks_((g.W + 15) / 16) {
    const int64_t OW = g.OW, sw = g.sw;
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1), ow_end = _mm512_set1_epi32(int32_t(OW));
    taps_.resize(static_cast<std::size_t>(blocks_ * kw_));
    for (int64_t b = 0; b < blocks_; ++b)
      for (int64_t j = 0; j < kw_; ++j) {
        const int64_t base = b * 16 + g.pw - j * g.dw;  // lane l's output column: (base + l) / sw when it divides
        const __m512i n = _mm512_add_epi32(_mm512_set1_epi32(int32_t(base)), lane);
        __m512i ow = n;
        __mmask16 ok = 0xFFFF;
        if (sw == 2) {
          ow = _mm512_srai_epi32(n, 1);
          ok = _mm512_cmpeq_epi32_mask(_mm512_and_si512(n, one), zero);
        }
        ok &= _mm512_cmpge_epi32_mask(ow, zero) & _mm512_cmplt_epi32_mask(ow, ow_end);
        const int64_t e = sw == 2 ? (base >= 0 ? base / 2 : -((1 - base) / 2)) : base;
        const int64_t t0 = e < 0 ? -e : 0, t1 = OW - e < 16 ? OW - e : 16;
        const __mmask16 rd = t1 > t0 ? static_cast<__mmask16>(tail16(t1) & ~tail16(t0)) : __mmask16(0);
        taps_[b * kw_ + j] = Tap{_mm512_sub_epi32(ow, _mm512_set1_epi32(int32_t(e))), e, ok, rd};
      }
  }
  static bool applies(const Geometry& g) { return (g.sw == 1 || g.sw == 2) && g.W < (int64_t(1) << 30); }
  // t from the rows d of OW outputs, kRows rows at a time: row r's t at t + r*tw (blocks*16 floats each),
  // its d at d + r*OW. Both buffers hold whole groups of kRows rows (the rows past nrows are read and
  // written, never used). The rows' sums are independent chains through the window columns (one row at
  // a time ran at the chain's latency), and each tap is loaded once for all of them.
  static constexpr int kRows = 4;
  void rows(const float* d, int64_t nrows, int64_t OW, float* t, int64_t tw) const {
    for (int64_t r0 = 0; r0 < nrows; r0 += kRows) {
      const Tap* tp = taps_.data();
      for (int64_t b = 0; b < blocks_; ++b, tp += kw_) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const float* src = d + r0 * OW;
        for (int64_t j = 0; j < kw_; ++j) {
          const Tap& tj = tp[j];
          const __mmask16 ok = tj.ok, rd = tj.rd;
          const __m512i spread = tj.spread;
          const float* s0 = src + tj.e;
          a0 = _mm512_mask_add_ps(a0, ok, a0, _mm512_permutexvar_ps(spread, _mm512_maskz_loadu_ps(rd, s0)));
          a1 = _mm512_mask_add_ps(a1, ok, a1, _mm512_permutexvar_ps(spread, _mm512_maskz_loadu_ps(rd, s0 + OW)));
          a2 = _mm512_mask_add_ps(a2, ok, a2, _mm512_permutexvar_ps(spread, _mm512_maskz_loadu_ps(rd, s0 + 2 * OW)));
          a3 = _mm512_mask_add_ps(a3, ok, a3, _mm512_permutexvar_ps(spread, _mm512_maskz_loadu_ps(rd, s0 + 3 * OW)));
        }
        float* o = t + r0 * tw + b * 16;
        _mm512_storeu_ps(o, a0);
        _mm512_storeu_ps(o + tw, a1);
        _mm512_storeu_ps(o + 2 * tw, a2);
        _mm512_storeu_ps(o + 3 * tw, a3);
      }
    }
  }

 private:
  struct Tap {
    __m512i spread;
    int64_t e;
    __mmask16 ok, rd;
  };
  int64_t kw_, blocks_;
  std::vector<Tap> taps_;
};

// For each block of 16 outputs of a row and window column j, the lanes [a, b) whose input column lies
// inside the plane (in; none: the column adds nothing to the block) and, for a stride of 2, the elements
// to load from the block's first input column (m0 of the first 16, m1 of the next 16). They depend on
// neither the plane nor the row: worked out once a call (3x3/2 p1 ceil_mode, (64,32,28,28), one core: max
// pooling 1.9 -> 1.2 ms, average 1.4 -> 0.7 ms, against per row). lanes[(q0 / 16) * kw + j].
struct Span {
  __mmask16 in, m0, m1;
};
inline std::vector<Span> block_spans(const Geometry& g, const std::vector<int64_t>& spans) {
  const int64_t OW = g.OW, kw = g.kw;
  std::vector<Span> lanes(static_cast<std::size_t>((OW + 15) / 16 * kw));
  for (int64_t q0 = 0; q0 < OW; q0 += 16)
    for (int64_t j = 0; j < kw; ++j) {
      const int r = static_cast<int>(OW - q0 < 16 ? OW - q0 : 16);
      const int64_t lo = spans[2 * j] - q0, hi = spans[2 * j + 1] - q0;
      const int a = static_cast<int>(lo < 0 ? 0 : lo), b = static_cast<int>(hi > r ? r : hi);
      const uint32_t bits = a < b ? static_cast<uint32_t>(((uint64_t(1) << (2 * b - 1)) - 1) &
                                                          ~((uint64_t(1) << (2 * a)) - 1)) : 0u;
      lanes[(q0 / 16) * kw + j] = Span{a < b ? static_cast<__mmask16>(tail16(b) & ~tail16(a)) : __mmask16(0),
                                       static_cast<__mmask16>(bits), static_cast<__mmask16>(bits >> 16)};
    }
  return lanes;
}

// Max pooling of any window over float planes with AVX-512 (H*W < 2^31): 16 outputs of a row per block,
// the best and its flat index held in registers over the window's offsets in raster order (a row swept
// offset by offset through memory stalls each load on the masked stores of the sweep before). The same
// rule as the plain loops: a candidate is taken if better or the first inside. (Average pooling sums
// separably: avgpool_forward_separable.)
void maxpool_blocks_avx512(const float* x, const Geometry& g, float* y, int64_t* argmax, int64_t p0, int64_t p1,
                           const std::vector<int64_t>& spans) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sh = g.sh, sw = g.sw, kh = g.kh, kw = g.kw;
  const int64_t ph = g.ph, pw = g.pw, dh = g.dh, dw = g.dw;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i lane_sw = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(sw)));
  const int64_t blocks = (OW + 15) / 16;
  const std::vector<Span> lanes = block_spans(g, spans);
  // each block's first candidate per lane, the column offset c = j*dw - pw of the first window column
  // whose lane is inside (first_c), and the lanes that have one (has_first).
  std::vector<__m512i> first_c(static_cast<std::size_t>(blocks));
  std::vector<__mmask16> has_first(static_cast<std::size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b) {
    __m512i fc = _mm512_setzero_si512();
    __mmask16 seen = 0;
    for (int64_t j = 0; j < kw; ++j) {
      const __mmask16 add = static_cast<__mmask16>(lanes[b * kw + j].in & ~seen);
      fc = _mm512_mask_mov_epi32(fc, add, _mm512_set1_epi32(static_cast<int32_t>(j * dw - pw)));
      seen = static_cast<__mmask16>(seen | add);
    }
    first_c[b] = fc;
    has_first[b] = seen;
  }
  // R output rows at a time: each row's best is a chain of dependent compares and masked moves through
  // the window's offsets, so one row at a time ran at the chain's latency; R = 4 independent chains fill
  // the pipelines (6 and 8 measured slower). A window row in the padding reads nothing. The lanes of
  // offset j inside the plane: sw = 1 loads them; sw = 2 loads elements m0 of the 16 from q0*sw + c and
  // m1 of the next 16 (2a .. 2(b-1) for lanes a..b-1) and takes the even ones; other strides gather.
  // Every output still takes its candidates in raster order: the same results as one row at a time.
  // (64,32,28,28), one core, alternated with the previous build: max pooling 3x3/2 p1 ceil 1.17 -> 0.70
  // ms, 3x3/1 p1 1.4-1.9x; average pooling 3x3/1 1.47x, 3x3/2 unchanged.
  constexpr int R = 4;
  const __m512i none = _mm512_set1_epi32(-1);
  auto run = [&](auto sw_c) {
    constexpr int SW = decltype(sw_c)::value;  // 1, 2, or 0: any other stride (gathers)
    const int64_t swr = SW ? SW : sw;
    for (int64_t p = p0; p < p1; ++p) {
      if (p + 1 < p1) {  // the next plane, and the outputs it writes (common/prefetch.h)
        prefetch_span(x + (p + 1) * H * W, H * W);
        prefetch_span(argmax + (p + 1) * OH * OW, OH * OW, true);
      }
      const float* xp = x + p * H * W;
      for (int64_t oh0 = 0; oh0 < OH; oh0 += R) {
        const int nr = static_cast<int>(OH - oh0 < R ? OH - oh0 : R);
        for (int64_t q0 = 0; q0 < OW; q0 += 16) {
          const Span* sp = lanes.data() + (q0 / 16) * kw;
          // the R rows' best values and indices as named variables: held in arrays (m[R], k[R]), GCC kept
          // them on the stack, and each offset's compare waited on a store and a load
          __m512 m0, m1, m2, m3;
          __m512i k0, k1, k2, k3;
          auto first = [&](int r) {
            // the index of each lane's first candidate (its first window row inside, first column inside):
            // kept unless a later one wins, which is the rule's "the first inside is taken" without a
            // compare per offset (a first candidate of -inf keeps the best at -inf either way)
            if (r >= nr) return none;
            for (int64_t i = 0; i < kh; ++i) {
              const int64_t h = (oh0 + r) * sh - ph + i * dh;
              if (h < 0 || h >= H) continue;
              return _mm512_mask_add_epi32(
                  none, has_first[q0 / 16], first_c[q0 / 16],
                  _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(h * W + q0 * swr)), lane_sw));
            }
            return none;
          };
          m0 = m1 = m2 = m3 = _mm512_set1_ps(-__builtin_inff());
          k0 = first(0);
          k1 = first(1);
          k2 = first(2);
          k3 = first(3);
          for (int64_t i = 0; i < kh; ++i) {
            int32_t hw[R];  // row r's flat index h*W + q0*sw; -1: its window row i is padding (reads nothing)
            for (int r = 0; r < R; ++r) {
              const int64_t h = (oh0 + r) * sh - ph + i * dh;
              hw[r] = r < nr && h >= 0 && h < H ? static_cast<int32_t>(h * W + q0 * swr) : -1;
            }
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t c = j * dw - pw;
              const Span s = sp[j];
              if (!s.in) continue;
              const __mmask16 in = s.in;
              auto step = [&](int32_t row, __m512& m, __m512i& k) {
                if (row < 0) return;
                const float* base = xp + row + c;
                __m512 v;
                if constexpr (SW == 1) {
                  v = _mm512_maskz_loadu_ps(in, base);
                } else if constexpr (SW == 2) {
                  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                  v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(s.m0, base), even,
                                             _mm512_maskz_loadu_ps(s.m1, base + 16));
                } else {
                  v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), in, lane_sw, base, 4);
                }
                // taken: better than the best, or a NaN over a number: not (v <= m) (true when v > m
                // or either is NaN) where the best is not NaN
                const __mmask16 take =
                    _mm512_mask_cmp_ps_mask(_mm512_mask_cmp_ps_mask(in, v, m, _CMP_NLE_UQ), m, m, _CMP_ORD_Q);
                m = _mm512_mask_mov_ps(m, take, v);
                k = _mm512_mask_mov_epi32(k, take,
                                          _mm512_add_epi32(_mm512_set1_epi32(row + static_cast<int32_t>(c)), lane_sw));
              };
              step(hw[0], m0, k0);
              step(hw[1], m1, k1);
              step(hw[2], m2, k2);
              step(hw[3], m3, k3);
            }
          }
          const __mmask16 out = tail16(OW - q0 < 16 ? OW - q0 : 16);
          auto store = [&](int r, __m512 m, __m512i k) {
            if (r >= nr) return;
            const int64_t o = (p * OH + oh0 + r) * OW;
            _mm512_mask_storeu_ps(y + o + q0, out, m);
            _mm512_mask_storeu_epi64(argmax + o + q0, static_cast<__mmask8>(out),
                                     _mm512_cvtepi32_epi64(_mm512_castsi512_si256(k)));
            _mm512_mask_storeu_epi64(argmax + o + q0 + 8, static_cast<__mmask8>(out >> 8),
                                     _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(k, 1)));
          };
          store(0, m0, k0);
          store(1, m1, k1);
          store(2, m2, k2);
          store(3, m3, k3);
        }
      }
    }
  };
  if (sw == 1)
    run(std::integral_constant<int, 1>{});
  else if (sw == 2)
    run(std::integral_constant<int, 2>{});
  else
    run(std::integral_constant<int, 0>{});
}
#endif

// One window offset's sweep along an output row (see maxpool_body): n outputs, output q's candidate is
// src[q * sw] at flat index first + q * sw. SW > 0: the stride as a compile-time constant (a run-time
// stride leaves GCC gathers or scalar code).
template <class T, int SW>
inline void maxpool_sweep(const T* __restrict__ src, int64_t first, int64_t n, int64_t sw_rt, T* __restrict__ yq,
                          int64_t* __restrict__ aq) {
  const int64_t sw = SW > 0 ? SW : sw_rt;
  for (int64_t q = 0; q < n; ++q) {
    const T v = src[q * sw];
    const T b = yq[q];
    const int64_t a = aq[q];
    const bool take = (a < 0) | (v > b) | ((v != v) & (b == b));
    const int64_t mask = -static_cast<int64_t>(take);
    yq[q] = take ? v : b;
    aq[q] = ((first + q * sw) & mask) | (a & ~mask);
  }
}

template <class T>
void maxpool_body(const T* x, const Geometry& g, T* y, int64_t* argmax, int64_t p0, int64_t p1) {
#if defined(__AVX512F__)
  if (std::is_same<T, float>::value && is_2x2_stride_2(g)) {
    const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
    const int64_t group = group_rows(OW, W);
    const __m512i ia = group > 1 ? group_offsets(OW, W) : _mm512_setzero_si512();
    for (int64_t p = p0; p < p1; ++p) {
      if (p + 1 < p1) {  // the next plane, and the outputs it writes (common/prefetch.h)
        prefetch_span(x + (p + 1) * H * W, H * W);
        prefetch_span(argmax + (p + 1) * OH * OW, OH * OW, true);
      }
      if (group > 1) {
        for (int64_t oh = 0; oh < OH; oh += group) {
          const float* r0 = reinterpret_cast<const float*>(x) + (p * H + 2 * oh) * W;
          const int64_t rows = std::min(group, OH - oh);
          maxpool_2x2s2_group_avx512(r0, 2 * rows * W, rows * OW, ia, 2 * oh * W, int32_t(W),
                                     reinterpret_cast<float*>(y) + (p * OH + oh) * OW, argmax + (p * OH + oh) * OW);
        }
        continue;
      }
      for (int64_t oh = 0; oh < OH; ++oh) {
        const float* r0 = reinterpret_cast<const float*>(x) + (p * H + 2 * oh) * W;
        maxpool_2x2s2_row_avx512(r0, r0 + W, OW, 2 * oh * W, int32_t(W),
                                 reinterpret_cast<float*>(y) + (p * OH + oh) * OW, argmax + (p * OH + oh) * OW);
      }
    }
    return;
  }
  if (std::is_same<T, float>::value && g.H * g.W < (int64_t(1) << 31))  // every other window
    return maxpool_blocks_avx512(reinterpret_cast<const float*>(x), g, reinterpret_cast<float*>(y), argmax, p0, p1,
                                 column_spans(g));
#endif
  if (g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1 && g.kw <= g.sw && within_padded(g) &&
      g.H * g.W < (int64_t(1) << 31)) {
    // Every window lies inside: two branch-free passes, each a plain loop the compiler vectorises (a
    // select per window element compiled as a branch mispredicts on real data: 5-10x slower).
    //   vertical:   for output row oh, m[w] = the best of the kh inputs of column w, idx[w] its index
    //               in the plane (a lower row wins only if strictly better);
    //   horizontal: over the kw columns of each window, a column wins if better, or equal with a
    //               smaller index. That is the first maximum in raster order, as the reference's plain
    //               scan finds it ("better": greater, or a NaN over a number, so NaN propagates).
    // Windows that do not overlap along a row (kw <= sw) let the plane's rows of m sit end to end, so
    // one horizontal pass covers the plane (rows of 14 outputs are shorter than an AVX-512 vector).
    const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sh = g.sh, sw = g.sw, kh = g.kh, kw = g.kw;
    const int64_t span = (OW - 1) * sw + kw;  // input columns a row's windows cover
    const int64_t rs = OW * sw;  // row stride in m: >= span as kw <= sw
    std::vector<T> m_buf(static_cast<std::size_t>(OH * rs));
    std::vector<int32_t> idx_buf(static_cast<std::size_t>(OH * rs));
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * H * W;
      T* yp = y + p * OH * OW;
      int64_t* ap = argmax + p * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        T* __restrict__ m = m_buf.data() + oh * rs;
        int32_t* __restrict__ idx = idx_buf.data() + oh * rs;
        const int64_t h0 = oh * sh;
        const T* __restrict__ top = xp + h0 * W;
        for (int64_t w = 0; w < span; ++w) {
          m[w] = top[w];
          idx[w] = int32_t(h0 * W + w);
        }
        for (int64_t i = 1; i < kh; ++i) {
          const T* __restrict__ src = top + i * W;
          const int32_t row = int32_t((h0 + i) * W);
          for (int64_t w = 0; w < span; ++w) {
            const T v = src[w], b = m[w];
            const bool take = (v > b) | ((v != v) & (b == b));
            m[w] = take ? v : b;
            idx[w] = take ? row + int32_t(w) : idx[w];
          }
        }
      }
      maxpool_hpass_any(m_buf.data(), idx_buf.data(), OH * OW, sw, kw, yp, ap);
    }
    return;
  }
  // Any other window (overlapping, padded, dilated: ResNet's 3x3 stride 2 padding 1): a whole output
  // row at a time, one window offset (i, j) per sweep over the outputs whose input lies inside, so the
  // inner loop runs along the row with no bounds checks and no branches (selects by mask; the geometry
  // is copied to locals, or the compiler reloads it after every store). The offsets come in raster
  // order and a candidate is taken only if better (or the first inside): the first maximum wins, and a
  // window of padding only keeps -inf and -1.
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sh = g.sh, sw = g.sw, kh = g.kh, kw = g.kw;
  const int64_t ph = g.ph, pw = g.pw, dh = g.dh, dw = g.dw;
  const std::vector<int64_t> spans = column_spans(g);
  for (int64_t p = p0; p < p1; ++p) {
    const T* xp = x + p * H * W;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t o = (p * OH + oh) * OW;
      T* __restrict__ yr = y + o;
      int64_t* __restrict__ ar = argmax + o;
      for (int64_t ow = 0; ow < OW; ++ow) {
        yr[ow] = -__builtin_inf();
        ar[ow] = -1;
      }
      for (int64_t i = 0; i < kh; ++i) {
        const int64_t h = oh * sh - ph + i * dh;
        if (h < 0 || h >= H) continue;
        for (int64_t j = 0; j < kw; ++j) {
          const int64_t c = j * dw - pw, lo = spans[2 * j], hi = spans[2 * j + 1];  // input column q * sw + c
          const T* src = xp + h * W + lo * sw + c;
          const int64_t first = h * W + lo * sw + c;
          if (sw == 1)
            maxpool_sweep<T, 1>(src, first, hi - lo, 1, yr + lo, ar + lo);
          else if (sw == 2)
            maxpool_sweep<T, 2>(src, first, hi - lo, 2, yr + lo, ar + lo);
          else
            maxpool_sweep<T, 0>(src, first, hi - lo, sw, yr + lo, ar + lo);
        }
      }
    }
  }
}

// dx of one plane by scatter: zeros, then each window's dy added at its argmax (any windows, any argmax).
// An index outside [-1, HW) is skipped and counted (the binding raises IndexError for it).
template <class T>
int64_t maxpool_backward_scatter(const T* dy, const int64_t* argmax, int64_t L, int64_t HW, T* dx) {
  for (int64_t i = 0; i < HW; ++i) dx[i] = T(0);  // overwritten, not added into
  int64_t bad = 0;
  for (int64_t o = 0; o < L; ++o) {
    const int64_t a = argmax[o];
    if (a >= 0 && a < HW)
      dx[a] += dy[o];
    else
      bad += a != -1;
  }
  return bad;
}

// Disjoint windows inside the plane (disjoint_inside): one pass writing every dx element once, row by
// row: dx = dy of the element's window where its argmax names the element, else 0 (and 0 outside every
// window). That equals the scatter when each argmax lies in its own window, as the forward's do; a
// count of the hits checks it, and a plane where some argmax points elsewhere (a caller's own indices)
// is redone by scatter.
template <class T>
int64_t maxpool_backward_disjoint(const T* dy, const int64_t* argmax, const Geometry& g, T* dx, int64_t p0,
                                  int64_t p1) {
  int64_t bad = 0;
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sw = g.sw, kw = g.kw;
  const int64_t L = OH * OW;
  const bool two = is_2x2_stride_2(g);
  const std::vector<int64_t> cover = covering_rows(g);
#if defined(__AVX512F__)
  const int64_t group = two && std::is_same<T, float>::value ? group_rows(OW, W) : 1;
  const GroupOwners go = group > 1 ? group_owners(OW, W) : GroupOwners();
#endif
  for (int64_t p = p0; p < p1; ++p) {
    if (p + 1 < p1) {  // the next plane's dy and argmax, and the dx it writes (common/prefetch.h)
      prefetch_span(dy + (p + 1) * L, L);
      prefetch_span(argmax + (p + 1) * L, L);
      prefetch_span(dx + (p + 1) * H * W, H * W, true);
    }
    const T* dyp = dy + p * L;
    const int64_t* ap = argmax + p * L;
    T* dxp = dx + p * H * W;
    int64_t hits = 0, wanted = 0, below = 0;
#if defined(__AVX512F__)
    if (two && std::is_same<T, float>::value) {  // two input rows per output row, the counts on the way
      for (int64_t oh = 0; oh < OH && group > 1; oh += group) {  // short rows: several a step (group_rows)
        const int64_t rows = std::min(group, OH - oh);
        maxpool_backward_2x2s2_group_avx512(reinterpret_cast<const float*>(dyp + oh * OW), ap + oh * OW, rows * OW, go,
                                            2 * oh * W, reinterpret_cast<float*>(dxp + 2 * oh * W), 2 * rows * W,
                                            &hits, &wanted, &below);
      }
      for (int64_t oh = 0; oh < OH && group == 1; ++oh) {
        float* out0 = reinterpret_cast<float*>(dxp + 2 * oh * W);
        maxpool_backward_2x2s2_rows_avx512(reinterpret_cast<const float*>(dyp + oh * OW), ap + oh * OW, OW,
                                           2 * oh * W, W, out0, out0 + W, &hits, &wanted, &below);
        for (int64_t w = 2 * OW; w < W; ++w) out0[w] = out0[W + w] = 0.0f;  // right of the last window
      }
      for (int64_t h = 2 * OH; h < H; ++h)  // rows below the last window
        for (int64_t w = 0; w < W; ++w) dxp[h * W + w] = T(0);
      if (hits != wanted || below) bad += maxpool_backward_scatter(dyp, ap, L, H * W, dxp);
      continue;
    }
#endif
    for (int64_t h = 0; h < H; ++h) {
      T* __restrict__ out = dxp + h * W;
      const int64_t oh = cover[h];
      if (oh < 0) {  // a row no window covers
        for (int64_t w = 0; w < W; ++w) out[w] = T(0);
        continue;
      }
      const T* __restrict__ d = dyp + oh * OW;
      const int64_t* __restrict__ a = ap + oh * OW;
      const int64_t row = h * W;
      int64_t w = 0;
      if (two) {  // both columns of each window
        for (int64_t q = 0; q < OW; ++q) {
          const bool e0 = a[q] == row + 2 * q, e1 = a[q] == row + 2 * q + 1;
          out[2 * q] = e0 ? d[q] : T(0);
          out[2 * q + 1] = e1 ? d[q] : T(0);
          hits += e0 + e1;
        }
        w = 2 * OW;
      } else {
        for (int64_t q = 0; q < OW; ++q) {
          for (int64_t j = 0; j < kw; ++j) {
            const bool e = a[q] == row + q * sw + j;
            out[q * sw + j] = e ? d[q] : T(0);
            hits += e;
          }
          for (int64_t j = kw; j < sw && q * sw + j < W; ++j) out[q * sw + j] = T(0);
        }
        w = std::min(OW * sw, W);
      }
      for (; w < W; ++w) out[w] = T(0);  // columns right of the last window
    }
    for (int64_t o = 0; o < L; ++o) {
      wanted += ap[o] >= 0;
      below += ap[o] < -1;
    }
    if (hits != wanted || below) bad += maxpool_backward_scatter(dyp, ap, L, H * W, dxp);
  }
  return bad;
}

template <class T>
int64_t maxpool_backward_body(const T* dy, const int64_t* argmax, const Geometry& g, T* dx, int64_t p0,
                              int64_t p1) {
  if (disjoint_inside(g)) return maxpool_backward_disjoint(dy, argmax, g, dx, p0, p1);
  const int64_t L = g.OH * g.OW, HW = g.H * g.W;
  int64_t bad = 0;
  for (int64_t p = p0; p < p1; ++p) bad += maxpool_backward_scatter(dy + p * L, argmax + p * L, L, HW, dx + p * HW);
  return bad;
}

// Average pooling of overlapping or padded windows, separably: columns, then rows. Per plane:
//   1. columns: v[oh][w] = the sum over the window rows i inside the plane, in order, of
//      x[oh*sh - ph + i*dh][w] (contiguous rows);
//   2. rows: y[oh][ow] = the sum over the window columns j inside, in order, of v[oh][ow*sw - pw + j*dw],
//      times inv, or times scale[oh*OW + ow] when scale is not null.
// kh*kw adds per output become kw per output and kh per element of v. The order is fixed by the shape.
template <class T>
void avgpool_forward_separable(const T* x, const Geometry& g, T inv, const T* scale, T* y, int64_t p0, int64_t p1) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sh = g.sh, sw = g.sw, kh = g.kh, kw = g.kw;
  const std::vector<int64_t> spans = column_spans(g);
  // for each output row, the offsets h*W of its window's rows inside the plane, in order, and their count
  std::vector<int64_t> src(static_cast<std::size_t>(OH * kh)), nsrc(static_cast<std::size_t>(OH));
  for (int64_t oh = 0; oh < OH; ++oh) {
    int64_t n = 0;
    for (int64_t i = 0; i < kh; ++i) {
      const int64_t h = oh * sh - g.ph + i * g.dh;
      if (h >= 0 && h < H) src[oh * kh + n++] = h * W;
    }
    nsrc[oh] = n;
  }
  const int64_t OHr = (OH + 3) / 4 * 4;  // v in whole groups of 4 rows (zeros past OH), for the row pass below
  std::vector<T> v(static_cast<std::size_t>(OHr * W));
#if defined(__AVX512F__)
  constexpr bool avx512f = std::is_same<T, float>::value;
  const bool rows_apply = avx512f && (sw == 1 || sw == 2);
  const std::vector<Span> lanes = avx512f ? block_spans(g, spans) : std::vector<Span>();
#endif
  for (int64_t p = p0; p < p1; ++p) {
    if (p + 1 < p1) prefetch_span(x + (p + 1) * H * W, H * W);  // the next plane (common/prefetch.h)
    const T* xp = x + p * H * W;
    for (int64_t oh = 0; oh < OH; ++oh) {
      T* __restrict__ vr = v.data() + oh * W;
      const int64_t* sr = src.data() + oh * kh;
      const int64_t n = nsrc[oh];
#if defined(__AVX512F__)
      if (avx512f) {  // GCC's loops ran rows of 28 mostly in their scalar epilogue
        const float* fx = reinterpret_cast<const float*>(xp);
        float* fv = reinterpret_cast<float*>(vr);
        for (int64_t w0 = 0; w0 < W; w0 += 16) {
          const __mmask16 m = tail16(W - w0 < 16 ? W - w0 : 16);
          __m512 a = _mm512_setzero_ps();
          for (int64_t k = 0; k < n; ++k) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, fx + sr[k] + w0));
          _mm512_mask_storeu_ps(fv + w0, m, a);
        }
        continue;
      }
#endif
      for (int64_t w = 0; w < W; ++w) vr[w] = T(0);
      for (int64_t k = 0; k < n; ++k) {
        const T* __restrict__ xr = xp + sr[k];
        for (int64_t w = 0; w < W; ++w) vr[w] += xr[w];
      }
    }
    T* yp = y + p * OH * OW;
#if defined(__AVX512F__)
    if (rows_apply) {
      // 16 outputs of 4 rows at a time: independent chains through the window columns
      const float* fv = reinterpret_cast<const float*>(v.data());
      float* fy = reinterpret_cast<float*>(yp);
      const float* fs = reinterpret_cast<const float*>(scale);
      const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      for (int64_t oh0 = 0; oh0 < OH; oh0 += 4) {
        for (int64_t q0 = 0; q0 < OW; q0 += 16) {
          const Span* sp = lanes.data() + (q0 / 16) * kw;
          __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
          for (int64_t j = 0; j < kw; ++j) {
            const Span s = sp[j];
            if (!s.in) continue;
            const float* base = fv + oh0 * W + q0 * sw + j * g.dw - g.pw;
            for (int r = 0; r < 4; ++r) {
              const float* b = base + r * W;
              const __m512 e = sw == 1 ? _mm512_maskz_loadu_ps(s.in, b)
                                       : _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(s.m0, b), even,
                                                                _mm512_maskz_loadu_ps(s.m1, b + 16));
              a[r] = _mm512_mask_add_ps(a[r], s.in, a[r], e);
            }
          }
          const __mmask16 out = tail16(OW - q0 < 16 ? OW - q0 : 16);
          for (int r = 0; r < 4 && oh0 + r < OH; ++r) {
            const int64_t o = (oh0 + r) * OW + q0;
            const __m512 f = fs ? _mm512_maskz_loadu_ps(out, fs + o) : _mm512_set1_ps(float(inv));
            _mm512_mask_storeu_ps(fy + o, out, _mm512_mul_ps(a[r], f));
          }
        }
      }
      continue;
    }
#endif
    for (int64_t oh = 0; oh < OH; ++oh) {
      T* __restrict__ yr = yp + oh * OW;
      const T* __restrict__ vr = v.data() + oh * W;
      for (int64_t ow = 0; ow < OW; ++ow) yr[ow] = T(0);
      for (int64_t j = 0; j < kw; ++j) {
        const int64_t c = j * g.dw - g.pw, lo = spans[2 * j], hi = spans[2 * j + 1];  // input column q*sw + c
        const T* __restrict__ s0 = vr + lo * sw + c;
        T* __restrict__ yq = yr + lo;
        for (int64_t q = 0; q < hi - lo; ++q) yq[q] += s0[q * sw];
      }
      if (scale)
        for (int64_t ow = 0; ow < OW; ++ow) yr[ow] *= scale[oh * OW + ow];
      else
        for (int64_t ow = 0; ow < OW; ++ow) yr[ow] *= inv;
    }
  }
}

template <class T>
void avgpool_body(const T* x, const Geometry& g, const AvgDivisor& dv, T* y, int64_t p0, int64_t p1) {
  std::vector<T> scale;  // per output, when the divisors differ (else inv for all)
  const T inv = avg_scale(g, dv, &scale);
  if (scale.empty() && is_2x2_stride_2(g)) {  // one pass, each output its four inputs in raster order
    const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
#if defined(__AVX512F__)
    const int64_t group = std::is_same<T, float>::value ? group_rows(OW, W) : 1;
    const __m512i ia = group > 1 ? group_offsets(OW, W) : _mm512_setzero_si512();
#endif
    for (int64_t p = p0; p < p1; ++p) {
      if (p + 1 < p1) prefetch_span(x + (p + 1) * H * W, H * W);  // the next plane (common/prefetch.h)
#if defined(__AVX512F__)
      if (group > 1) {  // short rows: several a step (group_rows)
        for (int64_t oh = 0; oh < OH; oh += group) {
          const int64_t rows = std::min(group, OH - oh);
          avgpool_2x2s2_group_avx512(reinterpret_cast<const float*>(x + (p * H + 2 * oh) * W), 2 * rows * W, rows * OW,
                                     ia, int32_t(W), float(inv), reinterpret_cast<float*>(y + (p * OH + oh) * OW));
        }
        continue;
      }
#endif
      for (int64_t oh = 0; oh < OH; ++oh) {
        const T* __restrict__ r0 = x + (p * H + 2 * oh) * W;
        const T* __restrict__ r1 = r0 + W;
        T* __restrict__ yr = y + (p * OH + oh) * OW;
#if defined(__AVX512F__)
        if (std::is_same<T, float>::value) {
          avgpool_2x2s2_row_avx512(reinterpret_cast<const float*>(r0), reinterpret_cast<const float*>(r1), OW,
                                   float(inv), reinterpret_cast<float*>(yr));
          continue;
        }
#endif
        for (int64_t q = 0; q < OW; ++q)
          yr[q] = (((T(0) + r0[2 * q]) + r0[2 * q + 1]) + r1[2 * q] + r1[2 * q + 1]) * inv;
      }
    }
    return;
  }
  avgpool_forward_separable<T>(x, g, inv, scale.empty() ? nullptr : scale.data(), y, p0, p1);
}

// The average-pooling gradient of overlapping or padded windows, separably. The windows covering input
// (h, w) are those of a row oh covering h (by its window row i) and a column ow covering w (by its window
// column j), so with d = dy times each output's factor, per plane:
//   1. d: dy times inv, or times scale[oh*OW + ow] (each output's own factor) when scale is not null;
//   2. rows: t[oh][w] = the sum over window columns j, in order, of d[oh][ow] with ow*sw - pw + j*dw = w;
//   3. columns: dx[h][w] = the sum over window rows i, in order, of t[oh][w] with oh*sh - ph + i*dh = h
//      (0 where no window covers row h).
// kh*kw adds per output, scattered over dx, become kw per output and one per covering row of dx, along
// contiguous rows; each dx element is written once. The order is fixed by the shape alone.
template <class T>
void avgpool_backward_separable(const T* dy, const Geometry& g, T inv, const T* scale, T* dx, int64_t p0,
                                int64_t p1) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sw = g.sw, kh = g.kh, kw = g.kw, L = OH * OW;
  const std::vector<int64_t> rows = window_rows(g), spans = column_spans(g);
  // for each input row h, the rows of t covering it (as offsets in t), in window-row order, and their count
  std::vector<int64_t> cover(static_cast<std::size_t>(H * kh)), ncover(static_cast<std::size_t>(H));
  const int64_t tw = (W + 15) / 16 * 16;  // t's row stride: whole blocks of 16
  // (whole groups of AvgRowTaps::kRows rows, zeros past OH)
  const int64_t OHr = (OH + 3) / 4 * 4;
  std::vector<T> d(static_cast<std::size_t>(OHr * OW)), t(static_cast<std::size_t>(OHr * tw));
  for (int64_t h = 0; h < H; ++h) {
    int64_t n = 0;
    for (int64_t i = 0; i < kh; ++i)
      if (rows[h * kh + i] >= 0) cover[h * kh + n++] = rows[h * kh + i] * tw;
    ncover[h] = n;
  }
#if defined(__AVX512F__)
  constexpr bool avx512f = std::is_same<T, float>::value;
  const bool taps_apply = avx512f && AvgRowTaps::applies(g);
  const AvgRowTaps taps = taps_apply ? AvgRowTaps(g) : AvgRowTaps(Geometry{});
#endif
  for (int64_t p = p0; p < p1; ++p) {
    if (p + 1 < p1) {  // the next plane's dy, and the dx it writes (common/prefetch.h)
      prefetch_span(dy + (p + 1) * L, L);
      prefetch_span(dx + (p + 1) * H * W, H * W, true);
    }
    const T* __restrict__ dp = dy + p * L;
    T* __restrict__ ds = d.data();
    if (scale)
      for (int64_t o = 0; o < L; ++o) ds[o] = dp[o] * scale[o];
    else
      for (int64_t o = 0; o < L; ++o) ds[o] = dp[o] * inv;
#if defined(__AVX512F__)
    if (taps_apply) taps.rows(reinterpret_cast<const float*>(ds), OH, OW, reinterpret_cast<float*>(t.data()), tw);
#endif
    for (int64_t oh = 0; oh < OH; ++oh) {
      T* __restrict__ tr = t.data() + oh * tw;
      const T* __restrict__ dr = ds + oh * OW;
#if defined(__AVX512F__)
      if (taps_apply) break;
#endif
      for (int64_t w = 0; w < W; ++w) tr[w] = T(0);
      for (int64_t j = 0; j < kw; ++j) {
        const int64_t c = j * g.dw - g.pw, lo = spans[2 * j], hi = spans[2 * j + 1];  // input column q*sw + c
        T* __restrict__ o = tr + lo * sw + c;
        const T* __restrict__ src = dr + lo;
        if (sw == 1)
          for (int64_t q = 0; q < hi - lo; ++q) o[q] += src[q];
        else
          for (int64_t q = 0; q < hi - lo; ++q) o[q * sw] += src[q];
      }
    }
    for (int64_t h = 0; h < H; ++h) {
      T* __restrict__ out = dx + (p * H + h) * W;
      const int64_t* c = cover.data() + h * kh;  // the offsets in t of the rows covering h, in order
      const int64_t n = ncover[h];
#if defined(__AVX512F__)
      if (avx512f) {  // GCC's loops ran rows of 28 mostly in their scalar epilogue
        const float* ft = reinterpret_cast<const float*>(t.data());
        float* fo = reinterpret_cast<float*>(out);
        for (int64_t w0 = 0; w0 < W; w0 += 16) {
          const __mmask16 m = tail16(W - w0 < 16 ? W - w0 : 16);
          // one and two covering rows (every stride-2 layer) written out: the plain loop over k, the same
          // adds, ran 0.89-0.98x
          __m512 v = _mm512_setzero_ps();
          if (n == 1) {
            v = _mm512_add_ps(v, _mm512_loadu_ps(ft + c[0] + w0));
          } else if (n == 2) {
            v = _mm512_add_ps(_mm512_add_ps(v, _mm512_loadu_ps(ft + c[0] + w0)), _mm512_loadu_ps(ft + c[1] + w0));
          } else {
            for (int64_t k = 0; k < n; ++k) v = _mm512_add_ps(v, _mm512_loadu_ps(ft + c[k] + w0));
          }
          _mm512_mask_storeu_ps(fo + w0, m, v);
        }
        continue;
      }
#endif
      for (int64_t w = 0; w < W; ++w) out[w] = T(0);
      for (int64_t k = 0; k < n; ++k) {
        const T* __restrict__ b = t.data() + c[k];
        for (int64_t w = 0; w < W; ++w) out[w] += b[w];
      }
    }
  }
}

// The average-pooling gradient when every output has the same factor inv (see avgpool_backward_body).
template <class T>
void avgpool_backward_uniform(const T* dy, const Geometry& g, T inv, T* dx, int64_t p0, int64_t p1) {
  if (!disjoint_inside(g)) return avgpool_backward_separable<T>(dy, g, inv, nullptr, dx, p0, p1);
  // each input in at most one window: dx written once, row by row
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sw = g.sw, kw = g.kw;
  const bool two = is_2x2_stride_2(g);
  const std::vector<int64_t> cover = covering_rows(g);
#if defined(__AVX512F__)
  const int64_t group = two && std::is_same<T, float>::value ? group_rows(OW, W) : 1;
  const GroupOwners go = group > 1 ? group_owners(OW, W) : GroupOwners();
#endif
  for (int64_t p = p0; p < p1; ++p) {
#if defined(__AVX512F__)
    if (two && std::is_same<T, float>::value) {
      // rows 2oh and 2oh + 1 of dx from row oh of dy
      if (p + 1 < p1) {  // the next plane's dy, and the dx it writes (common/prefetch.h)
        prefetch_span(dy + (p + 1) * OH * OW, OH * OW);
        prefetch_span(dx + (p + 1) * H * W, H * W, true);
      }
      for (int64_t oh = 0; oh < OH && group > 1; oh += group) {  // short rows: several a step (group_rows)
        const int64_t rows = std::min(group, OH - oh);
        avgpool_backward_2x2s2_group_avx512(reinterpret_cast<const float*>(dy + (p * OH + oh) * OW), rows * OW, go,
                                            float(inv), reinterpret_cast<float*>(dx + (p * H + 2 * oh) * W),
                                            2 * rows * W);
      }
      for (int64_t oh = 0; oh < OH && group == 1; ++oh) {
        float* o0 = reinterpret_cast<float*>(dx + (p * H + 2 * oh) * W);
        avgpool_backward_2x2s2_row_avx512(reinterpret_cast<const float*>(dy + (p * OH + oh) * OW), OW, float(inv), o0,
                                          o0 + W);
        for (int64_t w = 2 * OW; w < W; ++w) o0[w] = o0[W + w] = 0.0f;  // an odd W's last column
      }
      for (int64_t h = 2 * OH; h < H; ++h)  // an odd H's last row
        for (int64_t w = 0; w < W; ++w) dx[(p * H + h) * W + w] = T(0);
      continue;
    }
#endif
    for (int64_t h = 0; h < H; ++h) {
      T* __restrict__ out = dx + (p * H + h) * W;
      const int64_t oh = cover[h];
      int64_t w = 0;
      if (oh >= 0) {
        const T* __restrict__ d = dy + (p * OH + oh) * OW;
        if (two) {
          for (int64_t q = 0; q < OW; ++q) {
            const T v = d[q] * inv;
            out[2 * q] = v;
            out[2 * q + 1] = v;
          }
        } else {
          for (int64_t q = 0; q < OW; ++q) {
            const T v = d[q] * inv;
            for (int64_t j = 0; j < kw; ++j) out[q * sw + j] = v;
            for (int64_t j = kw; j < sw && q * sw + j < W; ++j) out[q * sw + j] = T(0);
          }
        }
        w = std::min(OW * sw, W);
      }
      for (; w < W; ++w) out[w] = T(0);  // outside every window
    }
  }
}

// Outputs with different factors (ceil_mode's clipped windows, count_include_pad=False): the factors
// applied as dy is read (exact: the values a dy scaled first would hold).
template <class T>
void avgpool_backward_body(const T* dy, const Geometry& g, const AvgDivisor& dv, T* dx, int64_t p0, int64_t p1) {
  std::vector<T> scale;
  const T inv = avg_scale(g, dv, &scale);
  if (scale.empty()) return avgpool_backward_uniform(dy, g, inv, dx, p0, p1);
  avgpool_backward_separable<T>(dy, g, T(1), scale.data(), dx, p0, p1);
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->maxpool = &maxpool_body<T>;
  k->maxpool_backward = &maxpool_backward_body<T>;
  k->avgpool = &avgpool_body<T>;
  k->avgpool_backward = &avgpool_backward_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace pool
}  // namespace fe
