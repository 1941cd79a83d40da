// Winograd F(2x2, 3x3) drivers (see winograd.h): weights transformed and packed once per call, then one
// parallel region over blocks of tiles (a block size fixed by the shape); each block is transformed,
// multiplied by 16 single-threaded GEMMs and transformed back by the thread that owns it, so every
// output is computed the same way for any thread count. The weight gradient sums fixed groups of
// blocks (one partial each) and then the partials in group order.
#include "kernels/conv/winograd.h"

#include <algorithm>
#include <vector>

#include "common/parallel.h"
#include "common/scratch.h"
#include "dispatch.h"

namespace fe {
namespace conv {
namespace winograd {
namespace {

constexpr int64_t kPos = 16;  // positions of a 4x4 transformed tile

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

Tiling forward_tiling(const Geometry& g, int64_t OC) {
  return {g.C, g.H, g.W, g.ph, g.pw, OC, g.OH, g.OW, ceil_div(g.OH, 2), ceil_div(g.OW, 2)};
}

// Tiles per block: the block's transformed input and output (16 x (cin + cout) x nb) about 512 KiB in
// float32 so they stay in L2 next to the packed weights (measured on ResNet 64->64 32x32: 256 KiB to
// 1 MiB within 5%, 2 MiB 40% slower, 4 MiB 65% slower), at least one GEMM column panel and a multiple
// of it. Fixed by the shape (and the ISA's register block), never by the thread count.
template <class T>
int64_t block_tiles(const gemm::UKernel<T>& uk, int64_t cin, int64_t cout, int64_t tiles, int64_t target) {
  const int64_t nr = uk.nr;
  int64_t nb = std::max<int64_t>(nr, target / (kPos * (cin + cout)) / nr * nr);
  return std::min(nb, std::max<int64_t>(nr, ceil_div(tiles, nr) * nr));
}

// U[pos] (cout x cin) = G g G^T for each (out, in) pair, packed for the GEMM. swap: the pair's 3x3 is
// w[in][out] turned 180 degrees (backward data: the in/out-swapped, rotated weights), else w[out][in].
// G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]].
template <class T>
void pack_weights(const gemm::UKernel<T>& uk, const T* w, int64_t cout, int64_t cin, bool swap, T* U, T* packed,
                  int64_t psize) {
  const int64_t mk = cout * cin;
  for (int64_t o = 0; o < cout; ++o)
    for (int64_t c = 0; c < cin; ++c) {
      T g[3][3];
      const T* src = swap ? w + (c * cout + o) * 9 : w + (o * cin + c) * 9;
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) g[i][j] = swap ? src[(2 - i) * 3 + (2 - j)] : src[i * 3 + j];
      T t[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        t[0][j] = g[0][j];
        t[1][j] = T(0.5) * (g[0][j] + g[1][j] + g[2][j]);
        t[2][j] = T(0.5) * (g[0][j] - g[1][j] + g[2][j]);
        t[3][j] = g[2][j];
      }
      for (int i = 0; i < 4; ++i) {  // (G g) G^T
        T* u = U + (4 * i) * mk + o * cin + c;
        u[0] = t[i][0];
        u[mk] = T(0.5) * (t[i][0] + t[i][1] + t[i][2]);
        u[2 * mk] = T(0.5) * (t[i][0] - t[i][1] + t[i][2]);
        u[3 * mk] = t[i][2];
      }
    }
  for (int64_t p = 0; p < kPos; ++p) gemm::pack_a_all(uk, false, cout, cin, U + p * mk, cin, packed + p * psize, 1);
}

// y = Winograd convolution described by tl with the packed weights (+ bias, relu): the forward, and
// the backward data with dy as input.
template <class T>
void convolve(const Transforms<T>& tk, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Tiling& tl,
              const T* w, bool swap, const T* bias, bool relu, T* y, int nthreads) {
  const int64_t tiles = N * tl.TH * tl.TW;
  if (tiles <= 0) return;
  const int64_t nb = block_tiles(uk, tl.C, tl.OC, tiles, int64_t(1) << 17);
  const int64_t items = ceil_div(tiles, nb);
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, items)));
  const int64_t psize = gemm::packed_a_size(uk, tl.OC, tl.C);
  const int64_t vps = plane_stride<T>(tl.C, nb), mps = plane_stride<T>(tl.OC, nb);
  const int64_t vsize = kPos * vps, msize = kPos * mps, bsize = 16 * (tl.TW + 2);
  Workspace ws(Workspace::bytes_for<T>({kPos * tl.OC * tl.C, kPos * psize, nt * vsize, nt * msize, nt * bsize}));
  T* U = ws.take<T>(kPos * tl.OC * tl.C);
  T* packed = ws.take<T>(kPos * psize);
  T* V = ws.take<T>(nt * vsize);
  T* M = ws.take<T>(nt * msize);
  T* buf = ws.take<T>(nt * bsize);
  pack_weights(uk, w, tl.OC, tl.C, swap, U, packed, psize);
  parallel_region(nt, [&](int tid, int count) {
    int64_t a, b;
    split_range(items, count, tid, &a, &b);
    T* v = V + tid * vsize;
    T* m = M + tid * msize;
    T* bf = buf + tid * bsize;
    for (int64_t it = a; it < b; ++it) {
      const int64_t t0 = it * nb, n = std::min(nb, tiles - t0);
      tk.input_tiles(x, tl, t0, n, v, nb, bf);
      for (int64_t p = 0; p < kPos; ++p)
        gemm::gemm_packed_a(uk, tl.OC, n, tl.C, T(1), packed + p * psize, false, v + p * vps, nb, T(0), m + p * mps,
                            nb, 1);
      tk.output_tiles(m, tl, t0, n, nb, bias, relu, y, bf);
    }
  });
}

