// The portable GEMM driver: cache blocking (jc -> pc -> ic -> jr -> ir), packing, threads and edge
// tiles. Every C element is computed by exactly one thread, with the K blocks in the same order, so
// the result is bitwise the same for any thread count.
#include "kernels/gemm/gemm.h"

#include <algorithm>
#include <new>

#include "common/parallel.h"
#include "common/scratch.h"

namespace fe {
namespace gemm {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// C = beta*C (+bias, relu) for the cases with no product to add (K == 0 or alpha == 0).
template <class T>
void scale_only(int64_t M, int64_t N, T beta, T* C, int64_t ldc, const T* bias, bool relu) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) {
      T v = beta == T(0) ? T(0) : beta * c[j];
      if (bias) v += bias[j];
      if (relu && !(v > T(0))) v = v != v ? v : T(0);  // keep NaN as NaN, like max(x, 0) in NumPy
      c[j] = v;
    }
  }
}

// One tile of C (rows <= MR, cols <= NR) from an A panel and a B panel. Full-width tiles go straight
// to C with the kernel that has exactly `rows` rows; a narrower remainder is computed by the narrowest
// kernel that covers it into a private buffer, and only its valid part is combined with C, so nothing
// outside C is read or written.
template <class T>
inline void tile(const UKernel<T>& uk, int mode, int64_t kc, const T* a, int64_t rs_a, int64_t cs_a,
                 const T* b, int64_t rs_b, T* C, int64_t ldc, int64_t rows, int64_t cols, T alpha, T beta,
                 const T* bias, bool relu) {
  const Epilogue<T> ep{alpha, beta, bias, relu ? 1 : 0};
  if (mode == kDirectB) {  // only ever full-width panels
    uk.rows_direct_b[rows](kc, a, rs_a, cs_a, b, rs_b, C, ldc, ep);
    return;
  }
  const UKernelFn<T>* full = mode == kDirectA ? uk.rows_direct : uk.rows;
  const UKernelFn<T>* narrow = mode == kDirectA ? uk.narrow_direct : uk.narrow;
  if (cols == uk.nr) {
    full[rows](kc, a, rs_a, cs_a, b, 0, C, ldc, ep);
    return;
  }
  const bool use_narrow = uk.narrow_nr && cols <= uk.narrow_nr;
  if (use_narrow && cols == uk.narrow_nr) {
    narrow[rows](kc, a, rs_a, cs_a, b, 0, C, ldc, ep);
    return;
  }
  const int64_t width = use_narrow ? uk.narrow_nr : uk.nr;
  alignas(64) T tmp[kMaxMR * 64];
  const Epilogue<T> plain{T(1), T(0), nullptr, 0};
  (use_narrow ? narrow : full)[rows](kc, a, rs_a, cs_a, b, 0, tmp, width, plain);
  for (int64_t i = 0; i < rows; ++i) {
    T* c = C + i * ldc;
    const T* t = tmp + i * width;
    for (int64_t j = 0; j < cols; ++j) {
      T v = alpha * t[j];
      if (beta != T(0)) v += beta * c[j];
      if (bias) v += bias[j];
      if (relu && !(v > T(0))) v = v != v ? v : T(0);
      c[j] = v;
    }
  }
}

// Picks a tm x tn grid of threads (tm * tn <= nthreads) over MR-row and NR-column tiles that
// minimises the largest share.
void choose_grid(int64_t row_tiles, int64_t col_tiles, int nthreads, int* tm, int* tn) {
  int64_t best = -1;
  *tm = 1;
  *tn = 1;
  for (int m = 1; m <= nthreads; ++m) {
    const int n = nthreads / m;
    if (m > row_tiles && m > 1) break;
    const int64_t share = ceil_div(row_tiles, m) * ceil_div(col_tiles, n);
    if (best < 0 || share < best) {
      best = share;
      *tm = m;
      *tn = n;
    }
  }
}

