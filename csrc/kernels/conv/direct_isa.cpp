// Direct convolution microkernels (see direct.h), compiled once per ISA level (common/isa.h). A small
// vector type per level (V<T>: load, masked load, store, broadcast, fma, horizontal sum) lets one
// template body serve all three; its register blocks are the level's (OCB x NV vectors for conv,
// OB x KB dot products for wgrad, pixels x channel vectors for conv_oc, taps x channel vectors for
// wgrad_oc), sized to its register file.
#include "common/isa.h"
#include "common/simd_math.h"
#include "kernels/conv/combine.h"
#include "kernels/conv/direct.h"

#include <algorithm>
#include <type_traits>

namespace fe {
namespace conv {
namespace direct {
namespace {

// f(std::integral_constant<int, r>{}) for a run-time r in [1, MAX] (nothing for r outside it): a row's
// or a reduction's last, shorter tile, at a compile-time size.
template <int MAX, class F>
inline void with_size(int64_t r, F&& f) {
  if constexpr (MAX >= 1) {
    if (r == MAX)
      f(std::integral_constant<int, MAX>{});
    else
      with_size<MAX - 1>(r, f);
  }
}

// f(start, size) for n items cut into ceil(n / most) runs of as equal a size as that allows, in order
// (28 by 13: 10 + 9 + 9, not 13 + 13 + 2)
template <class F>
inline void even_runs(int64_t n, int64_t most, F&& f) {
  const int64_t runs = (n + most - 1) / most;
  for (int64_t r = 0, start = 0; r < runs; ++r) {
    const int64_t size = (n - start + (runs - r) - 1) / (runs - r);
    f(start, size);
    start += size;
  }
}

#if defined(__AVX512F__)
template <class T>
struct V;
template <>
struct V<float> {
  using R = __m512;
  static constexpr int n = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static R load_part(const float* p, int64_t c) {  // lanes >= c are 0 and not read
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << c) - 1u), p);
  }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static void store_part(float* p, R v, int64_t c) {  // lanes < c only
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << c) - 1u), v);
  }
  static R set1(float a) { return _mm512_set1_ps(a); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R relu(R a) { return _mm512_max_ps(_mm512_setzero_ps(), a); }  // NaN: the second operand
  static float sum(R v) { return _mm512_reduce_add_ps(v); }
};
template <>
struct V<double> {
  using R = __m512d;
  static constexpr int n = 8;
  static R zero() { return _mm512_setzero_pd(); }
  static R load(const double* p) { return _mm512_loadu_pd(p); }
  static R load_part(const double* p, int64_t c) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << c) - 1u), p);
  }
  static void store(double* p, R v) { _mm512_storeu_pd(p, v); }
  static void store_part(double* p, R v, int64_t c) {
    _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << c) - 1u), v);
  }
  static R set1(double a) { return _mm512_set1_pd(a); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static R add(R a, R b) { return _mm512_add_pd(a, b); }
  static R relu(R a) { return _mm512_max_pd(_mm512_setzero_pd(), a); }
  static double sum(R v) { return _mm512_reduce_add_pd(v); }
};
constexpr int kOCB = 6, kNV = 4;  // conv: 24 accumulators + 4 input vectors of 32 registers
constexpr int kOB = 6, kKB = 4;   // wgrad: 24 accumulators + 6 dy vectors + 1 input vector (4 x 4: 0.81x at
                                  // LeNet's conv1, 0.93x at 3 -> 32, one Zen 4 core)