// dw (OC, C, 3, 3) = G^T dU G, dU[pos] (OC x C) = sum over tiles Z[pos] V[pos]^T.
template <class T>
void weight_grad(const Transforms<T>& tk, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Tiling& tl,
                 const T* dy, T* dw, int nthreads) {
  const int64_t tiles = N * tl.TH * tl.TW, mk = tl.OC * tl.C;
  if (tiles <= 0) {
    std::fill(dw, dw + mk * 9, T(0));
    return;
  }
  const int64_t nb = block_tiles(uk, tl.C, tl.OC, tiles, int64_t(1) << 17);
  const int64_t items = ceil_div(tiles, nb);
  // Groups of consecutive blocks, each summed into a partial dU of its own: as many as the shape
  // allows up to 16 (so up to 16 threads share the work) within about 4M elements of partials.
  const int64_t groups = std::max<int64_t>(1, std::min<int64_t>({items, 16, (int64_t(1) << 22) / (kPos * mk)}));
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, groups)));
  const int64_t vps = plane_stride<T>(tl.C, nb), zps = plane_stride<T>(tl.OC, nb);
  const int64_t vsize = kPos * vps, zsize = kPos * zps, bsize = 16 * (tl.TW + 2);
  Workspace ws(Workspace::bytes_for<T>({groups * kPos * mk, nt * vsize, nt * zsize, nt * bsize}));
  T* dU = ws.take<T>(groups * kPos * mk);
  T* V = ws.take<T>(nt * vsize);
  T* Z = ws.take<T>(nt * zsize);
  T* buf = ws.take<T>(nt * bsize);
  parallel_region(nt, [&](int tid, int count) {
    int64_t g0, g1;
    split_range(groups, count, tid, &g0, &g1);
    T* v = V + tid * vsize;
    T* z = Z + tid * zsize;
    T* bf = buf + tid * bsize;
    for (int64_t gi = g0; gi < g1; ++gi) {
      int64_t a, b;
      split_range(items, static_cast<int>(groups), static_cast<int>(gi), &a, &b);
      T* part = dU + gi * kPos * mk;
      for (int64_t it = a; it < b; ++it) {
        const int64_t t0 = it * nb, n = std::min(nb, tiles - t0);
        tk.input_tiles(x, tl, t0, n, v, nb, bf);
        tk.grad_tiles(dy, tl, t0, n, z, nb, bf);
        for (int64_t p = 0; p < kPos; ++p)
          gemm::gemm(uk, false, true, tl.OC, tl.C, n, T(1), z + p * zps, nb, v + p * vps, nb,
                     it == a ? T(0) : T(1), part + p * mk, tl.C, static_cast<const T*>(nullptr), false, 1);
      }
    }
  });
  // The partials summed in group order into group 0 (contiguous rows: the same sums, element by
  // element, as reading the groups in turn), then G^T dU G per (out, in) pair; rows of dw over threads.
  parallel_items(tl.OC, kPos * tl.C * groups, nthreads, [&](int64_t o0, int64_t o1) {
    const int64_t len = (o1 - o0) * tl.C;
    for (int64_t p = 0; p < kPos; ++p) {
      T* __restrict s = dU + p * mk + o0 * tl.C;
      for (int64_t gi = 1; gi < groups; ++gi) {
        const T* __restrict src = s + gi * kPos * mk;
        for (int64_t k = 0; k < len; ++k) s[k] += src[k];
      }
    }
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t c = 0; c < tl.C; ++c) {
        T u[4][4];
        for (int64_t p = 0; p < kPos; ++p) u[p / 4][p % 4] = dU[p * mk + o * tl.C + c];
        T t[3][4];  // G^T u, G^T = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]]
        for (int j = 0; j < 4; ++j) {
          t[0][j] = u[0][j] + T(0.5) * (u[1][j] + u[2][j]);
          t[1][j] = T(0.5) * (u[1][j] - u[2][j]);
          t[2][j] = T(0.5) * (u[1][j] + u[2][j]) + u[3][j];
        }
        T* out = dw + (o * tl.C + c) * 9;
        for (int i = 0; i < 3; ++i) {  // (G^T u) G
          out[i * 3 + 0] = t[i][0] + T(0.5) * (t[i][1] + t[i][2]);
          out[i * 3 + 1] = T(0.5) * (t[i][1] - t[i][2]);
          out[i * 3 + 2] = T(0.5) * (t[i][1] + t[i][2]) + t[i][3];
        }
      }
  });
}

}  // namespace

