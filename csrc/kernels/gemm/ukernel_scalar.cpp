// Portable microkernels (any CPU): the reference for what every SIMD microkernel computes.
#include <chrono>

#include "kernels/gemm/gemm.h"

namespace fe {
namespace gemm {
namespace {

// a: k x MR packed, b: k x NR packed, c: MR x NR tile (row stride ldc).
template <class T, int MR, int NR>
void ukernel(int64_t k, const T* a, const T* b, T* c, int64_t ldc, T alpha, T beta, const T* bias,
             int relu) {
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < k; ++p) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) {
      T v = alpha * acc[i][j];
      if (beta != T(0)) v += beta * c[i * ldc + j];
      if (bias) v += bias[j];
      if (relu && !(v > T(0))) v = v != v ? v : T(0);
      c[i * ldc + j] = v;
    }
  }
}

}  // namespace

void sgemm_ukernel_4x8_scalar(int64_t k, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                              float beta, const float* bias, int relu) {
  ukernel<float, 4, 8>(k, a, b, c, ldc, alpha, beta, bias, relu);
}
void dgemm_ukernel_4x8_scalar(int64_t k, const double* a, const double* b, double* c, int64_t ldc,
                              double alpha, double beta, const double* bias, int relu) {
  ukernel<double, 4, 8>(k, a, b, c, ldc, alpha, beta, bias, relu);
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

}  // namespace gemm
}  // namespace fe
