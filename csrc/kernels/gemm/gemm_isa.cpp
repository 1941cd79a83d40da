// GEMM microkernels and packing of one ISA level, compiled once per level (common/isa.h):
//   scalar:  4x8 plain loops, the reference for what every SIMD microkernel computes;
//   avx2:    sgemm 6x16, dgemm 6x8 (12 accumulators + 2 B vectors + 1 broadcast of the 16 ymm registers);
//   avx512:  sgemm 14x32, dgemm 14x16 (28 accumulators + 2 B vectors of the 32 zmm registers; A is
//            broadcast straight from memory).
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
// Blocking: B micro-panel (kc x nr) in L1, A block (mc x kc) in L2, B block (kc x nc) in L3; tuned on
// a Zen 4/5 core (48 KiB L1d, 1 MiB L2, 32 MiB shared L3).
#include <type_traits>

#include "common/isa.h"
#include "kernels/gemm/gemm.h"

namespace fe {
namespace gemm {
namespace {

#include "kernels/gemm/pack.inc"

// How many k steps ahead the AVX-512 kernels prefetch B (measured on 1 thread, float: 8 is as good as
// 16 on a 576 x 1024 image tile read in place and steadier on 64-step blocks; 4 less). AVX2's 6x16
// kernels (one 64-byte line per row) measured 2-5% slower with it, so they do without.
constexpr int kPrefetchRows = 8;
constexpr bool kPrefetchB = FE_ISA == 2;

struct Blocking {
  int mc, kc, nc;
};

#if FE_ISA == 0

// R rows x NR columns of C (row-major, row stride ldc) from packed panels (A's k steps AS apart, B's NR),
// or with MODE kDirectA op(A) in place at a[i*rs_a + p*cs_a], with kDirectB op(B)'s row p at b + p*rs_b.
template <class T, int R, int NR, int AS, int MODE>
void ukernel(int64_t k, const T* a, int64_t rs_a, int64_t cs_a, const T* b, int64_t rs_b, T* c, int64_t ldc,
             const Epilogue<T>& ep) {
  constexpr bool DIRECT = MODE == kDirectA;
  const T alpha = ep.alpha, beta = ep.beta;
  const T* bias = ep.bias;
  const int relu = ep.relu;
  T acc[R][NR] = {};
  for (int64_t p = 0; p < k; ++p) {
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += (DIRECT ? a[i * rs_a] : a[i]) * b[j];
    a += DIRECT ? cs_a : AS;
    b += MODE == kDirectB ? rs_b : NR;
  }
  for (int i = 0; i < R; ++i) {
    for (int j = 0; j < NR; ++j) {
      T v = alpha * acc[i][j];
      if (beta != T(0)) v += beta * c[i * ldc + j];
      if (bias) v += bias[j];
      if (relu && !(v > T(0))) v = v != v ? v : T(0);  // NaN stays NaN, as max(x, 0) in NumPy
      c[i * ldc + j] = v;
    }
  }
}

template <class T, int MODE>
void set_rows(UKernelFn<T>* table) {
  table[1] = ukernel<T, 1, 8, 4, MODE>;
  table[2] = ukernel<T, 2, 8, 4, MODE>;
  table[3] = ukernel<T, 3, 8, 4, MODE>;
  table[4] = ukernel<T, 4, 8, 4, MODE>;
}

template <class T>
void fill_kernels(UKernel<T>* uk, const char* name) {
  uk->mr = 4;
  uk->nr = 8;
  uk->name = name;
  for (int r = 0; r <= kMaxMR; ++r)
    uk->rows[r] = uk->rows_direct[r] = uk->rows_direct_b[r] = uk->narrow[r] = uk->narrow_direct[r] = nullptr;
  set_rows<T, kPacked>(uk->rows);
  set_rows<T, kDirectA>(uk->rows_direct);
  set_rows<T, kDirectB>(uk->rows_direct_b);
  uk->fn = uk->rows[4];
  uk->pack_a = &pack_a<T>;
  uk->pack_b = &pack_b<T>;
  uk->narrow_nr = 0;
}

// 8 independent multiply-add chains of 4 floats (what SSE2 baseline code can issue).
double fma_probe_scalar(int64_t iters) {
  float x[8][4];
  for (int i = 0; i < 8; ++i)
    for (int l = 0; l < 4; ++l) x[i][l] = 1.0f + 1e-3f * (i + l);
  const float m = 0.999999f, add = 1e-7f;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 8; ++i)
      for (int l = 0; l < 4; ++l) x[i][l] = x[i][l] * m + add;
  volatile float sink = 0;
  for (int i = 0; i < 8; ++i)
    for (int l = 0; l < 4; ++l) sink = sink + x[i][l];
  (void)sink;
  return 2.0 * 8 * 4 * static_cast<double>(iters);
}

template <class T>
void fill_level(UKernel<T>* uk) {
  fill_kernels<T>(uk, sizeof(T) == 4 ? "sgemm_ukernel_4x8_scalar" : "dgemm_ukernel_4x8_scalar");
  const Blocking b = {128, 256, 4096};
  uk->mc = b.mc;
  uk->kc = b.kc;
  uk->nc = b.nc;
  uk->fma_probe = fma_probe_scalar;
}

#else

// Vector traits of the level: T, V, L and the few operations the microkernel uses.
#if FE_ISA == 2
#define FE_MM(op) _mm512_##op
using VecF = __m512;
using VecD = __m512d;
#else
#define FE_MM(op) _mm256_##op
using VecF = __m256;
using VecD = __m256d;
#endif
struct F32 {
  using T = float;
  using V = VecF;
  static constexpr int L = sizeof(V) / sizeof(T);
  static V zero() { return FE_MM(setzero_ps)(); }
  static V load(const T* p) { return FE_MM(loadu_ps)(p); }
  static void store(T* p, V v) { FE_MM(storeu_ps)(p, v); }
  static V set1(T x) { return FE_MM(set1_ps)(x); }
  static V fmadd(V a, V b, V c) { return FE_MM(fmadd_ps)(a, b, c); }
  static V mul(V a, V b) { return FE_MM(mul_ps)(a, b); }
  static V add(V a, V b) { return FE_MM(add_ps)(a, b); }
  static V max(V a, V b) { return FE_MM(max_ps)(a, b); }
};
struct F64 {
  using T = double;
  using V = VecD;
  static constexpr int L = sizeof(V) / sizeof(T);
  static V zero() { return FE_MM(setzero_pd)(); }
  static V load(const T* p) { return FE_MM(loadu_pd)(p); }
  static void store(T* p, V v) { FE_MM(storeu_pd)(p, v); }
  static V set1(T x) { return FE_MM(set1_pd)(x); }
  static V fmadd(V a, V b, V c) { return FE_MM(fmadd_pd)(a, b, c); }
  static V mul(V a, V b) { return FE_MM(mul_pd)(a, b); }
  static V add(V a, V b) { return FE_MM(add_pd)(a, b); }
  static V max(V a, V b) { return FE_MM(max_pd)(a, b); }
};
#undef FE_MM

// R rows x NV vectors of C, row-major with row stride ldc. MODE says where the operands come from:
//   kPacked:  A a packed panel (k steps AS = MR apart), B a packed panel (k steps BS = NR apart);
//   kDirectA: op(A) read in place, (i, p) at a[i*rs_a + p*cs_a]; B packed;
//   kDirectB: A packed; op(B) read in place, row p at b + p*rs_b (rows of B, unit column stride).
template <class V, int R, int NV, int AS, int BS, int MODE>
void ukernel(int64_t k, const typename V::T* a, int64_t rs_a, int64_t cs_a, const typename V::T* b, int64_t rs_b,
             typename V::T* c, int64_t ldc, const Epilogue<typename V::T>& ep) {
  constexpr bool DIRECT = MODE == kDirectA;
  using T = typename V::T;
  using Reg = typename V::V;
  // Start pulling the C tile toward L1 now; the k loop hides the latency (C is read or written at the end).
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NV * V::L - 1), _MM_HINT_T0);
  }
  Reg acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();

  // One k step: NV vectors of B's row, then each row's broadcast of A into its accumulators.
  auto step = [&]() __attribute__((always_inline)) {
    Reg bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * V::L);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const Reg av = V::set1(DIRECT ? a[i * rs_a] : a[i]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
    }
    a += DIRECT ? cs_a : AS;
    b += MODE == kDirectB ? rs_b : BS;
  };
  int64_t p = 0;
  if (kPrefetchB && MODE != kDirectA) {
    // B's row kPrefetchRows steps ahead (its NV*L values: one or two cache lines), only while that row
    // is still in the block. Read in place, B's rows are rs_b apart (an image's column tile, a wide
    // matrix) and no hardware prefetcher runs ahead of them; packed, a kc x NR panel is larger than L1
    // once kc > 384, and asking for it ahead still measured 4-8% on 512..1024-square products.
    const int64_t step_b = MODE == kDirectB ? rs_b : BS;
    for (; p + kPrefetchRows < k; ++p) {
      const char* next = reinterpret_cast<const char*>(b + kPrefetchRows * step_b);
      _mm_prefetch(next, _MM_HINT_T0);
      if (NV * V::L * sizeof(T) > 64) _mm_prefetch(next + NV * V::L * sizeof(T) - 1, _MM_HINT_T0);
      step();
    }
  }
  for (; p < k; ++p) step();

  // Epilogue while the tile is in registers: alpha, beta (C untouched when beta == 0), bias, ReLU.
  const T beta = ep.beta;
  const T* bias = ep.bias;
  const Reg valpha = V::set1(ep.alpha);
  const Reg vbeta = V::set1(beta);
  Reg vbias[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) vbias[j] = bias ? V::load(bias + j * V::L) : V::zero();
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    T* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      Reg v = V::mul(valpha, acc[i][j]);
      if (beta != T(0)) v = V::fmadd(vbeta, V::load(ci + j * V::L), v);
      if (bias) v = V::add(v, vbias[j]);
      if (ep.relu) v = V::max(V::zero(), v);  // max(0, NaN) is NaN: NaN propagates as in NumPy
      V::store(ci + j * V::L, v);
    }
  }
}