// The K block of the driver: blocks of (nearly) equal size, so no pass is left with a sliver (K = 784
// with kc 512 becomes two blocks of 392, not 512 + 272). It depends only on K, never on the thread
// count, so a prepacked A (pack_a_all) lines up with the driver's blocks.
template <class T>
int64_t k_block(const UKernel<T>& uk, int64_t K) {
  return round_up(ceil_div(K, ceil_div(K, uk.kc)), 8);
}

// The driver. apacked: null, or op(A) prepacked by pack_a_all (then A, lda and trans_a are unused).
template <class T>
void gemm_impl(const UKernel<T>& uk, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
               const T* A, int64_t lda, const T* apacked, const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
               const T* bias, bool relu, int nthreads) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {
    scale_only(M, N, beta, C, ldc, bias, relu);
    return;
  }
  const int MR = uk.mr, NR = uk.nr;
  // Blocks depend only on the shape, never on the thread count.
  const int64_t KC = k_block(uk, K);
  const int64_t NC = std::min<int64_t>(uk.nc, round_up(N, NR));
  const int64_t MC = round_up(ceil_div(M, ceil_div(M, uk.mc)), MR);

  // Below ~1 MFLOP per thread the fork/join costs more than the second thread gains.
  const double flops = 2.0 * M * N * K;
  nthreads = static_cast<int>(std::max<double>(1.0, std::min<double>(nthreads, flops / 1.0e6)));

  T* bpack = thread_buffer<T>(0, KC * NC);

  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    const int64_t panels = ceil_div(nc, NR);
    const int64_t row_tiles = ceil_div(M, MR);
    int tm, tn;
    choose_grid(row_tiles, panels, nthreads, &tm, &tn);
    const int used = tm * tn;

    // A B panel that meets a single A block per thread (the thread's rows fit in one MC block) is read
    // in place when op(B) has unit-stride rows; only a last, partial panel is still packed, so no
    // kernel reads past the end of B.
    // An op(B) that is exactly one NR-wide panel (N == NR, rows NR apart: a recurrent state (H, batch)
    // with a batch of NR) is already in the packed layout, and is read where it lies.
    const bool b_panel = !trans_b && N == NR && ldb == NR;
    // B's rows a multiple of 4 KiB apart fall into one L1 set, and their L2 sets depend on where the
    // pages lie: read in place by many row tiles, a panel is fetched again for each (M = 128, K = 576,
    // N = 8192: 62 to 139 GFLOP/s from run to run), so it is packed; for a few row tiles packing costs
    // more than it saves (M = 14: 150 GFLOP/s in place, 50 packed). Rows 2 KiB apart reach only twice
    // as many sets, too few for a panel of kc = 1024 rows: one core, GFLOP/s in place -> packed,
    // (M, N, K) = (128, 512, 2048) with A transposed (GPT's MLP weight gradient; 12 placements) 83-91 in
    // 10 of 12 -> 114-124, (64, 512, 1024) A transposed 98 -> 146, (128, 512, 1024) 95 -> 128.
    const bool aliasing = (ldb * static_cast<int64_t>(sizeof(T))) % 2048 == 0 && row_tiles >= 8;
    const bool direct_b = !b_panel && !trans_b && !aliasing && ceil_div(row_tiles, tm) * MR <= MC;
    const bool partial_panel = nc % NR != 0;
    const int64_t first_packed = direct_b ? (partial_panel ? panels - 1 : panels) : 0;

    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const bool last = pc + kc == K;
      const T beta_k = pc == 0 ? beta : T(1);
      const T* bias_k = last ? bias : nullptr;
      const bool relu_k = last && relu;

      if (first_packed < panels && !b_panel) {
        parallel_region(used, [&](int tid, int nt) {
          int64_t p0, p1;
          split_range(panels - first_packed, nt, tid, &p0, &p1);
          uk.pack_b(trans_b, B, ldb, pc, kc, jc, first_packed + p0, first_packed + p1, nc, NR, uk.narrow_nr,
                    bpack);
        });
      }

      parallel_region(used, [&](int tid, int nt) {
        // Threads may come back fewer than asked; fall back to a 1-D split over rows then.
        int gm = tm, gn = tn;
        if (nt != used) {
          gm = nt;
          gn = 1;
        }
        int64_t r0, r1, q0, q1;
        split_range(row_tiles, gm, tid / gn, &r0, &r1);
        split_range(panels, gn, tid % gn, &q0, &q1);
        if (r0 >= r1 || q0 >= q1) return;
        // An A block that meets a single B panel is read in place: packing it would cost as much. So is
        // an A stored M x K that meets up to 8 (N <= 256 for float on AVX-512): its packing is a
        // transpose, and the kernel's broadcasts read its MR rows as MR sequential streams. One core,
        // GFLOP/s packed -> in place: x @ W^T at (M, N, K) = (2048, 128, 128) 132 -> 148, (2048, 128,
        // 512) 136 -> 152, (2048, 256, 512) 147 -> 156, (64, 128, 784) 96-114 -> 136; from 9 panels
        // on, packing wins again (2048, 512, 128: 146 against 140). Stored K x M (trans_a), packing is a
        // copy and in-place reads cross a row each step: (512, 128, 2048) 126 -> 85 in place, so no.
        // A prepacked A is read where it lies: block pc's MR-row panels in row order.
        const bool direct_a = !apacked && (q1 - q0 == 1 || (!trans_a && q1 - q0 <= 8)) &&
                              !(direct_b && q0 < first_packed);
        T* apack = direct_a || apacked ? nullptr : thread_buffer<T>(1, MC * kc);
        const T* apre = apacked ? apacked + pc * round_up(M, MR) : nullptr;
        const int64_t rs_a = trans_a ? 1 : lda, cs_a = trans_a ? lda : 1;
        for (int64_t ic = r0 * MR; ic < std::min<int64_t>(r1 * MR, M); ic += MC) {
          const int64_t mc = std::min<int64_t>({MC, M - ic, r1 * MR - ic});
          if (apre)
            apack = const_cast<T*>(apre + ic * kc);  // read only
          else if (!direct_a)
            uk.pack_a(trans_a, A, lda, ic, mc, pc, kc, MR, apack);
          for (int64_t q = q0; q < q1; ++q) {
            const int64_t j = jc + q * NR;
            const int64_t cols = std::min<int64_t>(NR, N - j);
            const bool b_in_place = q < first_packed;
            const T* bp = b_panel ? B + pc * NR : b_in_place ? B + pc * ldb + j : bpack + q * kc * NR;
            const int mode = direct_a ? kDirectA : b_in_place ? kDirectB : kPacked;
            const T* bias_j = bias_k ? bias_k + j : nullptr;
            for (int64_t ir = 0; ir < mc; ir += MR) {
              const int64_t rows = std::min<int64_t>(MR, mc - ir);
              const T* ap = direct_a ? A + (ic + ir) * rs_a + pc * cs_a : apack + (ir / MR) * kc * MR;
              T* c = C + (ic + ir) * ldc + j;
              tile(uk, mode, kc, ap, rs_a, cs_a, bp, ldb, c, ldc, rows, cols, alpha, beta_k, bias_j, relu_k);
            }
          }
        }
      });
    }
  }
}

}  // namespace

