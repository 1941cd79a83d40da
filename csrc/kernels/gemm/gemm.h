// GEMM: C (M,N) = alpha * op(A) @ op(B) + beta * C, then optionally + bias (per column) and ReLU.
// BLIS-style: a portable driver (gemm.cpp) owns the loops, packing and threads; each ISA supplies
// only an MR x NR microkernel (ukernel_<isa>.cpp) that works on packed panels.
#pragma once
#include <cstdint>

namespace fe {
namespace gemm {

// Microkernel contract (every ISA, float and double):
//   a: packed A micro-panel, k steps of MR values (a[p*MR + i] = op(A)(i, p)), zero-padded rows
//   b: packed B micro-panel, k steps of NR values (b[p*NR + j] = op(B)(p, j)), zero-padded columns
//   c: an MR x NR tile, row-major with row stride ldc
//   c = alpha * (a @ b) + beta * c        (beta == 0: c is never read, so NaN/garbage in c is ignored)
//   then, if bias:  c[i][j] += bias[j];   if relu: c = max(c, 0)   -- while c is still in registers.
template <class T>
using UKernelFn = void (*)(int64_t k, const T* a, const T* b, T* c, int64_t ldc, T alpha, T beta,
                           const T* bias, int relu);

template <class T>
struct UKernel {
  UKernelFn<T> fn;
  int mr, nr;          // register block
  int mc, kc, nc;      // cache blocks: A block mc x kc in L2, B panel kc x nr in L1, B block kc x nc in L3
  const char* name;
};

// Row-major operands with leading dimensions (elements). op(A) is M x K: A is M x K (lda >= K) or,
// with trans_a, K x M (lda >= M). op(B) is K x N likewise. C is M x N (ldc >= N). bias has N entries.
template <class T>
void gemm(const UKernel<T>& uk, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
          const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const T* bias,
          bool relu, int nthreads);

// `batch` independent GEMMs; operand i starts at A + i*stride_a (stride 0 broadcasts one matrix).
template <class T>
void gemm_batched(const UKernel<T>& uk, bool trans_a, bool trans_b, int64_t batch, int64_t M, int64_t N,
                  int64_t K, T alpha, const T* A, int64_t lda, int64_t stride_a, const T* B, int64_t ldb,
                  int64_t stride_b, T beta, T* C, int64_t ldc, int64_t stride_c, const T* bias, bool relu,
                  int nthreads);

// Packing (pack.cpp). pack_a writes ceil(mc/MR) micro-panels of kc*MR; pack_b ceil(nc/NR) of kc*NR.
template <class T>
void pack_a(bool trans_a, const T* A, int64_t lda, int64_t row0, int64_t mc, int64_t col0, int64_t kc,
            int mr, T* dst);
template <class T>
void pack_b(bool trans_b, const T* B, int64_t ldb, int64_t row0, int64_t kc, int64_t col0,
            int64_t panel_begin, int64_t panel_end, int64_t nc, int nr, T* dst);

// Microkernels, one per ISA and type; the name carries the register block.
void sgemm_ukernel_4x8_scalar(int64_t, const float*, const float*, float*, int64_t, float, float,
                              const float*, int);
void dgemm_ukernel_4x8_scalar(int64_t, const double*, const double*, double*, int64_t, double, double,
                              const double*, int);
void sgemm_ukernel_6x16_avx2(int64_t, const float*, const float*, float*, int64_t, float, float,
                             const float*, int);
void dgemm_ukernel_6x8_avx2(int64_t, const double*, const double*, double*, int64_t, double, double,
                            const double*, int);
void sgemm_ukernel_14x32_avx512(int64_t, const float*, const float*, float*, int64_t, float, float,
                                const float*, int);
void dgemm_ukernel_14x16_avx512(int64_t, const double*, const double*, double*, int64_t, double, double,
                                const double*, int);

// Peak probes: run `iters` rounds of independent FMAs on one thread; return the flops done.
double fma_probe_scalar(int64_t iters);
double fma_probe_avx2(int64_t iters);
double fma_probe_avx512(int64_t iters);
// Runs `probe` on nthreads threads at once and returns the GFLOP/s of all of them together (peak.cpp).
double measure_peak_gflops(double (*probe)(int64_t), int64_t iters, int nthreads);

}  // namespace gemm
}  // namespace fe