// Fills table[r] with the r-row kernel for r = 1..R (NV vectors wide, panels MR x (NVFULL * L)).
template <class V, int R, int NV, int MR, int NVFULL, int MODE>
struct RowKernels {
  static void fill(UKernelFn<typename V::T>* table) {
    table[R] = &ukernel<V, R, NV, MR, NVFULL * V::L, MODE>;
    RowKernels<V, R - 1, NV, MR, NVFULL, MODE>::fill(table);
  }
};
template <class V, int NV, int MR, int NVFULL, int MODE>
struct RowKernels<V, 0, NV, MR, NVFULL, MODE> {
  static void fill(UKernelFn<typename V::T>* table) { table[0] = nullptr; }
};

// The whole kernel set of one ISA and type: MR x (NV * L) tiles plus every row and width remainder.
template <class V, int MR, int NV>
void fill_kernels(UKernel<typename V::T>* uk, const char* name) {
  static_assert(MR <= kMaxMR, "MR too large for the edge tables");
  uk->mr = MR;
  uk->nr = NV * V::L;
  uk->name = name;
  RowKernels<V, MR, NV, MR, NV, kPacked>::fill(uk->rows);
  RowKernels<V, MR, NV, MR, NV, kDirectA>::fill(uk->rows_direct);
  RowKernels<V, MR, NV, MR, NV, kDirectB>::fill(uk->rows_direct_b);
  uk->fn = uk->rows[MR];
  uk->pack_a = &pack_a<typename V::T>;
  uk->pack_b = &pack_b<typename V::T>;
  if (NV > 1) {
    RowKernels<V, MR, 1, MR, NV, kPacked>::fill(uk->narrow);
    RowKernels<V, MR, 1, MR, NV, kDirectA>::fill(uk->narrow_direct);
    uk->narrow_nr = V::L;
  } else {
    for (int r = 0; r <= kMaxMR; ++r) uk->narrow[r] = uk->narrow_direct[r] = nullptr;
    uk->narrow_nr = 0;
  }
}