constexpr int kKV = 8;            // wgrad_oc: 8 taps x 2 vectors of channels
constexpr int kPB = 12;           // conv_oc: 12 pixels x 2 vectors of channels
constexpr int kRA = 20;           // wgrad_oc on runs of taps: accumulators (runs x taps)
constexpr int kWTB = 5;           // row Winograd: 5 tiles x 6 positions
constexpr bool kRowWinograd = true;
constexpr int kWCB = 3;            // row-Winograd weight gradient: 3 channels x 5 kernel rows
constexpr int kDAcc = 24, kDB = 8;  // dgrad_img: accumulators (channels x columns), columns at most
constexpr bool kDgradImg = true;
// The weight gradient by pixels (wgrad) rather than channels in the lanes (wgrad_oc) from rows this wide
// (Kernels::wgrad_rows_from)
constexpr int64_t kWgradRowsFrom = 24;
#elif defined(__AVX2__)
template <class T>
struct V;
template <>
struct V<float> {
  using R = __m256;
  static constexpr int n = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static R load_part(const float* p, int64_t c) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(c)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_maskload_ps(p, m);
  }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static void store_part(float* p, R v, int64_t c) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(c)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(p, m, v);
  }
  static R set1(float a) { return _mm256_set1_ps(a); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R relu(R a) { return _mm256_max_ps(_mm256_setzero_ps(), a); }  // NaN: the second operand
  static float sum(R v) {  // fixed pairing: (0+4, 1+5, 2+6, 3+7), then (a+c, b+d), then the two
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};
template <>
struct V<double> {
  using R = __m256d;
  static constexpr int n = 4;
  static R zero() { return _mm256_setzero_pd(); }
  static R load(const double* p) { return _mm256_loadu_pd(p); }
  static R load_part(const double* p, int64_t c) {
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(c), _mm256_setr_epi64x(0, 1, 2, 3));
    return _mm256_maskload_pd(p, m);
  }
  static void store(double* p, R v) { _mm256_storeu_pd(p, v); }
  static void store_part(double* p, R v, int64_t c) {
    _mm256_maskstore_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(c), _mm256_setr_epi64x(0, 1, 2, 3)), v);
  }
  static R set1(double a) { return _mm256_set1_pd(a); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static R add(R a, R b) { return _mm256_add_pd(a, b); }
  static R relu(R a) { return _mm256_max_pd(_mm256_setzero_pd(), a); }
  static double sum(R v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
};
constexpr int kOCB = 6, kNV = 2;  // conv: 12 accumulators + 2 input vectors + a broadcast of 16
constexpr int kOB = 2, kKB = 4;   // wgrad: 8 accumulators
constexpr int kKV = 6;            // wgrad_oc: 6 taps x 2 vectors of channels
constexpr int kPB = 6;            // conv_oc: 6 pixels x 2 vectors of channels
constexpr int kRA = 10;           // wgrad_oc on runs of taps: accumulators (runs x taps)
// Row Winograd: none. With 16 registers its blocks hold 2 tiles, a broadcast and a weight load per 2
// FMAs, and it lost to the direct sums (LeNet's conv2, N = 64, one Zen 4 core: 0.30-0.43 ms direct,
// 0.55-0.75 row Winograd).
constexpr int kWTB = 2;
constexpr bool kRowWinograd = false;
constexpr int kDAcc = 12, kDB = 4;
constexpr bool kDgradImg = true;
constexpr int kWCB = 1;  // 2 (10 accumulators) measured no faster
constexpr int64_t kWgradRowsFrom = INT64_MAX;
#else
// The scalar level: one-lane "vectors" (plain multiply and add: no fused rounding to depend on the
// compiler's contraction choice).
template <class T>
struct V {
  using R = T;
  static constexpr int n = 1;
  static R zero() { return T(0); }
  static R load(const T* p) { return *p; }
  static R load_part(const T* p, int64_t c) { return c > 0 ? *p : T(0); }
  static void store(T* p, R v) { *p = v; }
  static void store_part(T* p, R v, int64_t c) {
    if (c > 0) *p = v;
  }
  static R set1(T a) { return a; }
  static R fma(R a, R b, R c) { return a * b + c; }
  static R add(R a, R b) { return a + b; }
  static R relu(R a) { return a < T(0) ? T(0) : a; }  // NaN stays NaN
  static T sum(R v) { return v; }
};
constexpr int kOCB = 4, kNV = 4;
constexpr int kOB = 2, kKB = 4;
constexpr int kKV = 4;
constexpr int kPB = 4;
constexpr int kRA = 10;
constexpr int kWTB = 2;
// The data gradient with the images in the lanes: none. One image a "vector", its blocks of columns
// lost to the upsampled direct sums, which the compiler vectorises with SSE (LeNet's conv2, N = 64, one
// Zen 4 core: float32 4.2 ms against 2.2, float64 3.2 against 4.3).
constexpr int kDAcc = 16, kDB = 4;
constexpr bool kDgradImg = false;
constexpr int kWCB = 1;
// Row Winograd: the kernels' scalar path (LeNet's conv2 3.0-3.15 ms against the direct sums' 3.0: a tie)
constexpr bool kRowWinograd = true;
constexpr int64_t kWgradRowsFrom = INT64_MAX;
#endif

// One tile: OCB output channels x NV vectors of the run starting at p.
template <class T, int OCB, int NV>
inline void conv_tile(const T* xs, const int64_t* off, int64_t K, const T* w, int64_t ldw, int64_t p, T* out,
                      int64_t ldo) {
  using Vt = V<T>;
  constexpr int L = Vt::n;
  typename Vt::R acc[OCB][NV];
  for (int o = 0; o < OCB; ++o)
    for (int v = 0; v < NV; ++v) acc[o][v] = Vt::zero();
  const T* xp = xs + p;
  for (int64_t k = 0; k < K; ++k) {
    const T* src = xp + off[k];
    typename Vt::R xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = Vt::load(src + v * L);
    for (int o = 0; o < OCB; ++o) {
      const typename Vt::R wv = Vt::set1(w[o * ldw + k]);
      for (int v = 0; v < NV; ++v) acc[o][v] = Vt::fma(wv, xv[v], acc[o][v]);
    }
  }
  for (int o = 0; o < OCB; ++o)
    for (int v = 0; v < NV; ++v) Vt::store(out + o * ldo + p + v * L, acc[o][v]);
}

template <class T, int OCB>
void conv_rows(const T* xs, const int64_t* off, int64_t K, const T* w, int64_t ldw, int64_t E, T* out, int64_t ldo) {
  constexpr int L = V<T>::n;
  const int64_t nvec = (E + L - 1) / L;
  int64_t v = 0;
  for (; v + kNV <= nvec; v += kNV) conv_tile<T, OCB, kNV>(xs, off, K, w, ldw, v * L, out, ldo);
  const int64_t r = nvec - v;  // the tail of the run, in fewer vectors (kNV is 2 or 4)
  if (r == 1) conv_tile<T, OCB, 1>(xs, off, K, w, ldw, v * L, out, ldo);
  if constexpr (kNV > 2) {
    if (r == 2) conv_tile<T, OCB, 2>(xs, off, K, w, ldw, v * L, out, ldo);
    if (r == 3) conv_tile<T, OCB, 3>(xs, off, K, w, ldw, v * L, out, ldo);
  }
}

template <class T>
void conv_body(const T* xs, const int64_t* off, int64_t K, const T* w, int64_t ldw, int64_t ocn, int64_t E, T* out,
               int64_t ldo) {
  // xs: phase buffer; w (ocn, ldw); out (ocn, ldo), run p < E (rounded up to the lanes)
  int64_t o = 0;
  for (; o + kOCB <= ocn; o += kOCB) conv_rows<T, kOCB>(xs, off, K, w + o * ldw, ldw, E, out + o * ldo, ldo);
  const T* wt = w + o * ldw;
  T* ot = out + o * ldo;
  const int64_t r = ocn - o;  // the last channels (kOCB is 4 or 6)
  if (r == 1) conv_rows<T, 1>(xs, off, K, wt, ldw, E, ot, ldo);
  if (r == 2) conv_rows<T, 2>(xs, off, K, wt, ldw, E, ot, ldo);
  if (r == 3) conv_rows<T, 3>(xs, off, K, wt, ldw, E, ot, ldo);
  if constexpr (kOCB > 4) {
    if (r == 4) conv_rows<T, 4>(xs, off, K, wt, ldw, E, ot, ldo);
    if (r == 5) conv_rows<T, 5>(xs, off, K, wt, ldw, E, ot, ldo);
  }
}

// OB output channels x KB taps of the weight gradient: dot products over the rows of dy. The loops over
// the accumulators are unrolled by pragma: GCC's own unrolling left acc[][] an array on the stack, stored
// and reloaded at every step (LeNet's conv1 weight gradient ran at a third of the FMA rate).
template <class T, int OB, int KB>
inline void wgrad_tile(const T* xs, const int64_t* off, const T* dy, int64_t ldy, int64_t OH, int64_t OW, int64_t Wq,
                       T* dw, int64_t ldw, bool accumulate) {
  using Vt = V<T>;
  using R = typename Vt::R;
  constexpr int L = Vt::n;
  R acc[OB][KB];
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 8
    for (int q = 0; q < KB; ++q) acc[o][q] = Vt::zero();
  const T* xq[KB];
#pragma GCC unroll 8
  for (int q = 0; q < KB; ++q) xq[q] = xs + off[q];
  // one step of c columns (c < L: masked; the run's extra columns may hold anything, even Inf)
  auto step = [&](const T* dyp, int64_t xo, int64_t c, bool masked) __attribute__((always_inline)) {
    R d[OB];
#pragma GCC unroll 8
    for (int o = 0; o < OB; ++o) d[o] = masked ? Vt::load_part(dyp + o * ldy, c) : Vt::load(dyp + o * ldy);
#pragma GCC unroll 8
    for (int q = 0; q < KB; ++q) {
      const R xv = masked ? Vt::load_part(xq[q] + xo, c) : Vt::load(xq[q] + xo);
#pragma GCC unroll 8
      for (int o = 0; o < OB; ++o) acc[o][q] = Vt::fma(d[o], xv, acc[o][q]);
    }
  };
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* dyr = dy + oh * OW;
    const int64_t xo = oh * Wq;
    int64_t ow = 0;
    for (; ow + L <= OW; ow += L) step(dyr + ow, xo + ow, L, false);
    if (ow < OW) step(dyr + ow, xo + ow, OW - ow, true);
  }
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 8
    for (int q = 0; q < KB; ++q) {
      const T s = Vt::sum(acc[o][q]);
      dw[o * ldw + q] = accumulate ? dw[o * ldw + q] + s : s;
    }
}

