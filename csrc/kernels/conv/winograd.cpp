// Winograd F(2x2, 3x3) and F(4x4, 3x3) drivers (see winograd.h): weights transformed and packed once per
// call, then one parallel region over blocks of tiles (a block size fixed by the shape); each block is
// transformed, multiplied by n*n single-threaded GEMMs and transformed back by the thread that owns it, so every
// output is computed the same way for any thread count. The weight gradient sums fixed groups of
// blocks (one partial each) and then the partials in group order.
#include "kernels/conv/winograd.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "common/parallel.h"
#include "common/scratch.h"
#include "dispatch.h"

namespace fe {
namespace conv {
namespace winograd {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <class S>
Tiling forward_tiling(const Geometry& g, int64_t OC) {
  return {g.C, g.H, g.W, g.ph, g.pw, OC, g.OH, g.OW, ceil_div(g.OH, S::m), ceil_div(g.OW, S::m)};
}

// Tiles per block: the block's transformed input and output (n*n x (cin + cout) x nb) about 512 KiB in
// float32 so they stay in L2 next to the packed weights (measured on ResNet 64->64 32x32: 256 KiB to
// 1 MiB within 5%, 2 MiB 40% slower, 4 MiB 65% slower), at least one GEMM column panel and a multiple
// of it. Fixed by the shape (and the ISA's register block), never by the thread count.
template <class T>
int64_t block_tiles(const gemm::UKernel<T>& uk, int64_t pos, int64_t cin, int64_t cout, int64_t tiles,
                    int64_t target) {
  const int64_t nr = uk.nr;
  int64_t nb = std::max<int64_t>(nr, target / (pos * (cin + cout)) / nr * nr);
  return std::min(nb, std::max<int64_t>(nr, ceil_div(tiles, nr) * nr));
}

// U[pos] (cout x cin) = G g G^T for each (out, in) pair (in double, rounded once), packed for the GEMM.
// swap: the pair's 3x3 is w[in][out] turned 180 degrees (backward data: the in/out-swapped, rotated
// weights), else w[out][in].
template <class S, class T>
void pack_weights(const gemm::UKernel<T>& uk, const T* w, int64_t cout, int64_t cin, bool swap, T* U, T* packed,
                  int64_t psize) {
  constexpr int n = S::n;
  // pairs worked out 16 at a time, then stored as n*n runs: n*n stores mk apart for each pair (16 KiB at
  // 64 -> 64) had cost 6% of an F(4x4) layer
  constexpr int64_t kChunk = 16;
  const int64_t mk = cout * cin;
  for (int64_t o = 0; o < cout; ++o)
    for (int64_t c0 = 0; c0 < cin; c0 += kChunk) {
      const int64_t cn = std::min(kChunk, cin - c0);
      T out[n * n][kChunk];
      for (int64_t k = 0; k < cn; ++k) {
        const int64_t c = c0 + k;
        double g[3][3];
        const T* src = swap ? w + (c * cout + o) * 9 : w + (o * cin + c) * 9;
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) g[i][j] = swap ? src[(2 - i) * 3 + (2 - j)] : src[i * 3 + j];
        double t[n][3];  // G g
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < 3; ++j) t[i][j] = S::G[i][0] * g[0][j] + S::G[i][1] * g[1][j] + S::G[i][2] * g[2][j];
        for (int i = 0; i < n; ++i)  // (G g) G^T
          for (int j = 0; j < n; ++j)
            out[n * i + j][k] = static_cast<T>(t[i][0] * S::G[j][0] + t[i][1] * S::G[j][1] + t[i][2] * S::G[j][2]);
      }
      for (int p = 0; p < n * n; ++p) std::copy(out[p], out[p] + cn, U + p * mk + o * cin + c0);
    }
  for (int64_t p = 0; p < n * n; ++p)
    gemm::pack_a_all(uk, false, cout, cin, U + p * mk, cin, packed + p * psize, 1);
}

// y = Winograd convolution described by tl with the packed weights (+ bias, relu): the forward, and
// the backward data with dy as input.
template <class S, class T>
void convolve(const Transforms<T>& tk, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Tiling& tl,
              const T* w, bool swap, const T* bias, bool relu, T* y, int nthreads) {
  constexpr int64_t kPos = S::n * S::n;
  const int64_t tiles = N * tl.TH * tl.TW;
  if (tiles <= 0) return;
  const int64_t nb = block_tiles(uk, kPos, tl.C, tl.OC, tiles, int64_t(1) << 17);
  const int64_t items = ceil_div(tiles, nb);
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, items)));
  const int64_t psize = gemm::packed_a_size(uk, tl.OC, tl.C);
  const int64_t vps = plane_stride<T>(tl.C, nb), mps = plane_stride<T>(tl.OC, nb);
  const int64_t vsize = kPos * vps, msize = kPos * mps, bsize = scratch_size(S::m, tl.TW);
  Workspace ws(Workspace::bytes_for<T>({kPos * tl.OC * tl.C, kPos * psize, nt * vsize, nt * msize, nt * bsize}));
  T* U = ws.take<T>(kPos * tl.OC * tl.C);
  T* packed = ws.take<T>(kPos * psize);
  T* V = ws.take<T>(nt * vsize);
  T* M = ws.take<T>(nt * msize);
  T* buf = ws.take<T>(nt * bsize);
  pack_weights<S>(uk, w, tl.OC, tl.C, swap, U, packed, psize);
  parallel_region(nt, [&](int tid, int count) {
    int64_t a, b;
    split_range(items, count, tid, &a, &b);
    T* v = V + tid * vsize;
    T* m = M + tid * msize;
    T* bf = buf + tid * bsize;
    for (int64_t it = a; it < b; ++it) {
      const int64_t t0 = it * nb, n = std::min(nb, tiles - t0);
      tk.input_tiles[S::index](x, tl, t0, n, v, nb, bf);
      for (int64_t p = 0; p < kPos; ++p)
        gemm::gemm_packed_a(uk, tl.OC, n, tl.C, T(1), packed + p * psize, false, v + p * vps, nb, T(0), m + p * mps,
                            nb, 1);
      tk.output_tiles[S::index](m, tl, t0, n, nb, bias, relu, y, bf);
    }
  });
}

