// Portable microkernels (any CPU): the reference for what every SIMD microkernel computes.
#include "kernels/gemm/gemm.h"

#if defined(__SSE2__)
#include <emmintrin.h>  // baseline on every x86-64 CPU; pack.inc's transposes use it
#endif

namespace fe {
namespace gemm {
namespace {

#include "kernels/gemm/pack.inc"

// R rows x NR columns of C from a packed B panel and a packed A panel (k steps AS apart) or, with
// DIRECT, op(A) in place at a[i*rs_a + p*cs_a]; c is row-major, row stride ldc.
template <class T, int R, int NR, int AS, bool DIRECT>
void ukernel(int64_t k, const T* a, int64_t rs_a, int64_t cs_a, const T* b, T* c, int64_t ldc,
             const Epilogue<T>& ep) {
  const T alpha = ep.alpha, beta = ep.beta;
  const T* bias = ep.bias;
  const int relu = ep.relu;
  T acc[R][NR] = {};
  for (int64_t p = 0; p < k; ++p) {
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += (DIRECT ? a[i * rs_a] : a[i]) * b[j];
    a += DIRECT ? cs_a : AS;
    b += NR;
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

template <class T>
void fill(UKernel<T>* uk, const char* name) {
  uk->mr = 4;
  uk->nr = 8;
  uk->name = name;
  for (int r = 0; r <= kMaxMR; ++r) uk->rows[r] = uk->rows_direct[r] = uk->narrow[r] = uk->narrow_direct[r] = nullptr;
  uk->rows[1] = ukernel<T, 1, 8, 4, false>;
  uk->rows[2] = ukernel<T, 2, 8, 4, false>;
  uk->rows[3] = ukernel<T, 3, 8, 4, false>;
  uk->rows[4] = ukernel<T, 4, 8, 4, false>;
  uk->rows_direct[1] = ukernel<T, 1, 8, 4, true>;
  uk->rows_direct[2] = ukernel<T, 2, 8, 4, true>;
  uk->rows_direct[3] = ukernel<T, 3, 8, 4, true>;
  uk->rows_direct[4] = ukernel<T, 4, 8, 4, true>;
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