template <class T, int OB>
void wgrad_taps(const T* xs, const int64_t* off, int64_t K, const T* dy, int64_t ldy, int64_t OH, int64_t OW,
                int64_t Wq, T* dw, int64_t ldw, bool acc) {
  int64_t k = 0;
  for (; k + kKB <= K; k += kKB) wgrad_tile<T, OB, kKB>(xs, off + k, dy, ldy, OH, OW, Wq, dw + k, ldw, acc);
  switch (K - k) {
    case 0: break;
    case 1: wgrad_tile<T, OB, 1>(xs, off + k, dy, ldy, OH, OW, Wq, dw + k, ldw, acc); break;
    case 2: wgrad_tile<T, OB, 2>(xs, off + k, dy, ldy, OH, OW, Wq, dw + k, ldw, acc); break;
    default: wgrad_tile<T, OB, 3>(xs, off + k, dy, ldy, OH, OW, Wq, dw + k, ldw, acc); break;
  }
}

template <class T>
void wgrad_body(const T* xs, const int64_t* off, int64_t K, const T* dy, int64_t ldy, int64_t ocn, int64_t OH,
                int64_t OW, int64_t Wq, T* dw, int64_t ldw, bool acc) {
  // dy (ocn, ldy) rows of OH*OW; dw (ocn, ldw)
  // Every (o, k) sum runs over the same pixels in the same order in any block, so the blocking changes no
  // bit. The last ocn % kOB channels go in one narrower block: one channel at a time, each would load
  // the taps' inputs again for a single multiply-add apiece (LeNet's conv1, 6 channels, had run as
  // 4 + 1 + 1 with AVX-512's former 4-channel block; now one block of 6).
  int64_t o = 0;
  for (; o + kOB <= ocn; o += kOB) wgrad_taps<T, kOB>(xs, off, K, dy + o * ldy, ldy, OH, OW, Wq, dw + o * ldw, ldw, acc);
  with_size<kOB - 1>(ocn - o, [&](auto ob) {
    wgrad_taps<T, decltype(ob)::value>(xs, off, K, dy + o * ldy, ldy, OH, OW, Wq, dw + o * ldw, ldw, acc);
  });
}

// KV taps x NV vectors of channels of the weight gradient, channels in the lanes: one output row.
template <class T, int KV, int NV>
inline void wgrad_oc_tile(const T* xr, const int64_t* off, const T* dr, int64_t ocr, int64_t OW, T* dwt,
                          bool accumulate) {
  using Vt = V<T>;
  constexpr int L = Vt::n;
  typename Vt::R acc[KV][NV];
  for (int q = 0; q < KV; ++q)
    for (int v = 0; v < NV; ++v) acc[q][v] = accumulate ? Vt::load(dwt + q * ocr + v * L) : Vt::zero();
  const T* xq[KV];
  for (int q = 0; q < KV; ++q) xq[q] = xr + off[q];
  for (int64_t ow = 0; ow < OW; ++ow) {
    typename Vt::R d[NV];
    for (int v = 0; v < NV; ++v) d[v] = Vt::load(dr + ow * ocr + v * L);
    for (int q = 0; q < KV; ++q) {
      const typename Vt::R xb = Vt::set1(xq[q][ow]);
      for (int v = 0; v < NV; ++v) acc[q][v] = Vt::fma(xb, d[v], acc[q][v]);
    }
  }
  for (int q = 0; q < KV; ++q)
    for (int v = 0; v < NV; ++v) Vt::store(dwt + q * ocr + v * L, acc[q][v]);
}


// R runs of KW taps whose offsets are consecutive (off[r*KW + j] = off[r*KW] + j: stride and dilation 1
// along the row) x one vector of channels, output rows oh0 <= oh < oh1. Tap j of a run meets pixel ow
// at x[ow + j], so one broadcast of x[t] serves the KW taps (pixels ow = t - j): R broadcasts and KW
// loads of dy per R*KW multiply-adds, where the tile over taps needs a broadcast for each. Every sum
// still runs over the pixels in raster order (the same results as wgrad_oc_tile).
template <class T, int R, int KW, bool Check>
inline void wgrad_run_step(int64_t t, const T* const* xr, const T* dr, int64_t ocr, int64_t OW,
                           typename V<T>::R (&acc)[R][KW]) {
  using Vt = V<T>;
  typename Vt::R bx[R];
  for (int r = 0; r < R; ++r) bx[r] = Vt::set1(xr[r][t]);
  for (int j = 0; j < KW; ++j) {
    const int64_t ow = t - j;
    if (Check && (ow < 0 || ow >= OW)) continue;
    const typename Vt::R d = Vt::load(dr + ow * ocr);
    for (int r = 0; r < R; ++r) acc[r][j] = Vt::fma(bx[r], d, acc[r][j]);
  }
}

template <class T, int R, int KW>
inline void wgrad_run_tile(const T* xs, const int64_t* off, const T* dyt, int64_t ocr, int64_t oh0, int64_t oh1,
                           int64_t OW, int64_t Wq, T* dwt, bool accumulate) {
  using Vt = V<T>;
  typename Vt::R acc[R][KW];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < KW; ++j) acc[r][j] = accumulate ? Vt::load(dwt + (r * KW + j) * ocr) : Vt::zero();
  const int64_t tn = OW + KW - 1, h = std::min<int64_t>(KW - 1, tn), m = std::max<int64_t>(OW, h);
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const T* xr[R];
    for (int r = 0; r < R; ++r) xr[r] = xs + off[r * KW] + oh * Wq;
    const T* dr = dyt + oh * OW * ocr;
    int64_t t = 0;
    for (; t < h; ++t) wgrad_run_step<T, R, KW, true>(t, xr, dr, ocr, OW, acc);
    for (; t < OW; ++t) wgrad_run_step<T, R, KW, false>(t, xr, dr, ocr, OW, acc);
    for (t = m; t < tn; ++t) wgrad_run_step<T, R, KW, true>(t, xr, dr, ocr, OW, acc);
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < KW; ++j) Vt::store(dwt + (r * KW + j) * ocr, acc[r][j]);
}

// Whether the K taps are runs of KW consecutive offsets.
inline bool runs_of(const int64_t* off, int64_t K, int64_t KW) {
  if (K % KW) return false;
  for (int64_t k = 0; k < K; k += KW)
    for (int64_t j = 1; j < KW; ++j)
      if (off[k + j] != off[k] + j) return false;
  return true;
}

template <class T, int KW>
void wgrad_runs_body(const T* xs, const int64_t* off, int64_t K, const T* dyt, int64_t ocr, int64_t OH, int64_t OW,
                     int64_t Wq, T* dwt, bool acc) {
  // blocks of output rows whose dyt stays in L1 (all of LeNet's 10x10x16), runs of taps in tiles of R
  constexpr int L = V<T>::n, R = kRA / KW > 0 ? kRA / KW : 1;
  const int64_t G = K / KW, rb = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, OW * ocr * int64_t(sizeof(T))));
  for (int64_t oh0 = 0; oh0 < OH; oh0 += rb) {
    const int64_t oh1 = std::min(OH, oh0 + rb);
    const bool a = acc || oh0 > 0;
    for (int64_t o = 0; o < ocr; o += L) {
      int64_t g = 0;
      for (; g + R <= G; g += R)
        wgrad_run_tile<T, R, KW>(xs, off + g * KW, dyt + o, ocr, oh0, oh1, OW, Wq, dwt + g * KW * ocr + o, a);
      with_size<R - 1>(G - g, [&](auto r) {
        wgrad_run_tile<T, decltype(r)::value, KW>(xs, off + g * KW, dyt + o, ocr, oh0, oh1, OW, Wq, dwt + g * KW * ocr + o,
                                                   a);
      });
    }
  }
}