// NACC independent FMA chains on full vectors: the throughput ceiling of this ISA on one core.
template <class V, int NACC>
double fma_probe(int64_t iters) {
  using Reg = typename V::V;
  Reg x[NACC];
  for (int i = 0; i < NACC; ++i) x[i] = V::set1(typename V::T(1) + typename V::T(1e-3) * i);
  const Reg m = V::set1(typename V::T(0.999999));
  const Reg add = V::set1(typename V::T(1e-7));
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < NACC; ++i) x[i] = V::fmadd(x[i], m, add);
  }
  Reg s = x[0];
  for (int i = 1; i < NACC; ++i) s = V::add(s, x[i]);
  alignas(64) typename V::T out[V::L];
  V::store(out, s);
  volatile typename V::T sink = out[0];
  (void)sink;
  return 2.0 * NACC * V::L * static_cast<double>(iters);
}

// The level's register block (MR rows x NV vectors), names and blocking, per type.
#if FE_ISA == 2
constexpr int kMR = 14, kNV = 2, kProbeChains = 16;
constexpr const char* kNames[2] = {"sgemm_ukernel_14x32_avx512", "dgemm_ukernel_14x16_avx512"};
constexpr Blocking kBlocking[2] = {{140, 1024, 4096}, {56, 512, 4096}};
#else
constexpr int kMR = 6, kNV = 2, kProbeChains = 12;
constexpr const char* kNames[2] = {"sgemm_ukernel_6x16_avx2", "dgemm_ukernel_6x8_avx2"};
constexpr Blocking kBlocking[2] = {{144, 512, 4096}, {96, 512, 4096}};
#endif

double fma_probe_level(int64_t iters) { return fma_probe<F32, kProbeChains>(iters); }

template <class T>
void fill_level(UKernel<T>* uk) {
  constexpr int d = sizeof(T) == 8;
  using V = typename std::conditional<d, F64, F32>::type;
  fill_kernels<V, kMR, kNV>(uk, kNames[d]);
  uk->mc = kBlocking[d].mc;
  uk->kc = kBlocking[d].kc;
  uk->nc = kBlocking[d].nc;
  uk->fma_probe = fma_probe_level;
}

#endif  // FE_ISA

}  // namespace

FE_DEFINE_FILLS(UKernel, fill_level)

}  // namespace gemm
}  // namespace fe
