// GEMM: C (M,N) = alpha * op(A) @ op(B) + beta * C, then optionally + bias (per column) and ReLU.
// BLIS-style: a portable driver (gemm.cpp) owns the loops, packing and threads; each ISA supplies
// only MR x NR microkernels (gemm_isa.cpp, compiled once per level) that work on packed panels.
#pragma once
#include <cstdint>

#include "common/isa.h"

namespace fe {
namespace gemm {

// Microkernel contract (every ISA, float and double):
//   a: packed A micro-panel, k steps of MR values (a[p*MR + i] = op(A)(i, p)), zero-padded rows;
//      or, for the "direct" kernels, op(A) read in place: op(A)(i, p) = a[i*rs_a + p*cs_a]
//      (rs_a, cs_a are ignored by the packed kernels)
//   b: packed B micro-panel, k steps of NR values (b[p*NR + j] = op(B)(p, j)), zero-padded columns;
//      or, for the "direct B" kernels, op(B) read in place: op(B)(p, j) = b[p*rs_b + j]
//   c: a tile of C, row-major with row stride ldc
//   c = alpha * (a @ b) + beta * c        (beta == 0: c is never read, so NaN/garbage in c is ignored)
//   then, if bias:  c[i][j] += bias[j];   if relu: c = max(c, 0)   -- while c is still in registers.
// The epilogue's scalars travel by reference: passed by value they would sit in two vector registers
// for the whole k loop, and AVX2's 16 registers would then spill an accumulator.
template <class T>
struct Epilogue {
  T alpha, beta;
  const T* bias;  // nullptr: no bias; else the tile's first column's bias
  int relu;
};
template <class T>
using UKernelFn = void (*)(int64_t k, const T* a, int64_t rs_a, int64_t cs_a, const T* b, int64_t rs_b, T* c,
                           int64_t ldc, const Epilogue<T>& ep);
enum KernelMode { kPacked = 0, kDirectA = 1, kDirectB = 2 };

constexpr int kMaxMR = 16;

// Packing (pack.inc, compiled into each ISA's file). pack_a writes ceil(mc/mr) micro-panels of kc*mr
// from the mc x kc block of op(A) at (row0, col0); pack_b writes panels [panel_begin, panel_end) of
// the kc x nc block of op(B) at (row0, col0), each kc*nr (a last panel of at most narrow_nr columns is
// zero-padded only to narrow_nr, the width of the kernel that reads it).
template <class T>
using PackAFn = void (*)(bool trans_a, const T* A, int64_t lda, int64_t row0, int64_t mc, int64_t col0,
                         int64_t kc, int mr, T* dst);
template <class T>
using PackBFn = void (*)(bool trans_b, const T* B, int64_t ldb, int64_t row0, int64_t kc, int64_t col0,
                         int64_t panel_begin, int64_t panel_end, int64_t nc, int nr, int narrow_nr, T* dst);

template <class T>
struct UKernel {
  UKernelFn<T> fn;     // the full MR x NR tile
  int mr, nr;          // register block
  int mc, kc, nc;      // cache blocks: A block mc x kc in L2, B panel kc x nr in L1/L2, B block kc x nc in L3
  const char* name;
  // Edge tiles, so that a remainder of rows or columns costs what it computes:
  //   rows[r]:   an r x NR tile (1 <= r <= MR) read from a full MR-row A panel (rows[MR] == fn);
  //   narrow[r]: an r x narrow_nr tile (one vector wide) read from the same A and B panels; null if none.
  //   *_direct: the same tiles reading op(A) in place (no packing), for an A block that meets only one
  //   B panel, where packing would cost as much as the reads it saves; rows_direct_b: reading B in
  //   place, for a B panel that meets only one A block.
  UKernelFn<T> rows[kMaxMR + 1];
  UKernelFn<T> narrow[kMaxMR + 1];
  UKernelFn<T> rows_direct[kMaxMR + 1];
  UKernelFn<T> narrow_direct[kMaxMR + 1];
  UKernelFn<T> rows_direct_b[kMaxMR + 1];
  int narrow_nr;
  PackAFn<T> pack_a;  // packing at this ISA's vector width
  PackBFn<T> pack_b;
  // Runs `iters` rounds of independent FMAs on one thread at this level; returns the flops done.
  double (*fma_probe)(int64_t iters);
  static constexpr const char* kFamily = "GEMM";
};

// Row-major operands with leading dimensions (elements). op(A) is M x K: A is M x K (lda >= K) or,
// with trans_a, K x M (lda >= M). op(B) is K x N likewise. C is M x N (ldc >= N). bias has N entries.
template <class T>
void gemm(const UKernel<T>& uk, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
          const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const T* bias,
          bool relu, int nthreads);

// A prepacked op(A), for many products with the same A (a recurrent weight at every time step of a
// sequence): pack_a_all fills packed_a_size(uk, M, K) elements once (the driver's K blocks, each one's
// MR-row panels in row order; the layout depends only on uk, M and K), and gemm_packed_a then reads
// it in place of A and packs nothing of A. Results are bitwise those of gemm() with that A.
template <class T>
int64_t packed_a_size(const UKernel<T>& uk, int64_t M, int64_t K);
template <class T>
void pack_a_all(const UKernel<T>& uk, bool trans_a, int64_t M, int64_t K, const T* A, int64_t lda, T* dst,
                int nthreads);
// Packs op(A) (m x k) as rows [row0, row0 + m) and columns [col0, col0 + k) of a packed (M x K) operand
// laid out as pack_a_all's, so one packed A can be put together from several matrices (row0 must be a
// multiple of uk.mr: a panel never mixes sources; a part's last, partial panel is zero-padded).
template <class T>
void pack_a_part(const UKernel<T>& uk, bool trans_a, int64_t M, int64_t K, int64_t row0, int64_t col0, int64_t m,
                 int64_t k, const T* A, int64_t lda, T* dst, int nthreads);
template <class T>
void gemm_packed_a(const UKernel<T>& uk, int64_t M, int64_t N, int64_t K, T alpha, const T* apacked, bool trans_b,
                   const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int nthreads);

// `batch` independent GEMMs; operand i starts at A + i*stride_a (stride 0 broadcasts one matrix).
template <class T>
void gemm_batched(const UKernel<T>& uk, bool trans_a, bool trans_b, int64_t batch, int64_t M, int64_t N,
                  int64_t K, T alpha, const T* A, int64_t lda, int64_t stride_a, const T* B, int64_t ldb,
                  int64_t stride_b, T beta, T* C, int64_t ldc, int64_t stride_c, const T* bias, bool relu,
                  int nthreads);

// Fills uk with level I's kernel set: kernels, register block, name, packing, cache blocking and the
// peak probe (gemm_isa.cpp, compiled once per level). The name carries the register block, e.g.
// sgemm_ukernel_14x32_avx512.
template <Isa I, class T>
void fill(UKernel<T>* uk, IsaTag<I>);

// Runs `probe` on nthreads threads at once and returns the GFLOP/s of all of them together (peak.cpp).
double measure_peak_gflops(double (*probe)(int64_t), int64_t iters, int nthreads);

}  // namespace gemm
}  // namespace fe
