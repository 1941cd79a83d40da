// Portable microkernels (any CPU): the reference for what every SIMD microkernel computes.
#include "kernels/gemm/gemm.h"

#if defined(__SSE2__)
#include <emmintrin.h>  // baseline on every x86-64 CPU; pack.inc's transposes use it
#endif

namespace fe {
namespace gemm {
namespace {

#include "kernels/gemm/pack.inc"

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
void fill(UKernel<T>* uk, const char* name) {
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

}  // namespace

void sgemm_ukernels_scalar(UKernel<float>* uk) { fill(uk, "sgemm_ukernel_4x8_scalar"); }
void dgemm_ukernels_scalar(UKernel<double>* uk) { fill(uk, "dgemm_ukernel_4x8_scalar"); }

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

}  // namespace gemm
}  // namespace fe