// dw (OC, C, 3, 3) = G^T dU G, dU[pos] (OC x C) = sum over tiles Z[pos] V[pos]^T.
template <class S, class T>
void weight_grad_s(const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g, int64_t OC, const T* dy,
                   T* dw, int nthreads) {
  const Transforms<T>& tk = kernels<Transforms<T>>();
  const Tiling tl = forward_tiling<S>(g, OC);
  constexpr int n = S::n;
  constexpr int64_t kPos = n * n;
  const int64_t tiles = N * tl.TH * tl.TW, mk = tl.OC * tl.C;
  if (tiles <= 0) {
    std::fill(dw, dw + mk * 9, T(0));
    return;
  }
  // the block as many tiles as F(2x2)'s (its 0.5 MiB times 36/16 with F(4x4)): each position's GEMM
  // sums nb tiles into dU, and F(4x4) on ResNet's 64 -> 64 at 0.5 MiB (32 tiles) left that sum short and
  // the partials' traffic twice as large (64 tiles: 1.08x; 96: 1.08x; the forward and data gradient at
  // 64 tiles: 0.96-0.99x, so they keep 0.5 MiB)
  const int64_t nb = block_tiles(uk, kPos, tl.C, tl.OC, tiles, (int64_t(1) << 17) * kPos / 16);
  const int64_t items = ceil_div(tiles, nb);
  // Groups of consecutive blocks, each summed into a partial dU of its own: as many as the shape
  // allows up to 16 (so up to 16 threads share the work) within about 4M elements of partials.
  const int64_t groups = std::max<int64_t>(1, std::min<int64_t>({items, 16, (int64_t(1) << 22) / (kPos * mk)}));
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, groups)));
  const int64_t vps = plane_stride<T>(tl.C, nb), zps = plane_stride<T>(tl.OC, nb);
  const int64_t vsize = kPos * vps, zsize = kPos * zps, bsize = scratch_size(S::m, tl.TW);
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
        const int64_t t0 = it * nb, nn = std::min(nb, tiles - t0);
        tk.input_tiles[S::index](x, tl, t0, nn, v, nb, bf);
        tk.grad_tiles[S::index](dy, tl, t0, nn, z, nb, bf);
        for (int64_t p = 0; p < kPos; ++p)
          gemm::gemm(uk, false, true, tl.OC, tl.C, nn, T(1), z + p * zps, nb, v + p * vps, nb,
                     it == a ? T(0) : T(1), part + p * mk, tl.C, static_cast<const T*>(nullptr), false, 1);
      }
    }
  });
  // The partials summed in group order into group 0 (contiguous rows: the same sums, element by
  // element, as reading the groups in turn), then G^T dU G per (out, in) pair (in double, rounded
  // once); rows of dw over threads.
  parallel_items(tl.OC, kPos * tl.C * groups, nthreads, [&](int64_t o0, int64_t o1) {
    const int64_t len = (o1 - o0) * tl.C;
    for (int64_t p = 0; p < kPos; ++p) {
      T* __restrict s = dU + p * mk + o0 * tl.C;
      for (int64_t gi = 1; gi < groups; ++gi) {
        const T* __restrict src = s + gi * kPos * mk;
        for (int64_t k = 0; k < len; ++k) s[k] += src[k];
      }
    }
    constexpr int64_t kChunk = 16;  // pairs read as n*n runs, as pack_weights writes them
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t c0 = 0; c0 < tl.C; c0 += kChunk) {
        const int64_t cn = std::min(kChunk, tl.C - c0);
        T u[kPos][kChunk];
        for (int64_t p = 0; p < kPos; ++p) {
          const T* src = dU + p * mk + o * tl.C + c0;
          std::copy(src, src + cn, u[p]);
        }
        for (int64_t k = 0; k < cn; ++k) {
          double t[3][n];  // G^T u
          for (int a = 0; a < 3; ++a)
            for (int j = 0; j < n; ++j) {
              double acc = 0;
              for (int i = 0; i < n; ++i) acc += S::G[i][a] * u[n * i + j][k];
              t[a][j] = acc;
            }
          T* out = dw + (o * tl.C + c0 + k) * 9;
          for (int a = 0; a < 3; ++a)  // (G^T u) G
            for (int l = 0; l < 3; ++l) {
              double acc = 0;
              for (int j = 0; j < n; ++j) acc += t[a][j] * S::G[j][l];
              out[a * 3 + l] = static_cast<T>(acc);
            }
        }
      }
  });
}

