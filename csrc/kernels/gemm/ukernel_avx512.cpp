// AVX-512F microkernels: sgemm 14x32 and dgemm 14x16 (28 accumulators + 2 B vectors of the 32 zmm
// registers; A is broadcast straight from memory). Compiled with -mavx512f only; internal linkage
// except the ISA-named entry points.
#include <immintrin.h>

#include "kernels/gemm/gemm.h"

namespace fe {
namespace gemm {
namespace {

struct F32 {
  using T = float;
  using V = __m512;
  static constexpr int L = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
};
struct F64 {
  using T = double;
  using V = __m512d;
  static constexpr int L = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
};

#include "kernels/gemm/pack.inc"
#include "kernels/gemm/ukernel_simd.inc"

}  // namespace

void sgemm_ukernels_avx512(UKernel<float>* uk) { fill_kernels<F32, 14, 2>(uk, "sgemm_ukernel_14x32_avx512"); }
void dgemm_ukernels_avx512(UKernel<double>* uk) { fill_kernels<F64, 14, 2>(uk, "dgemm_ukernel_14x16_avx512"); }
double fma_probe_avx512(int64_t iters) { return fma_probe<F32, 16>(iters); }

}  // namespace gemm
}  // namespace fe