template <class T>
void wgrad_oc_body(const T* xs, const int64_t* off, int64_t K, const T* dyt, int64_t ocr, int64_t OH, int64_t OW,
                   int64_t Wq, T* dwt, bool acc) {
  // dyt (OH*OW, ocr) one image's dy, channels last, ocr a multiple of the lanes; dwt (K, ocr). Row by
  // row, so that the row of dyt and the rows of xs it meets stay in L1; the sums run over the rows in
  // order, whatever the blocking.
  if (runs_of(off, K, 5)) return wgrad_runs_body<T, 5>(xs, off, K, dyt, ocr, OH, OW, Wq, dwt, acc);
  if (runs_of(off, K, 3)) return wgrad_runs_body<T, 3>(xs, off, K, dyt, ocr, OH, OW, Wq, dwt, acc);
  constexpr int L = V<T>::n;
  constexpr int KV2 = kKV, KV1 = kKV * 2;  // taps per tile with two vectors of channels, with one
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* xr = xs + oh * Wq;
    const T* dr = dyt + oh * OW * ocr;
    const bool a = acc || oh > 0;
    int64_t o = 0;
    for (; o + 2 * L <= ocr; o += 2 * L) {
      int64_t k = 0;
      for (; k + KV2 <= K; k += KV2) wgrad_oc_tile<T, KV2, 2>(xr, off + k, dr + o, ocr, OW, dwt + k * ocr + o, a);
      with_size<KV2 - 1>(K - k, [&](auto kv) {
        wgrad_oc_tile<T, decltype(kv)::value, 2>(xr, off + k, dr + o, ocr, OW, dwt + k * ocr + o, a);
      });
    }
    if (o < ocr) {
      int64_t k = 0;
      for (; k + KV1 <= K; k += KV1) wgrad_oc_tile<T, KV1, 1>(xr, off + k, dr + o, ocr, OW, dwt + k * ocr + o, a);
      with_size<KV1 - 1>(K - k, [&](auto kv) {
        wgrad_oc_tile<T, decltype(kv)::value, 1>(xr, off + k, dr + o, ocr, OW, dwt + k * ocr + o, a);
      });
    }
  }
}

// The epilogue of a conv_oc sum: + bias (when there is one), then max(., 0) when relu, NaN kept (as
// direct.cpp's extract: the sum first, then the bias, then the clamp).
template <class T>
inline typename V<T>::R finish(typename V<T>::R a, const T* bias, typename V<T>::R bv, bool relu) {
  if (bias) a = V<T>::add(a, bv);
  return relu ? V<T>::relu(a) : a;
}

// conv_y: the outputs straight into their rows of y, no extended run and no extraction pass. Vector j
// of the sequence (oh, c < vpr) reads xs at oh*Wq + c*L (+ off[k]) and writes y at oh*OW + c*L, masked
// past the row's end; OCB channels x NV consecutive vectors a tile, the weights packed (K, OCB) so that
// one pointer serves the tile's broadcasts. Each output sums its taps in the order of k from zero, then
// the bias and the clamp, as conv + extract do: the same results.
template <class T, int OCB, int NV>
inline void conv_y_tile(const T* xs, const int64_t* off, int64_t K, const T* wp, int64_t j0, int64_t vpr,
                        int64_t OW, int64_t Wq, T* y, int64_t ldy, const T* bias, bool relu) {
  using Vt = V<T>;
  constexpr int L = Vt::n;
  const T* src[NV];
  int64_t dst[NV], cnt[NV];
  int64_t oh = j0 / vpr, c = j0 % vpr * L;
  bool full = true;
  for (int v = 0; v < NV; ++v) {
    src[v] = xs + oh * Wq + c;
    dst[v] = oh * OW + c;
    cnt[v] = OW - c < L ? OW - c : L;
    full = full && cnt[v] == L;
    c += L;
    if (c >= OW) c = 0, ++oh;
  }
  typename Vt::R acc[OCB][NV];
  for (int o = 0; o < OCB; ++o)
    for (int v = 0; v < NV; ++v) acc[o][v] = Vt::zero();
  for (int64_t k = 0; k < K; ++k) {
    const int64_t ok = off[k];
    const T* wk = wp + k * OCB;
    typename Vt::R xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = Vt::load(src[v] + ok);
    for (int o = 0; o < OCB; ++o) {
      const typename Vt::R wv = Vt::set1(wk[o]);
      for (int v = 0; v < NV; ++v) acc[o][v] = Vt::fma(wv, xv[v], acc[o][v]);
    }
  }
  // the bias, then the clamp, as finish() does, but each as its own pass over the tile: finish() per
  // accumulator (its tests inside the loops) made the 3->32 forward 12-14% slower
  if (bias)
    for (int o = 0; o < OCB; ++o) {
      const typename Vt::R bv = Vt::set1(bias[o]);
      for (int v = 0; v < NV; ++v) acc[o][v] = Vt::add(acc[o][v], bv);
    }
  if (relu)
    for (int o = 0; o < OCB; ++o)
      for (int v = 0; v < NV; ++v) acc[o][v] = Vt::relu(acc[o][v]);
  if (full) {
    for (int o = 0; o < OCB; ++o)
      for (int v = 0; v < NV; ++v) Vt::store(y + o * ldy + dst[v], acc[o][v]);
  } else {
    for (int o = 0; o < OCB; ++o)
      for (int v = 0; v < NV; ++v) Vt::store_part(y + o * ldy + dst[v], acc[o][v], cnt[v]);
  }
}

template <class T, int OCB, int NV = kNV>
void conv_y_rows(const T* xs, const int64_t* off, int64_t K, const T* w, int64_t ldw, int64_t OH, int64_t OW,
                 int64_t Wq, T* y, int64_t ldy, const T* bias, bool relu) {
  constexpr int L = V<T>::n;
  T wp[kMaxTaps * OCB];  // w's OCB rows, (K, OCB)
  for (int64_t k = 0; k < K; ++k)
    for (int o = 0; o < OCB; ++o) wp[k * OCB + o] = w[o * ldw + k];
  const int64_t vpr = (OW + L - 1) / L, nvec = OH * vpr;
  int64_t j = 0;
  for (; j + NV <= nvec; j += NV) conv_y_tile<T, OCB, NV>(xs, off, K, wp, j, vpr, OW, Wq, y, ldy, bias, relu);
  with_size<NV - 1>(nvec - j, [&](auto nv) {
    conv_y_tile<T, OCB, decltype(nv)::value>(xs, off, K, wp, j, vpr, OW, Wq, y, ldy, bias, relu);
  });
}

// The channels of one conv_y work item: whole register blocks.
int64_t conv_y_block(int64_t OC) {
#if defined(__AVX512F__)
  if (OC % 8 == 0) return 8;
#endif
  return OC < kOCB ? OC : kOCB;
}