// The forward and the data gradient with scheme S (the weight gradient: weight_grad_s above).
template <class S, class T>
void forward_s(const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC,
               const T* bias, bool relu, T* y, int nthreads) {
  convolve<S>(kernels<Transforms<T>>(), uk, x, N, forward_tiling<S>(g, OC), w, false, bias, relu, y, nthreads);
}

// dx = full correlation of dy with the rotated weights: a stride-1 convolution padded by 2 - p.
template <class S, class T>
void data_grad_s(const gemm::UKernel<T>& uk, const T* dy, int64_t N, const Geometry& g, const T* w, int64_t OC, T* dx,
                 int nthreads) {
  const Tiling tl{OC, g.OH, g.OW, 2 - g.ph, 2 - g.pw, g.C, g.H, g.W, ceil_div(g.H, S::m), ceil_div(g.W, S::m)};
  convolve<S>(kernels<Transforms<T>>(), uk, dy, N, tl, w, true, static_cast<const T*>(nullptr), false, dx, nthreads);
}

std::atomic<int> g_tile_override{0};

}  // namespace

int tile_for(int64_t OH, int64_t OW, int64_t channels) {
  const int forced = g_tile_override.load(std::memory_order_relaxed);
  if (forced) return forced;
  if (channels > kF4MaxChannels) return 2;
  // products of each scheme over the map (tiles hanging over the edge count whole); sizes are >= 1, and
  // (a - 1) / b + 1 cannot overflow where ceil_div's a + b - 1 could (the query takes any int64)
  const auto tiles = [](int64_t a, int64_t b) { return static_cast<double>((a - 1) / b + 1); };
  const double f2 = 16.0 * tiles(OH, 2) * tiles(OW, 2), f4 = 36.0 * tiles(OH, 4) * tiles(OW, 4);
  return f4 <= 0.7 * f2 ? 4 : 2;
}

void set_tile_override(int tile) {
  if (tile != 0 && tile != 2 && tile != 4) throw std::invalid_argument("winograd tile must be 0, 2 or 4");
  g_tile_override.store(tile, std::memory_order_relaxed);
}

int tile_override() { return g_tile_override.load(std::memory_order_relaxed); }

bool applies(const Geometry& g, int64_t OC, int64_t groups) {
  // 3x3, stride 1, dilation 1, dense, padding at most 2 (backward data pads by 2 - p); enough channels
  // that the n*n GEMMs (OC x C) run near peak and the transforms are small next to them.
  return groups == 1 && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.ph >= 0 &&
         g.ph <= 2 && g.pw >= 0 && g.pw <= 2 && g.OH >= 1 && g.OW >= 1 && g.C >= 16 && OC >= 16;
}

bool forward_applies(const Geometry& g, int64_t OC, int64_t groups) {
  return applies(g, OC, groups) && g.OH * g.OW > 16;
}

template <class T>
void forward(const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC,
             const T* bias, bool relu, T* y, int nthreads) {
  if (tile_for(g.OH, g.OW, g.C) == 4)
    forward_s<F4>(uk, x, N, g, w, OC, bias, relu, y, nthreads);
  else
    forward_s<F2>(uk, x, N, g, w, OC, bias, relu, y, nthreads);
}

template <class T>
void backward(const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC,
              const T* dy, T* dx, T* dw, int nthreads) {
  // the data gradient is a convolution onto (H, W), the weight gradient tiles (OH, OW): each its own tile
  if (dx) (tile_for(g.H, g.W, OC) == 4 ? data_grad_s<F4, T> : data_grad_s<F2, T>)(uk, dy, N, g, w, OC, dx, nthreads);
  if (dw)
    (tile_for(g.OH, g.OW, 0) == 4 ? weight_grad_s<F4, T> : weight_grad_s<F2, T>)(uk, x, N, g, OC, dy, dw, nthreads);
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