bool applies(const Geometry& g, int64_t OC, int64_t groups) {
  // 3x3, stride 1, dilation 1, dense, padding at most 2 (backward data pads by 2 - p); enough channels
  // that the 16 GEMMs (OC x C) run near peak and the transforms are small next to them.
  return groups == 1 && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.ph >= 0 &&
         g.ph <= 2 && g.pw >= 0 && g.pw <= 2 && g.OH >= 1 && g.OW >= 1 && g.C >= 16 && OC >= 16;
}

bool forward_applies(const Geometry& g, int64_t OC, int64_t groups) {
  return applies(g, OC, groups) && g.OH * g.OW > 16;
}

template <class T>
void forward(const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC,
             const T* bias, bool relu, T* y, int nthreads) {
  const auto& tk = kernels<Transforms<T>>();
  convolve(tk, uk, x, N, forward_tiling(g, OC), w, false, bias, relu, y, nthreads);
}

template <class T>
void backward(const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC,
              const T* dy, T* dx, T* dw, int nthreads) {
  const auto& tk = kernels<Transforms<T>>();
  if (dx) {
    // dx = full correlation of dy with the rotated weights: a stride-1 convolution padded by 2 - p
    const Tiling tl{OC, g.OH, g.OW, 2 - g.ph, 2 - g.pw, g.C, g.H, g.W, ceil_div(g.H, 2), ceil_div(g.W, 2)};
    convolve(tk, uk, dy, N, tl, w, true, static_cast<const T*>(nullptr), false, dx, nthreads);
  }
  if (dw) weight_grad(tk, uk, x, N, forward_tiling(g, OC), dy, dw, nthreads);
}

#define FE_INSTANTIATE(T)                                                                                      \
  template void forward<T>(const gemm::UKernel<T>&, const T*, int64_t, const Geometry&, const T*, int64_t,     \
                           const T*, bool, T*, int);                                                           \
  template void backward<T>(const gemm::UKernel<T>&, const T*, int64_t, const Geometry&, const T*, int64_t,    \
                            const T*, T*, T*, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace winograd
}  // namespace conv
}  // namespace fe