template <class T>
void conv_y_body(const T* xs, const int64_t* off, int64_t K, const T* w, int64_t ldw, int64_t ocn, int64_t OH,
                 int64_t OW, int64_t Wq, T* y, int64_t ldy, const T* bias, bool relu) {
  int64_t o = 0;
#if defined(__AVX512F__)
  // channels a multiple of 8 (3->32): 8 x 3 blocks, the same 24 accumulators, and no short last block
  if (ocn % 8 == 0) {
    for (; o < ocn; o += 8)
      conv_y_rows<T, 8, 3>(xs, off, K, w + o * ldw, ldw, OH, OW, Wq, y + o * ldy, ldy, bias ? bias + o : nullptr,
                           relu);
    return;
  }
#endif
  for (; o + kOCB <= ocn; o += kOCB)
    conv_y_rows<T, kOCB>(xs, off, K, w + o * ldw, ldw, OH, OW, Wq, y + o * ldy, ldy, bias ? bias + o : nullptr, relu);
  with_size<kOCB - 1>(ocn - o, [&](auto ob) {
    conv_y_rows<T, decltype(ob)::value>(xs, off, K, w + o * ldw, ldw, OH, OW, Wq, y + o * ldy, ldy,
                                        bias ? bias + o : nullptr, relu);
  });
}

// PB pixels of one output row x NV vectors of channels, channels in the lanes.
template <class T, int PB, int NV>
inline void conv_oc_tile(const T* xr, const int64_t* off, int64_t K, const T* wt, int64_t ocr, T* yt,
                         const T* bias, bool relu) {
  using Vt = V<T>;
  constexpr int L = Vt::n;
  typename Vt::R acc[PB][NV];
  for (int q = 0; q < PB; ++q)
    for (int v = 0; v < NV; ++v) acc[q][v] = Vt::zero();
  for (int64_t k = 0; k < K; ++k) {
    const T* xk = xr + off[k];
    typename Vt::R wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = Vt::load(wt + k * ocr + v * L);
    for (int q = 0; q < PB; ++q) {
      const typename Vt::R xb = Vt::set1(xk[q]);
      for (int v = 0; v < NV; ++v) acc[q][v] = Vt::fma(xb, wv[v], acc[q][v]);
    }
  }
  for (int v = 0; v < NV; ++v) {
    const typename Vt::R bv = bias ? Vt::load(bias + v * L) : Vt::zero();
    for (int q = 0; q < PB; ++q) Vt::store(yt + q * ocr + v * L, finish<T>(acc[q][v], bias, bv, relu));
  }
}


#if defined(__AVX512F__)
// conv_oc where each run of KW taps reads KW consecutive elements (a unit column step, no column
// dilation: stride-1 layers such as LeNet's conv2): the PB + KW - 1 inputs a tile's PB pixels read in one
// run are broadcast once and each feeds up to KW FMAs, where conv_oc_tile broadcasts one per FMA. That
// takes the loads from one per FMA (load-port bound at 16 channels) to about (PB + 2*KW) / (PB*KW).
// Each pixel still sums its taps in order k = 0, 1, ..., K-1 with one FMA each: the same results.
// Registers: PB accumulators + PB + KW - 1 broadcasts + a weight vector, within AVX-512's 32.
template <int KW>
constexpr int run_pb() { return (31 - KW) / 2 < 14 ? (31 - KW) / 2 : 14; }

template <class T, int PB, int KW>
inline void conv_oc_run_tile(const T* xr, const int64_t* off, int64_t K, const T* wt, int64_t ocr, T* yt,
                         const T* bias, bool relu) {
  using Vt = V<T>;
  typename Vt::R acc[PB];
  for (int q = 0; q < PB; ++q) acc[q] = Vt::zero();
  for (int64_t k = 0; k < K; k += KW) {
    const T* xk = xr + off[k];
    typename Vt::R b[PB + KW - 1];
    for (int i = 0; i < PB + KW - 1; ++i) b[i] = Vt::set1(xk[i]);
    for (int j = 0; j < KW; ++j) {
      const typename Vt::R wv = Vt::load(wt + (k + j) * ocr);
      for (int q = 0; q < PB; ++q) acc[q] = Vt::fma(b[q + j], wv, acc[q]);
    }
  }
  const typename Vt::R bv = bias ? Vt::load(bias) : Vt::zero();
  for (int q = 0; q < PB; ++q) Vt::store(yt + q * ocr, finish<T>(acc[q], bias, bv, relu));
}


// One vector of channels (wt + o, yt + o) over rows of OW pixels, in tiles of as equal a size as
// run_pb<KW>() allows (even_runs).
template <class T, int KW>
void conv_oc_run_rows(const T* xs, const int64_t* off, int64_t K, const T* wt, int64_t ocr, int64_t OH,
                      int64_t OW, int64_t Wq, T* yt, const T* bias, bool relu) {
  constexpr int PB = run_pb<KW>();
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* xr = xs + oh * Wq;
    T* yr = yt + oh * OW * ocr;
    even_runs(OW, PB, [&](int64_t ow, int64_t n) {
      with_size<PB>(n, [&](auto pb) {
        conv_oc_run_tile<T, decltype(pb)::value, KW>(xr + ow, off, K, wt, ocr, yr + ow * ocr, bias, relu);
      });
    });
  }
}
#endif

template <class T>
void conv_oc_body(const T* xs, const int64_t* off, int64_t K, const T* wt, int64_t ocr, int64_t OH, int64_t OW,
                  int64_t Wq, T* yt, int64_t run, const T* bias, bool relu) {
  // wt (K, ocr), yt (OH*OW, ocr): channels in the lanes, ocr a multiple of them
  constexpr int L = V<T>::n;
#if defined(__AVX512F__)
  if (ocr == L && (run == 3 || run == 5 || run == 7)) {
    // one vector of channels, where the per-tap tile is load-bound (with two, it has two FMAs a load)
    if (run == 3) conv_oc_run_rows<T, 3>(xs, off, K, wt, ocr, OH, OW, Wq, yt, bias, relu);
    if (run == 5) conv_oc_run_rows<T, 5>(xs, off, K, wt, ocr, OH, OW, Wq, yt, bias, relu);
    if (run == 7) conv_oc_run_rows<T, 7>(xs, off, K, wt, ocr, OH, OW, Wq, yt, bias, relu);
    return;
  }
#else
  (void)run;
#endif
  constexpr int PB2 = kPB, PB1 = kPB * 2;  // pixels per tile with two vectors of channels, with one
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* xr = xs + oh * Wq;
    T* yr = yt + oh * OW * ocr;
    int64_t o = 0;
    for (; o + 2 * L <= ocr; o += 2 * L) {
      int64_t ow = 0;
      for (; ow + PB2 <= OW; ow += PB2) conv_oc_tile<T, PB2, 2>(xr + ow, off, K, wt + o, ocr, yr + ow * ocr + o,
                                                 bias ? bias + o : nullptr, relu);
      with_size<PB2 - 1>(OW - ow, [&](auto pb) {
        conv_oc_tile<T, decltype(pb)::value, 2>(xr + ow, off, K, wt + o, ocr, yr + ow * ocr + o,
                                                bias ? bias + o : nullptr, relu);
      });
    }
    if (o < ocr) {
      int64_t ow = 0;
      for (; ow + PB1 <= OW; ow += PB1) conv_oc_tile<T, PB1, 1>(xr + ow, off, K, wt + o, ocr, yr + ow * ocr + o,
                                                 bias ? bias + o : nullptr, relu);
      with_size<PB1 - 1>(OW - ow, [&](auto pb) {
        conv_oc_tile<T, decltype(pb)::value, 1>(xr + ow, off, K, wt + o, ocr, yr + ow * ocr + o,
                                                bias ? bias + o : nullptr, relu);
      });
    }
  }
}

