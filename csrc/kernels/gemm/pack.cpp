// Packing op(A) and op(B) into the contiguous, zero-padded micro-panels the microkernels stream.
#include "kernels/gemm/gemm.h"

#include <cstring>

namespace fe {
namespace gemm {

// dst holds ceil(mc/mr) panels; panel r: dst[r*kc*mr + p*mr + i] = op(A)(row0 + r*mr + i, col0 + p).
template <class T>
void pack_a(bool trans_a, const T* A, int64_t lda, int64_t row0, int64_t mc, int64_t col0, int64_t kc,
            int mr, T* dst) {
  for (int64_t r = 0; r < mc; r += mr) {
    const int64_t rows = (mc - r < mr) ? mc - r : mr;
    T* panel = dst + (r / mr) * kc * mr;
    if (!trans_a) {
      // A(i, p) = A[i*lda + p]: read each row contiguously, write it with stride mr.
      for (int64_t i = 0; i < rows; ++i) {
        const T* src = A + (row0 + r + i) * lda + col0;
        for (int64_t p = 0; p < kc; ++p) panel[p * mr + i] = src[p];
      }
    } else {
      // A stored K x M: A(i, p) = A[p*lda + i], already contiguous across i.
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = A + (col0 + p) * lda + row0 + r;
        for (int64_t i = 0; i < rows; ++i) panel[p * mr + i] = src[i];
      }
    }
    if (rows < mr)
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t i = rows; i < mr; ++i) panel[p * mr + i] = T(0);
  }
}

// Packs panels [panel_begin, panel_end) of the kc x nc block at (row0, col0) of op(B).
template <class T>
void pack_b(bool trans_b, const T* B, int64_t ldb, int64_t row0, int64_t kc, int64_t col0,
            int64_t panel_begin, int64_t panel_end, int64_t nc, int nr, T* dst) {
  for (int64_t q = panel_begin; q < panel_end; ++q) {
    const int64_t j0 = q * nr;
    const int64_t cols = (nc - j0 < nr) ? nc - j0 : nr;
    T* panel = dst + q * kc * nr;
    if (!trans_b) {
      // B(p, j) = B[p*ldb + j]
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = B + (row0 + p) * ldb + col0 + j0;
        T* out = panel + p * nr;
        std::memcpy(out, src, sizeof(T) * cols);
        for (int64_t j = cols; j < nr; ++j) out[j] = T(0);
      }
    } else {
      // B stored N x K: B(p, j) = B[j*ldb + p]
      for (int64_t j = 0; j < cols; ++j) {
        const T* src = B + (col0 + j0 + j) * ldb + row0;
        for (int64_t p = 0; p < kc; ++p) panel[p * nr + j] = src[p];
      }
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t j = cols; j < nr; ++j) panel[p * nr + j] = T(0);
    }
  }
}

template void pack_a<float>(bool, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int, float*);
template void pack_a<double>(bool, const double*, int64_t, int64_t, int64_t, int64_t, int64_t, int, double*);
template void pack_b<float>(bool, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                            int, float*);
template void pack_b<double>(bool, const double*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                             int64_t, int, double*);

}  // namespace gemm
}  // namespace fe