template <class T>
void gemm(const UKernel<T>& uk, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
          const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const T* bias,
          bool relu, int nthreads) {
  gemm_impl(uk, trans_a, trans_b, M, N, K, alpha, A, lda, static_cast<const T*>(nullptr), B, ldb, beta, C, ldc,
            bias, relu, nthreads);
}

template <class T>
int64_t packed_a_size(const UKernel<T>& uk, int64_t M, int64_t K) {
  return round_up(std::max<int64_t>(M, 1), uk.mr) * std::max<int64_t>(K, 0);
}

template <class T>
void pack_a_all(const UKernel<T>& uk, bool trans_a, int64_t M, int64_t K, const T* A, int64_t lda, T* dst,
                int nthreads) {
  if (M <= 0 || K <= 0) return;
  const int MR = uk.mr;
  const int64_t KC = k_block(uk, K), Mpad = round_up(M, MR), row_panels = Mpad / MR;
  parallel_ranges(row_panels, K * MR, 65536, nthreads, [&](int64_t r0, int64_t r1) {
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const int64_t row0 = r0 * MR, rows = std::min(r1 * MR, M) - row0;
      uk.pack_a(trans_a, A, lda, row0, rows, pc, kc, MR, dst + pc * Mpad + row0 * kc);
    }
  });
}

