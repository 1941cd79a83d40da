// AVX2+FMA microkernels: sgemm 6x16 and dgemm 6x8 (12 accumulators + 2 B vectors + 1 broadcast of
// the 16 ymm registers). Compiled with -mavx2 -mfma only; everything here has internal linkage
// except the ISA-named entry points, so no AVX2 code can leak into baseline paths.
#include <immintrin.h>

#include "kernels/gemm/gemm.h"

namespace fe {
namespace gemm {
namespace {

struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int L = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
};
struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int L = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V max(V a, V b) { return _mm256_max_pd(a, b); }
};

#include "kernels/gemm/pack.inc"
#include "kernels/gemm/ukernel_simd.inc"

}  // namespace

void sgemm_ukernels_avx2(UKernel<float>* uk) { fill_kernels<F32, 6, 2>(uk, "sgemm_ukernel_6x16_avx2"); }
void dgemm_ukernels_avx2(UKernel<double>* uk) { fill_kernels<F64, 6, 2>(uk, "dgemm_ukernel_6x8_avx2"); }
double fma_probe_avx2(int64_t iters) { return fma_probe<F32, 12>(iters); }

}  // namespace gemm
}  // namespace fe