// dst[c*ldd + r] = src[r*lds + c], r < rows, c < cols: 8x8 (float) or 4x4 (double) register
// transposes where the level has them, single elements at the edges.
template <class T>
void transpose_body(const T* src, int64_t rows, int64_t cols, int64_t lds, T* dst, int64_t ldd) {
  int64_t r0 = 0, c0 = 0;
#if defined(__AVX__)
  constexpr int B = sizeof(T) == 4 ? 8 : 4;
  // columns in chunks of 256, each chunk's rows in blocks of B: the chunk's dst rows stay in L1 while
  // every block of source rows fills its share of them (all columns per row block rewrote each dst line
  // from L2 once per block; all rows per column block thrash L1's sets with source rows 4 KiB apart).
  // A 3->32 weight gradient's dy (32 x 1024 an image): 1.05x (chunks of 128 the same, 512 and 64 less)
  constexpr int64_t kChunk = 256;
  const int64_t rb = rows / B * B, cb = cols / B * B;
  for (int64_t cc = 0; cc < cb; cc += kChunk)
    for (int64_t r = 0; r < rb; r += B)
      for (int64_t c = cc; c < std::min<int64_t>(cc + kChunk, cb); c += B) {
        if constexpr (sizeof(T) == 4)
          transpose_8x8_ps(src + r * lds + c, lds, dst + c * ldd + r, ldd, 0);
        else
          transpose_4x4_pd(src + r * lds + c, lds, dst + c * ldd + r, ldd, 0);
      }
  r0 = rb;
  c0 = cb;
  for (int64_t r = 0; r < r0; ++r)  // the last columns of the blocked rows
    for (int64_t c = c0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
#endif
  for (int64_t r = r0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
}

template <class T>
void copy_body(const T* src, int64_t n, T* dst) {
  using Vt = V<T>;
  constexpr int L = Vt::n;
  int64_t i = 0;
  for (; i + L <= n; i += L) Vt::store(dst + i, Vt::load(src + i));
  if (i < n) Vt::store_part(dst + i, Vt::load_part(src + i, n - i), n - i);
}

// Whether p[0, n) are all finite (the sum of v*0 is 0 exactly then).
template <class T>
bool finite_body(const T* p, int64_t n) {
  using Vt = V<T>;
  constexpr int L = Vt::n;
  typename Vt::R nf[4] = {Vt::zero(), Vt::zero(), Vt::zero(), Vt::zero()};
  const typename Vt::R zero = Vt::zero();
  int64_t k = 0;
  for (; k + 4 * L <= n; k += 4 * L)
    for (int u = 0; u < 4; ++u) nf[u] = Vt::fma(Vt::load(p + k + u * L), zero, nf[u]);
  for (; k + L <= n; k += L) nf[0] = Vt::fma(Vt::load(p + k), zero, nf[0]);
  if (k < n) nf[1] = Vt::fma(Vt::load_part(p + k, n - k), zero, nf[1]);
  return Vt::sum(Vt::add(Vt::add(nf[0], nf[1]), Vt::add(nf[2], nf[3]))) == T(0);
}

// The input transform: the band's padded rows (zeros where the input has none, and past the padded
// row's end), Wr apart in `pad`, into n planes of B^T d, one per position p, over every column of the
// band as one run (a window that crosses into the next row gives a column the kernel never reads; so
// does every column but each m-th: computing them all keeps the loop a plain one the level's flags
// vectorise, where splitting the rows into their m column phases first, a strided copy, cost more).
template <class T, class Sc>
bool wino_input_body(const T* x, const Geometry& g, int64_t a0, int64_t rows, int64_t Wr, T* z, T* pad) {
  constexpr int n = Sc::n, m = Sc::m;
  const int64_t E = rows * Wr, Et = E / m;  // Wr: a multiple of m
  const int64_t lo = std::min<int64_t>(g.pw, Wr), hi = std::max(lo, std::min<int64_t>(g.pw + g.W, Wr));
  using Vt = V<T>;
  constexpr int L = Vt::n;
  for (int64_t k = E; k < E + n; ++k) pad[k] = T(0);
  // finite_body over each channel's padded rows after the copy (a test per element, or a reduction per
  // row, in the copy loop cost as much as the copy)
  bool ok = true;
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t a = 0; a < rows; ++a) {
      T* __restrict pr = pad + a * Wr;
      const int64_t h = a0 + a - g.ph;
      if (h < 0 || h >= g.H) {
        for (int64_t k = 0; k < Wr; ++k) pr[k] = T(0);
        continue;
      }
      const T* src = x + (c * g.H + h) * g.W - g.pw;
      for (int64_t k = 0; k < lo; ++k) pr[k] = T(0);
      int64_t k = lo;
      for (; k + L <= hi; k += L) Vt::store(pr + k, Vt::load(src + k));
      if (k < hi) Vt::store_part(pr + k, Vt::load_part(src + k, hi - k), hi - k);
      for (k = hi; k < Wr; ++k) pr[k] = T(0);
    }
    ok &= finite_body<T>(pad, E);
    T* __restrict zc = z + c * n * Et;
    #pragma GCC ivdep
    for (int64_t s = 0; s < Et; ++s) {
      T d[n];
      #pragma GCC unroll 8
      for (int l = 0; l < n; ++l) d[l] = pad[m * s + l];
      #pragma GCC unroll 8
      for (int p = 0; p < n; ++p) zc[p * Et + s] = combine(Sc::BT[p], d);
    }
  }
  return ok;
}