template <class T>
void pack_a_part(const UKernel<T>& uk, bool trans_a, int64_t M, int64_t K, int64_t row0, int64_t col0, int64_t m,
                 int64_t k, const T* A, int64_t lda, T* dst, int nthreads) {
  if (m <= 0 || k <= 0) return;
  const int MR = uk.mr;
  const int64_t KC = k_block(uk, K), Mpad = round_up(M, MR), panels = ceil_div(m, MR);
  // Panel by panel: within K block pc, the panel of rows [row, row + MR) starts at pc*Mpad + row*kc,
  // and its columns from p on at (p - pc)*MR further; the part fills the columns it covers.
  parallel_ranges(panels, k * MR, 65536, nthreads, [&](int64_t q0, int64_t q1) {
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const int64_t c0 = std::max(pc, col0), c1 = std::min(pc + kc, col0 + k);
      if (c0 >= c1) continue;
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t r = q * MR, rows = std::min<int64_t>(MR, m - r);
        uk.pack_a(trans_a, A, lda, r, rows, c0 - col0, c1 - c0, MR, dst + pc * Mpad + (row0 + r) * kc + (c0 - pc) * MR);
      }
    }
  });
}

template <class T>
void gemm_packed_a(const UKernel<T>& uk, int64_t M, int64_t N, int64_t K, T alpha, const T* apacked, bool trans_b,
                   const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int nthreads) {
  gemm_impl(uk, false, trans_b, M, N, K, alpha, static_cast<const T*>(nullptr), 0, apacked, B, ldb, beta, C, ldc,
            static_cast<const T*>(nullptr), false, nthreads);
}

template <class T>
void gemm_batched(const UKernel<T>& uk, bool trans_a, bool trans_b, int64_t batch, int64_t M, int64_t N,
                  int64_t K, T alpha, const T* A, int64_t lda, int64_t stride_a, const T* B, int64_t ldb,
                  int64_t stride_b, T beta, T* C, int64_t ldc, int64_t stride_c, const T* bias, bool relu,
                  int nthreads) {
  if (batch <= 0) return;
  const double flops = 2.0 * M * N * K;
  if (nthreads > 1 && batch >= nthreads && flops < 4.0e6) {
    // Many small products: one thread per matrix beats splitting each one.
    parallel_region(nthreads, [&](int tid, int nt) {
      int64_t b0, b1;
      split_range(batch, nt, tid, &b0, &b1);
      for (int64_t i = b0; i < b1; ++i)
        gemm(uk, trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
             C + i * stride_c, ldc, bias, relu, 1);
    });
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    gemm(uk, trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
         C + i * stride_c, ldc, bias, relu, nthreads);
}

#define FE_INSTANTIATE(T)                                                                              \
  template void gemm<T>(const UKernel<T>&, bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, \
                        const T*, int64_t, T, T*, int64_t, const T*, bool, int);                     \
  template int64_t packed_a_size<T>(const UKernel<T>&, int64_t, int64_t);                                 \
  template void pack_a_all<T>(const UKernel<T>&, bool, int64_t, int64_t, const T*, int64_t, T*, int);        \
  template void pack_a_part<T>(const UKernel<T>&, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                               const T*, int64_t, T*, int);                                                  \
  template void gemm_packed_a<T>(const UKernel<T>&, int64_t, int64_t, int64_t, T, const T*, bool, const T*,   \
                                 int64_t, T, T*, int64_t, int);                                              \
  template void gemm_batched<T>(const UKernel<T>&, bool, bool, int64_t, int64_t, int64_t, int64_t, T,   \
                                const T*, int64_t, int64_t, const T*, int64_t, int64_t, T, T*, int64_t, \
                                int64_t, const T*, bool, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace gemm
}  // namespace fe