// TB consecutive tiles of one output row (the first's transformed input at z, the next ones' m apart,
// its outputs at out) x one vector of channels (their transformed weights at U): the n position sums
// over (c, i) in order, then A^T, the bias and the clamp; the last tile stores its first `last` outputs.
// The tiles' columns and the positions' weights are constant displacements from one pointer per
// position, and each weight vector loaded feeds TB FMAs. (Two vectors of channels a block, two tiles
// each, lost: 16 -> 32 on 10x10 1.8-2.3 ms against 1.08 with one, N = 64, one Zen 4 core.)
template <class T, class Sc, int TB>
inline void wino_block(const T* z, int64_t C, int64_t kh, int64_t zc, int64_t zrow, int64_t S, const T* U, T* out,
                       int64_t OC, int64_t last, const T* bias, bool relu) {
  using Vt = V<T>;
  using R = typename Vt::R;
  constexpr int L = Vt::n, n = Sc::n, m = Sc::m;
  R acc[TB][n];
  #pragma GCC unroll 8
  for (int tb = 0; tb < TB; ++tb)
    #pragma GCC unroll 8
    for (int p = 0; p < n; ++p) acc[tb][p] = Vt::zero();
  const T* zc0 = z;
  const T* u = U;
  for (int64_t c = 0; c < C; ++c, zc0 += zc)
    for (int64_t i = 0; i < kh; ++i, u += n * L) {
      const T* zb = zc0 + i * zrow;
      #pragma GCC unroll 8
      for (int p = 0; p < n; ++p) {
        const T* zp = zb + p * S;
        const R wv = Vt::load(u + p * L);
        #pragma GCC unroll 8
        for (int tb = 0; tb < TB; ++tb) acc[tb][p] = Vt::fma(Vt::set1(zp[tb]), wv, acc[tb][p]);
      }
    }
  const R bv = bias ? Vt::load(bias) : Vt::zero();
  #pragma GCC unroll 8
  for (int tb = 0; tb < TB; ++tb) {
    const int64_t cnt = tb == TB - 1 ? last : m;
    #pragma GCC unroll 4
    for (int j = 0; j < m; ++j)
      if (j < cnt) Vt::store(out + (tb * m + j) * OC, finish<T>(combine(Sc::AT[j], acc[tb]), bias, bv, relu));
  }
}

// U: the transformed weights by vector of channels, us = C*kh*n*lanes apart: vector v's position p of
// (c, i) at U[v*us + ((c*kh + i)*n + p)*lanes]. Row by row: the row's channel vectors into yt (OW, OC),
// then the row transposed into y's planes while it is in L1.
template <class T, class Sc>
void wino_conv_body(const T* z, int64_t C, int64_t kh, int64_t zc, int64_t zrow, int64_t S, const T* U, int64_t OC,
                    int64_t OH, int64_t OW, T* yt, T* y, int64_t ldy, const T* bias, bool relu) {
  constexpr int L = V<T>::n, m = Sc::m, n = Sc::n;
  const int64_t tiles = (OW + m - 1) / m, us = C * kh * n * L;
  const int64_t last = OW - (tiles - 1) * m;  // the outputs of a row's last tile
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* zr = z + oh * zrow;
    for (int64_t o = 0; o < OC; o += L) {
      const T* Uo = U + o / L * us;
      const T* bo = bias ? bias + o : nullptr;
      T* yr = yt + o;
      int64_t t = 0;
      for (; t + kWTB < tiles; t += kWTB)
        wino_block<T, Sc, kWTB>(zr + t, C, kh, zc, zrow, S, Uo, yr + t * m * OC, OC, m, bo, relu);
      with_size<kWTB>(tiles - t, [&](auto tb) {
        wino_block<T, Sc, decltype(tb)::value>(zr + t, C, kh, zc, zrow, S, Uo, yr + t * m * OC, OC, last, bo, relu);
      });
    }
    transpose_body<T>(yt, OW, OC, OC, y + oh * OW, ldy);
  }
}

// dgrad_img: CB channels x B columns of one dx row, the images in the lanes. z: dz at the block's first
// column; wt: the weights at the block's first channel. The taps j of [ja, jb) reach a column of dy for
// one of the block's columns at least; the others' products would all be of dz's zero columns. Each
// output sums its taps in the order (i, o, j) with one FMA each from zero, as conv does on the upsampled
// dy, less those products of zeros. (A test per column and tap, skipping every zero, was no faster.)
template <class T, int CB, int B>
inline void dgrad_img_tile(const T* z, int64_t zo, int64_t zr, const T* wt, int64_t KT, int64_t OC, int64_t r0,
                           int64_t ia, int64_t ib, int64_t dh, int64_t kw, int64_t dwl, int64_t ja, int64_t jb,
                           T* out, int64_t ldo) {
  using Vt = V<T>;
  using R = typename Vt::R;
  constexpr int L = Vt::n;
  R acc[CB][B];
  #pragma GCC unroll 8
  for (int c = 0; c < CB; ++c)
    #pragma GCC unroll 8
    for (int b = 0; b < B; ++b) acc[c][b] = Vt::zero();
  for (int64_t i = ia; i < ib; ++i) {
    const T* zi = z + (r0 + i * dh) * zr;
    const T* wi = wt + i * OC * kw;
    for (int64_t o = 0; o < OC; ++o) {
      const T* zio = zi + o * zo;
      const T* wo = wi + o * kw;
      for (int64_t j = ja; j < jb; ++j) {
        const T* zj = zio + j * dwl;
        R xv[B];
        #pragma GCC unroll 8
        for (int b = 0; b < B; ++b) xv[b] = Vt::load(zj + b * L);
        #pragma GCC unroll 8
        for (int c = 0; c < CB; ++c) {
          const R wv = Vt::set1(wo[c * KT + j]);
          #pragma GCC unroll 8
          for (int b = 0; b < B; ++b) acc[c][b] = Vt::fma(wv, xv[b], acc[c][b]);
        }
      }
    }
  }
  #pragma GCC unroll 8
  for (int c = 0; c < CB; ++c)
    #pragma GCC unroll 8
    for (int b = 0; b < B; ++b) Vt::store(out + c * ldo + b * L, acc[c][b]);
}

// Columns per block with CB channels: as many as the accumulators allow, at most kDB.
template <int CB>
constexpr int dgrad_cols() { return kDAcc / CB < 1 ? 1 : (kDAcc / CB > kDB ? kDB : kDAcc / CB); }

template <class T>
void dgrad_img_body(const T* dz, const Geometry& g, int64_t OC, int64_t Ph, int64_t Pw, int64_t Wz, const T* wt,
                    int64_t h, T* row) {
  constexpr int L = V<T>::n;
  constexpr int kCB = kDAcc / 4 < 6 ? kDAcc / 4 : 6;  // channels a block (4 columns at least)
  const int64_t zo = Wz * L, zr = OC * zo, KT = OC * g.kh * g.kw, ldo = g.W * L;
  // the kernel rows that reach a row of dy: 0 <= h + i*dh - Ph < OH
  const int64_t r0 = h - Ph;
  int64_t ia, ib;
  valid_span(r0, g.dh, g.OH, g.kh, &ia, &ib);
  if (ia >= ib) {
    std::fill(row, row + g.C * ldo, T(0));
    return;
  }
  even_runs(g.C, kCB, [&](int64_t c0, int64_t cn) {  // channel blocks
    with_size<kCB>(cn, [&](auto cbc) {
      constexpr int CB = decltype(cbc)::value, B = dgrad_cols<CB>();
      const T* w = wt + c0 * KT;
      T* out = row + c0 * ldo;
      // the taps j with Pw <= w0 + b + j*dw < Pw + OW for a column b < BW of the block at w0
      auto tile = [&](int64_t w0, auto bwc) {
        constexpr int BW = decltype(bwc)::value;
        int64_t ja, jb;
        valid_span(w0 + BW - 1 - Pw, g.dw, g.OW + BW - 1, g.kw, &ja, &jb);
        dgrad_img_tile<T, CB, BW>(dz + w0 * L, zo, zr, w, KT, OC, r0, ia, ib, g.dh, g.kw, g.dw * L, ja, jb,
                                  out + w0 * L, ldo);
      };
      int64_t w0 = 0;
      for (; w0 + B <= g.W; w0 += B) tile(w0, std::integral_constant<int, B>{});
      with_size<B - 1>(g.W - w0, [&](auto bw) { tile(w0, bw); });
    });
  });
}

// The row-Winograd weight gradient's dy side: ad[((p*rows + h)*TT + t)*OC + o] = sum over j < m of
// AT[j][p] * dyt[(h*OW + t*m + j)*OC + o] (0 past the row's end), t < TT = ceil(OW / m): A dy per tile,
// the transpose of the forward's A^T. Returns whether every dy value it read was finite.
template <class T, class Sc>
void wino_ady_body(const T* dyt, int64_t OC, int64_t rows, int64_t OW, T* ad) {
  using Vt = V<T>;
  using R = typename Vt::R;
  constexpr int L = Vt::n, n = Sc::n, m = Sc::m;
  const int64_t TT = (OW + m - 1) / m;
  const R zero = Vt::zero();
  for (int64_t h = 0; h < rows; ++h)
    for (int64_t t = 0; t < TT; ++t)
      for (int64_t o = 0; o < OC; o += L) {
        R d[m];
        for (int j = 0; j < m; ++j) d[j] = t * m + j < OW ? Vt::load(dyt + (h * OW + t * m + j) * OC + o) : zero;
        for (int p = 0; p < n; ++p) {
          R a = zero;
          for (int j = 0; j < m; ++j)
            if (Sc::AT[j][p] != 0) a = Vt::fma(Vt::set1(T(Sc::AT[j][p])), d[j], a);
          Vt::store(ad + ((p * rows + h) * TT + t) * OC + o, a);
        }
      }
}

// CB channels x KH kernel rows of one position p and one vector of channels o of the row-Winograd weight
// gradient: M[c][i] += sum over (t, h) in order of z[c*zc + (h + i)*zrow + t] * ad[(h*TT + t)*OC]. Each
// ad vector loaded feeds CB*KH broadcast-FMAs (the forward's wino_block with the tiles and the taps'
// roles swapped).
template <class T, int CB, int KH>
inline void wino_wgrad_block(const T* z, int64_t zc, int64_t zrow, const T* ad, int64_t rows, int64_t TT, int64_t OC,
                             T* M, int64_t mi, int64_t mc) {
  using Vt = V<T>;
  using R = typename Vt::R;
  R acc[CB][KH];
  #pragma GCC unroll 8
  for (int c = 0; c < CB; ++c)
    #pragma GCC unroll 8
    for (int i = 0; i < KH; ++i) acc[c][i] = Vt::load(M + c * mc + i * mi);
  // by tile column, then row: a pointer per kernel row (the channels at multiples of zc from it) walks
  // down the rows; with one pointer per (channel, kernel row) the compiler spilled them
  const int64_t ast = TT * OC;
  for (int64_t t = 0; t < TT; ++t) {
    const T* zi[KH];
    #pragma GCC unroll 8
    for (int i = 0; i < KH; ++i) zi[i] = z + i * zrow + t;
    const T* ap = ad + t * OC;
    for (int64_t h = 0; h < rows; ++h, ap += ast) {
      const R a = Vt::load(ap);
      #pragma GCC unroll 8
      for (int i = 0; i < KH; ++i) {
        #pragma GCC unroll 8
        for (int c = 0; c < CB; ++c) acc[c][i] = Vt::fma(Vt::set1(zi[i][c * zc]), a, acc[c][i]);
        zi[i] += zrow;
      }
    }
  }
  #pragma GCC unroll 8
  for (int c = 0; c < CB; ++c)
    #pragma GCC unroll 8
    for (int i = 0; i < KH; ++i) Vt::store(M + c * mc + i * mi, acc[c][i]);
}

// M[((c*kh + i)*n + p)*OC + o] += sum over the band's output rows h < rows and tiles t < TT of
// z[c*zc + p*S + (h + i)*zrow + t] * ad[((p*rows + h)*TT + t)*OC + o], kh == Sc::r (5).
template <class T, class Sc>
void wino_wgrad_body(const T* z, int64_t C, int64_t zc, int64_t zrow, int64_t S, const T* ad, int64_t OC,
                     int64_t rows, int64_t TT, T* M) {
  constexpr int L = V<T>::n, n = Sc::n, KH = Sc::r;
  for (int64_t o = 0; o < OC; o += L)
    for (int p = 0; p < n; ++p)
      even_runs(C, kWCB, [&](int64_t c0, int64_t cn) {  // channel blocks
        with_size<kWCB>(cn, [&](auto cb) {
          wino_wgrad_block<T, decltype(cb)::value, KH>(z + c0 * zc + p * S, zc, zrow, ad + p * rows * TT * OC + o,
                                                        rows, TT, OC, M + (c0 * KH * n + p) * OC + o, n * OC,
                                                        KH * n * OC);
        });
      });
}

template <class T, class Sc>
void wino_wfinish_body(const T* M, int64_t pairs, int64_t OC, T* dwt, bool accumulate) {
  using Vt = V<T>;
  using R = typename Vt::R;
  constexpr int L = Vt::n, n = Sc::n, r = Sc::r;
  for (int64_t q = 0; q < pairs; ++q)
    for (int k = 0; k < r; ++k) {
      T* d = dwt + (q * r + k) * OC;
      const T* mq = M + q * n * OC;
      for (int64_t o = 0; o < OC; o += L) {
        R s = Vt::zero();
        for (int p = 0; p < n; ++p)
          if (Sc::G[p][k] != 0) s = Vt::fma(Vt::set1(T(Sc::G[p][k])), Vt::load(mq + p * OC + o), s);
        Vt::store(d + o, accumulate ? Vt::add(Vt::load(d + o), s) : s);
      }
    }
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->finite = &finite_body<T>;
  if constexpr (kDgradImg)
    k->dgrad_img = &dgrad_img_body<T>;
  else
    k->dgrad_img = nullptr;
  // row Winograd's weight gradient at every level; its forward where kRowWinograd
  k->wino_input = &wino_input_body<T, RowF25>;
  k->wino_ady = &wino_ady_body<T, RowF25>;
  k->wino_wgrad = &wino_wgrad_body<T, RowF25>;
  k->wino_wfinish = &wino_wfinish_body<T, RowF25>;
  if constexpr (kRowWinograd)
    k->wino_conv = &wino_conv_body<T, RowF25>;
  else
    k->wino_conv = nullptr;
  k->copy = &copy_body<T>;
  k->transpose = &transpose_body<T>;
  k->conv_oc = &conv_oc_body<T>;
  k->wgrad_oc = &wgrad_oc_body<T>;
  k->lanes = V<T>::n;
  k->wgrad_rows_from = std::max<int64_t>(2 * V<T>::n, kWgradRowsFrom);
  k->ocb = kOCB;
  k->conv = &conv_body<T>;
  k->conv_y = &conv_y_body<T>;
  k->conv_y_block = &conv_y_block;
  k->wgrad = &wgrad_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace direct
}  // namespace conv
}  // namespace fe
