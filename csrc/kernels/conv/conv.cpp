// Convolution drivers: im2col + GEMM over fixed tiles of output rows, one parallel region per call (see
// conv.h). Every output element is written by one thread in an order fixed by the shape, so no result
// depends on the thread count.
#include "kernels/conv/conv.h"
#include "kernels/conv/direct.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "common/parallel.h"
#include "common/scratch.h"
#include "kernels/conv/winograd.h"

namespace fe {
namespace conv {
namespace {

bool pointwise(const Geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// A tile is whole output rows of one image whose columns (C*kh*kw of them per position) fill about
// kTileBytes: a thread's column tile, the GEMM's packed panels and its output tile stay in its L2 while
// the GEMM reads the columns once per block of output channels. Whole images' columns (2.3 MiB at
// ResNet's 64 channels, 3x3, 32x32) fell out of L2, and their rows, OH*OW = 1024 floats apart, made the
// GEMM's in-place B reads alias in L1: 75 GFLOP/s against 180 here. Measured at ResNet's shapes (per-pass
// GFLOP/s against an L2-resident GEMM's): 512 KiB tiles 89/84/80 % (forward/data/weight gradient), 768 KiB
// 91/86/84 %, 2.3 MiB (whole images) 62 %; smaller tiles are narrow GEMMs (256 KiB: 63 %).
constexpr int64_t kTileBytes = int64_t(768) << 10;

template <class T>
int64_t tile_rows(const Geometry& g, int64_t KT) {
  // as few tiles as fit the budget, then rows shared evenly (16 rows at 14 a tile: 8 + 8, not 14 + 2)
  const int64_t budget = kTileBytes / static_cast<int64_t>(sizeof(T));
  const int64_t most = std::max<int64_t>(1, std::min<int64_t>(g.OH, budget / std::max<int64_t>(1, KT * g.OW)));
  const int64_t tiles = (g.OH + most - 1) / most;
  return (g.OH + tiles - 1) / tiles;
}

// Row stride of a column tile of n columns: an odd number of 64-byte lines, so consecutive rows of a
// panel step through all of L1's sets (which repeat every 4 KiB). Rows a multiple of 4 KiB apart all
// fall into one set (ResNet's 32x32 images, rows 1024 floats apart: the GEMM ran at 75 GFLOP/s against
// 160 with 16 floats more); rows 1 KiB apart (16x16 maps) reach only 8 of its 64 sets, and a 1x1
// stride-2 layer's column tile, read in place by the GEMM, was fetched from L2 again for every block
// of rows (64 -> 128 on 32x32, N = 32, one core, forward / weight gradient: 1.26 / 1.64 ms with even
// strides, 0.77 / 0.93 ms with 17 lines; 3x3 stride 2 layers ~2 % faster).
template <class T>
int64_t tile_ld(int64_t n) {
  constexpr int64_t line = 64 / sizeof(T);
  int64_t ld = (n + line - 1) / line * line;
  if ((ld / line) % 2 == 0) ld += line;
  return ld;
}

// A 1x1 stride-1 convolution reads the image itself as its column matrix, unless its rows (planes) are
// a multiple of 4 KiB apart: then the tile is copied (im2col) to a tile_ld stride, for the reason above
// (1x1 64 -> 128 at 32x32: forward 79 -> ~150 GFLOP/s).
template <class T>
bool columns_in_place(const Geometry& g) {
  return pointwise(g) && (g.OH * g.OW * static_cast<int64_t>(sizeof(T))) % 4096 != 0;
}

// Small maps: an image whose output has fewer than kMinColumns positions (ResNet's and VGG's last
// stages at 32x32 inputs: 4x4 and 2x2) gives the GEMM a product only L columns wide, most of the
// microkernel's 32-column tile idle, and the weight gradient a reduction only L long. Such images go
// side by side into one column tile, about kMinColumns columns of them or as many as the tile budget
// allows beyond that (at most kMaxColumns), and the product is moved to each image's planes after.
constexpr int64_t kMinColumns = 64, kMaxColumns = 256, kSmallMapBytes = int64_t(4) << 20;
std::atomic<int64_t> g_small_map_bytes{0};  // set_small_map_bytes (tests): 0 is kSmallMapBytes

template <class T>
int64_t images_per_tile(const Geometry& g, int64_t N, int64_t KT) {
  const int64_t L = g.OH * g.OW;
  if (L <= 0 || L >= kMinColumns || N <= 1) return 1;
  const int64_t budget = kTileBytes / static_cast<int64_t>(sizeof(T)) / std::max<int64_t>(1, KT);
  const int64_t cols = std::max(kMinColumns, std::min(kMaxColumns, budget));
  return std::max<int64_t>(1, std::min(N, cols / L));
}

// A small map's windows as a table: for each tap t = i*kw + j and output position q, the offset in the
// input plane the tap reads there, or -1 where it reads padding. im2col and col2im of a small image then
// run one short loop per (channel, tap), not the row-by-row spans of im2col_rows, whose set-up cost is
// paid per output row (4 positions a row at 4x4: the spans cost more than the copies).
struct Taps {
  int64_t kk = 0, L = 0;
  std::vector<int64_t> off;  // (kk, L)
  explicit Taps(const Geometry& g) : kk(g.kh * g.kw), L(g.OH * g.OW), off(kk * L) {
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j)
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t h = oh * g.sh - g.ph + i * g.dh, w = ow * g.sw - g.pw + j * g.dw;
            const bool in = h >= 0 && h < g.H && w >= 0 && w < g.W;
            off[(i * g.kw + j) * L + oh * g.OW + ow] = in ? h * g.W + w : -1;
          }
  }
};

// col (C*kh*kw rows, row stride ldc, the first L columns) = the windows of one image x (C, H, W)
template <class T>
void im2col_small(const T* x, const Geometry& g, const Taps& tp, T* col, int64_t ldc) {
  const int64_t plane = g.H * g.W, L = tp.L;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t t = 0; t < tp.kk; ++t) {
      const int64_t* o = tp.off.data() + t * L;
      const T* xc = x + c * plane;
      T* row = col + (c * tp.kk + t) * ldc;
      for (int64_t q = 0; q < L; ++q) row[q] = o[q] >= 0 ? xc[o[q]] : T(0);
    }
}

// dx (C, H, W) += those columns scattered back, in the order (channel, tap, position)
template <class T>
void col2im_small_add(const T* col, const Geometry& g, const Taps& tp, T* dx, int64_t ldc) {
  const int64_t plane = g.H * g.W, L = tp.L;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t t = 0; t < tp.kk; ++t) {
      const int64_t* o = tp.off.data() + t * L;
      const T* row = col + (c * tp.kk + t) * ldc;
      T* dc = dx + c * plane;
      for (int64_t q = 0; q < L; ++q)
        if (o[q] >= 0) dc[o[q]] += row[q];
    }
}

// Partial sums of the weight gradient: images go in kWeightGroups contiguous groups (fewer for small
// N or a large weight), each summed on its own and then added in group order. The groups depend only
// on the shape; threads take whole groups.
constexpr int64_t kWeightGroups = 8;
int64_t weight_groups(int64_t N, int64_t wsize) {
  const int64_t by_memory = std::max<int64_t>(1, (int64_t(1) << 23) / std::max<int64_t>(1, wsize));
  return std::max<int64_t>(1, std::min({N, kWeightGroups, by_memory}));
}

// The share of the microkernel's tiles an M x N product fills: row blocks of MR, columns in panels of NR
// and a last one of narrow_nr where the remainder fits it.
template <class T>
double tile_use(const gemm::UKernel<T>& uk, int64_t M, int64_t N) {
  const int64_t rows = (M + uk.mr - 1) / uk.mr * uk.mr, rem = N % uk.nr;
  const int64_t cols = N - rem + (rem == 0 ? 0 : uk.narrow_nr > 0 && rem <= uk.narrow_nr ? uk.narrow_nr : uk.nr);
  return static_cast<double>(M) / static_cast<double>(rows) * static_cast<double>(N) / static_cast<double>(cols);
}

template <class T>
inline T relu_of(T v) {
  return v > T(0) ? v : (v != v ? v : T(0));  // NaN stays NaN, like max(x, 0) in NumPy
}

// The forward pass's work: items (image, tile of output rows) over nt threads, each thread's column
// tile in its own part of `cols`. Sizes depend only on the shape.
template <class T>
struct ForwardPlan {
  int64_t L, K, OCg, KT, R, tiles, nb, items, ldt, asize, obuf;
  bool pw;
  int nt;
  ForwardPlan(const gemm::UKernel<T>& uk, const Geometry& g, int64_t N, int64_t OC, int64_t groups, int nthreads) {
    L = g.OH * g.OW;
    K = g.C / groups * g.kh * g.kw;
    OCg = OC / groups;
    KT = g.C * g.kh * g.kw;
    nb = images_per_tile<T>(g, N, KT);
    pw = nb == 1 && columns_in_place<T>(g);
    R = nb > 1 ? g.OH : tile_rows<T>(g, KT);
    tiles = (g.OH + R - 1) / R;
    items = nb > 1 ? (N + nb - 1) / nb : N * tiles;
    ldt = tile_ld<T>(nb * R * g.OW);
    asize = gemm::packed_a_size(uk, OCg, K);
    obuf = nb > 1 ? OC * nb * L : 0;  // the batched tile's product, before it goes to each image's planes
    nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, items)));
  }
  int64_t packed_weight() const { return asize; }  // per group
  int64_t column_tiles() const { return pw ? 0 : nt * (KT * ldt + obuf); }
};

// y (N, OC, OH*OW) = conv(x, the weight packed per group in wpack) (+ bias, ReLU), one parallel region.
template <class T>
void forward_tiles(const Kernels<T>& k, const gemm::UKernel<T>& uk, const ForwardPlan<T>& pl, const T* x,
                   int64_t N, const Geometry& g, const T* wpack, int64_t OC, int64_t groups, const T* bias, bool relu,
                   T* y, T* cols) {
  const int64_t L = pl.L, K = pl.K, OCg = pl.OCg, KT = pl.KT, R = pl.R, ldt = pl.ldt, plane = g.C * g.H * g.W;
  const bool pw = pl.pw;
  // Items are handed out in turn: each writes only its own tile of y, so which thread runs it changes no
  // bit, and a thread the OS has not scheduled (cores shared with other work) holds up no other.
  std::atomic<int64_t> next{0};
  const Taps taps(pl.nb > 1 ? g : Geometry{});
  parallel_region(pl.nt, [&](int tid, int) {
    T* col = cols + tid * (KT * ldt + pl.obuf);
    for (int64_t it; (it = next.fetch_add(1, std::memory_order_relaxed)) < pl.items;) {
      if (pl.nb > 1) {  // images n0..n1 side by side in one column tile (images_per_tile)
        const int64_t n0 = it * pl.nb, n1 = std::min(N, n0 + pl.nb), n_cols = (n1 - n0) * L;
        T* out = col + KT * ldt;  // (OC, n_cols)
        for (int64_t n = n0; n < n1; ++n) im2col_small(x + n * plane, g, taps, col + (n - n0) * L, ldt);
        for (int64_t gi = 0; gi < groups; ++gi)
          gemm::gemm_packed_a(uk, OCg, n_cols, K, T(1), wpack + gi * pl.asize, false, col + gi * K * ldt, ldt, T(0),
                              out + gi * OCg * n_cols, n_cols, 1);
        for (int64_t n = n0; n < n1; ++n)
          for (int64_t o = 0; o < OC; ++o) {
            const T* src = out + o * n_cols + (n - n0) * L;
            T* yr = y + (n * OC + o) * L;
            const T add = bias ? bias[o] : T(0);
            if (relu)
              for (int64_t j = 0; j < L; ++j) yr[j] = relu_of(src[j] + add);
            else
              for (int64_t j = 0; j < L; ++j) yr[j] = src[j] + add;
          }
        continue;
      }
      const int64_t n = it / pl.tiles, r0 = (it % pl.tiles) * R, r1 = std::min(g.OH, r0 + R);
      const int64_t n_cols = (r1 - r0) * g.OW;
      const T* xn = x + n * plane;
      // the tile's columns: a 1x1 stride-1 convolution reads the image itself
      const T* B = pw ? xn + r0 * g.OW : col;
      const int64_t ldb = pw ? L : ldt;
      if (!pw) k.im2col_rows(xn, g, r0, r1, col, ldt);
      T* yt = y + n * OC * L + r0 * g.OW;
      for (int64_t gi = 0; gi < groups; ++gi)
        gemm::gemm_packed_a(uk, OCg, n_cols, K, T(1), wpack + gi * pl.asize, false, B + gi * K * ldb, ldb, T(0),
                            yt + gi * OCg * L, L, 1);
      if (bias || relu)  // while the tile is still in L2
        for (int64_t o = 0; o < OC; ++o) {
          T* yr = yt + o * L;
          const T add = bias ? bias[o] : T(0);
          if (relu)
            for (int64_t j = 0; j < n_cols; ++j) yr[j] = relu_of(yr[j] + add);
          else
            for (int64_t j = 0; j < n_cols; ++j) yr[j] += add;
        }
    }
  });
}

// The data gradient of a stride-1 convolution is itself a stride-1 convolution: dx = conv(dy, W'),
// W'[c][o] the window of W[o][c] turned by 180 degrees, padding d*(k-1) - p. Where that convolution
// does no more work than the column form (the output rows dy has are nearly all of x's: "same"
// padding), it runs as a forward pass, im2col of dy read by the GEMM, with no scattered col2im adding
// every column back (ResNet 64->64: the data gradient from 84 to ~90 % of the GEMM's rate). Its GEMM
// has a row per input channel of a group, so it needs a few microkernel row blocks of them (3 -> 32 at
// 3x3: the column form 1.1 ms, this one 4.1). Small maps (images side by side, images_per_tile) keep the
// column form: its scatter is the tap table's short loops there, and its columns hold C*kh*kw rows where
// the convolution's im2col of dy holds OC*kh*kw (N = 64, one core: 64 -> 192 5x5 on 4x4 10.0 -> 5.7 ms,
// 512 -> 512 3x3 on 2x2 12.6 -> 10.5 ms).
bool data_gradient_as_convolution(const Geometry& g, int64_t groups, int mr) {
  if (g.OH * g.OW < kMinColumns) return false;
  if (g.sh != 1 || g.sw != 1 || pointwise(g) || g.C / groups < 2 * mr) return false;
  if (g.ph > g.dh * (g.kh - 1) || g.pw > g.dw * (g.kw - 1)) return false;
  return g.H * g.W * 8 <= g.OH * g.OW * 9;
}

}  // namespace

void set_small_map_bytes(int64_t bytes) {
  if (bytes < 0) throw std::invalid_argument("small map bytes must be >= 0");
  g_small_map_bytes.store(bytes, std::memory_order_relaxed);
}

int64_t small_map_bytes() { return g_small_map_bytes.load(std::memory_order_relaxed); }

template <class T>
void conv2d_forward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                    const T* w, int64_t OC, int64_t groups, const T* bias, bool relu, T* y, int nthreads) {
  if (direct::applies(g, OC, groups)) {  // few channels: no column matrix (direct.h)
    direct::forward<T>(x, N, g, w, OC, bias, relu, y, nthreads);
    return;
  }
  if (winograd::forward_applies(g, OC, groups)) {  // 3x3 stride 1, many channels: Winograd (winograd.h)
    winograd::forward<T>(uk, x, N, g, w, OC, bias, relu, y, nthreads);
    return;
  }
  // x (N, C, H, W), w (OC, C/groups*kh*kw), y (N, OC, OH*OW)
  if (N <= 0 || OC <= 0 || g.OH * g.OW <= 0) return;  // y is empty
  const ForwardPlan<T> pl(uk, g, N, OC, groups, nthreads);
  Workspace ws(Workspace::bytes_for<T>({groups * pl.packed_weight(), pl.column_tiles()}));
  T* wpack = ws.take<T>(groups * pl.packed_weight());
  T* cols = ws.take<T>(pl.column_tiles());
  // each group's weight packed once for every tile's GEMM
  for (int64_t gi = 0; gi < groups; ++gi)
    gemm::pack_a_all(uk, false, pl.OCg, pl.K, w + gi * pl.OCg * pl.K, pl.K, wpack + gi * pl.asize, nthreads);
  forward_tiles(k, uk, pl, x, N, g, wpack, OC, groups, bias, relu, y, cols);
}

template <class T>
void conv2d_backward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g,
                     const T* w, int64_t OC, int64_t groups, const T* dy, T* dx, T* dw, int nthreads) {
  if (direct::applies(g, OC, groups)) {  // few channels (direct.h); a strided dx below, by col2im
    const bool dx_here = dx && direct::data_gradient_applies(g, OC);
    if (dw || dx_here) direct::backward<T>(x, N, g, w, OC, dy, dx_here ? dx : nullptr, dw, nthreads);
    if (!dx || dx_here) return;
    dw = nullptr;
  }
  if (winograd::applies(g, OC, groups)) {  // 3x3 stride 1, many channels (winograd.h): both parts
    if (winograd::forward_applies(g, OC, groups)) {
      winograd::backward(uk, x, N, g, w, OC, dy, dx, dw, nthreads);
      return;
    }
    // small maps: the weight gradient here, the data gradient below (winograd::forward_applies)
    if (dw) winograd::backward(uk, x, N, g, w, OC, dy, static_cast<T*>(nullptr), dw, nthreads);
    if (!dx) return;
    dw = nullptr;
  }
  const int64_t L = g.OH * g.OW, K = g.C / groups * g.kh * g.kw, OCg = OC / groups, KT = g.C * g.kh * g.kw;
  const int64_t plane = g.C * g.H * g.W, wsize = OC * K;
  if (N <= 0 || L <= 0 || (!dx && !dw)) {  // no product to sum: dW is zeros, dx zeros (or empty)
    if (dw) std::fill(dw, dw + wsize, T(0));
    if (dx) std::fill(dx, dx + std::max<int64_t>(N, 0) * plane, T(0));
    return;
  }
  if (dx && data_gradient_as_convolution(g, groups, uk.mr)) {
    // dx = conv(dy, W') as a forward pass over dy (see data_gradient_as_convolution)
    const Geometry gt{OC, g.OH, g.OW, g.kh, g.kw, 1, 1, g.dh * (g.kh - 1) - g.ph, g.dw * (g.kw - 1) - g.pw,
                      g.dh, g.dw, g.H, g.W};
    const int64_t Cg = g.C / groups, kk = g.kh * g.kw;
    const ForwardPlan<T> pl(uk, gt, N, g.C, groups, nthreads);
    {
      Workspace ws(Workspace::bytes_for<T>({wsize, groups * pl.packed_weight(), pl.column_tiles()}));
      T* wt = ws.take<T>(wsize);  // W' (C, OC/groups, kh, kw)
      T* wpack = ws.take<T>(groups * pl.packed_weight());
      T* cols = ws.take<T>(pl.column_tiles());
      for (int64_t gi = 0; gi < groups; ++gi)
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t o = 0; o < OCg; ++o) {
            const T* src = w + ((gi * OCg + o) * Cg + c) * kk;
            T* dst = wt + ((gi * Cg + c) * OCg + o) * kk;
            for (int64_t q = 0; q < kk; ++q) dst[q] = src[kk - 1 - q];
          }
      for (int64_t gi = 0; gi < groups; ++gi)
        gemm::pack_a_all(uk, false, Cg, pl.K, wt + gi * Cg * pl.K, pl.K, wpack + gi * pl.asize, nthreads);
      forward_tiles(k, uk, pl, dy, N, gt, wpack, g.C, groups, static_cast<const T*>(nullptr), false, dx, cols);
    }
    if (!dw) return;
    dx = nullptr;
  }
  // Small maps: nb images side by side in a column tile, their dy gathered beside it (images_per_tile).
  // With dW, as many as kSmallMapBytes of columns hold, up to a whole group: every pass adds the
  // product into the group's weight-sized sum, which at these shapes is larger than the columns
  // (512 -> 512 3x3 on 2x2 maps: 9.4 MB a pass against 1.2 MB of columns for 16 images).
  const int64_t nb0 = images_per_tile<T>(g, N, KT);
  // Work items: image groups. With dW, the groups of its partial sums; else every image (every nb) is one.
  const int64_t G = dw ? weight_groups(N, wsize) : (N + nb0 - 1) / nb0;
  const int64_t small_bytes = g_small_map_bytes.load(std::memory_order_relaxed);
  const int64_t fit = (small_bytes > 0 ? small_bytes : kSmallMapBytes) / static_cast<int64_t>(sizeof(T)) /
                      std::max<int64_t>(1, (KT + OC) * L);
  const int64_t nb = nb0 > 1 && dw ? std::max(nb0, std::min((N + G - 1) / G, fit)) : nb0;
  const bool pw = nb == 1 && pointwise(g), in_place = nb == 1 && columns_in_place<T>(g);
  // The weight gradient's product sums over positions, the unit-stride axis of both the columns and dy,
  // so one of them is packed transposed; the smaller one. With more output channels than window offsets
  // (1x1 layers that widen: ResNet's shortcut 64 -> 128, a bottleneck's 64 -> 256) that is the columns:
  // dW_g = dy_g @ col_g^T, dy read in place, and each group's partial sum is in dW's own layout (no
  // transpose at the end); unless the window offsets, now the product's columns, fill fewer of the
  // microkernel's tiles (tile_use: 20 -> 64 or 40 -> 96, a part-filled last panel, ran 0.81-0.93x that
  // way). One core, weight gradient alone, ms before -> after: 1x1 stride 2 64 -> 128 on 32x32 (N = 32)
  // 2.03 -> 1.91, 2.25 -> 2.01 (2 threads 1.16 -> 1.04); 128 -> 256 on 16x16 1.76 -> 1.63; 64 -> 256 on
  // 56x56 (N = 8) 10.9 -> 8.8; 32 -> 96 on 32x32 1.49 -> 1.27 (AVX2: 1.02-1.22x); small maps (images side
  // by side): 1x1 stride 2 256 -> 512 on 8x8 1.91 -> 1.60 (2 threads 1.12 -> 0.85), 3x3 stride 2 24 ->
  // 256 on 8x8 0.82 -> 0.74, 32 -> 128 on 6x6 (N = 64) 0.31 -> 0.28; 3x3 24 -> 256 stride 2 on 32x32
  // (K = 216): a tie. Otherwise dW_g^T = col_g @ dy_g^T, dy packed.
  const bool dy_rows = dw && K < OCg && tile_use(uk, OCg, K) >= tile_use(uk, K, OCg);
  const int64_t R = nb > 1 ? g.OH : tile_rows<T>(g, KT), ldt = tile_ld<T>(nb * R * g.OW);
  const int64_t dybuf = nb > 1 ? OC * nb * L : 0;
  const int64_t atsize = dx ? gemm::packed_a_size(uk, K, OCg) : 0;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, G)));
  Workspace ws(Workspace::bytes_for<T>({groups * atsize, dw ? G * wsize : 0, nt * (KT * ldt + dybuf)}));
  T* wtpack = ws.take<T>(groups * atsize);
  T* partial = ws.take<T>(dw ? G * wsize : 0);
  T* cols = ws.take<T>(nt * (KT * ldt + dybuf));
  if (dx)  // W_g^T packed once for every tile's data-gradient GEMM
    for (int64_t gi = 0; gi < groups; ++gi)
      gemm::pack_a_all(uk, true, K, OCg, w + gi * OCg * K, K, wtpack + gi * atsize, nthreads);
  // One pass of the weight gradient's product, every group: the columns (K rows a group, row stride ldc)
  // against dy (OCg rows a group, row stride ldy), n_cols positions, into the group's sum dwt (overwritten
  // on its first pass). dW_g = dy_g @ col_g^T with dy_rows, else dW_g^T = col_g @ dy_g^T one call per NR
  // output channels (see below).
  auto dw_pass = [&](const T* cl, int64_t ldc, const T* dyp, int64_t ldy, int64_t n_cols, bool first, T* dwt) {
    const T beta = first ? T(0) : T(1);
    for (int64_t gi = 0; gi < groups; ++gi) {
      const T* cg = cl + gi * K * ldc;
      const T* dg = dyp + gi * OCg * ldy;
      if (dy_rows) {
        gemm::gemm<T>(uk, false, true, OCg, K, n_cols, T(1), dg, ldy, cg, ldc, beta, dwt + gi * OCg * K, K, nullptr,
                      false, 1);
        continue;
      }
      for (int64_t o0 = 0; o0 < OCg; o0 += uk.nr)
        gemm::gemm<T>(uk, false, true, K, std::min<int64_t>(uk.nr, OCg - o0), n_cols, T(1), cg, ldc, dg + o0 * ldy,
                      ldy, beta, dwt + gi * K * OCg + o0, OCg, nullptr, false, 1);
    }
  };
  // Groups are handed out in turn: each sums its own images into its own buffer (see forward_tiles).
  std::atomic<int64_t> next{0};
  const Taps taps(nb > 1 ? g : Geometry{});
  parallel_region(nt, [&](int tid, int) {
    T* col = cols + tid * (KT * ldt + dybuf);
    for (int64_t gr; (gr = next.fetch_add(1, std::memory_order_relaxed)) < G;) {
      int64_t n0, n1;
      split_range(N, static_cast<int>(G), static_cast<int>(gr), &n0, &n1);
      // this group's dW^T, (groups, K, OCg); with dy_rows its dW, (groups, OCg, K) = (OC, K), group 0's
      // in dw itself (its slot of `partial` unused)
      T* dwt = !dw ? nullptr : dy_rows && gr == 0 ? dw : partial + gr * wsize;
      bool first = true;
      for (int64_t c0 = n0; nb > 1 && c0 < n1; c0 += nb) {  // small maps: nb images at a time
        const int64_t c1 = std::min(n1, c0 + nb), n_cols = (c1 - c0) * L;
        T* dyg = col + KT * ldt;  // (OC, n_cols): image n's dy in columns (n - c0) * L ...
        for (int64_t n = c0; n < c1; ++n)
          for (int64_t o = 0; o < OC; ++o)
            std::copy(dy + (n * OC + o) * L, dy + (n * OC + o + 1) * L, dyg + o * n_cols + (n - c0) * L);
        if (dx) {
          for (int64_t gi = 0; gi < groups; ++gi)
            gemm::gemm_packed_a(uk, K, n_cols, OCg, T(1), wtpack + gi * atsize, false, dyg + gi * OCg * n_cols, n_cols,
                                T(0), col + gi * K * ldt, ldt, 1);
          for (int64_t n = c0; n < c1; ++n) {
            T* dxn = dx + n * plane;
            std::fill(dxn, dxn + plane, T(0));
            col2im_small_add(col + (n - c0) * L, g, taps, dxn, ldt);
          }
        }
        if (dwt) {  // as below, the reduction now n_cols long
          for (int64_t n = c0; n < c1; ++n) im2col_small(x + n * plane, g, taps, col + (n - c0) * L, ldt);
          dw_pass(col, ldt, dyg, n_cols, n_cols, first, dwt);
          first = false;
        }
      }
      for (int64_t n = n0; nb == 1 && n < n1; ++n) {
        const T* xn = x + n * plane;
        T* dxn = dx ? dx + n * plane : nullptr;
        // a strided 1x1 layer's tiles write dx's rows whole (col2im_rows_pointwise): no fill first
        if (dxn && !pw && !strided_pointwise(g)) std::fill(dxn, dxn + plane, T(0));
        for (int64_t r0 = 0; r0 < g.OH; r0 += R) {
          const int64_t r1 = std::min(g.OH, r0 + R), n_cols = (r1 - r0) * g.OW;
          const T* dyt = dy + n * OC * L + r0 * g.OW;  // (OC, n_cols), row stride L
          if (dxn) {
            // dcol_g = W_g^T @ dy_g, then added back into the image; a 1x1 stride-1 dcol is dx itself
            T* dst = pw ? dxn + r0 * g.OW : col;
            const int64_t ldd = pw ? L : ldt;
            for (int64_t gi = 0; gi < groups; ++gi)
              gemm::gemm_packed_a(uk, K, n_cols, OCg, T(1), wtpack + gi * atsize, false, dyt + gi * OCg * L, L,
                                  T(0), dst + gi * K * ldd, ldd, 1);
            if (strided_pointwise(g))
              k.col2im_rows_pointwise(col, g, r0, r1, dxn, ldt);
            else if (!pw)
              k.col2im_rows_add(col, g, r0, r1, dxn, ldt);
          }
          if (dwt) {
            // dW_g^T (+)= col_g @ dy_g^T (dy_rows: dW_g (+)= dy_g @ col_g^T), the images and tiles of the
            // group in order. Transposed, the product's rows are the C*kh*kw window offsets (576 at
            // ResNet's 3x3x64: no idle rows in the 14-row microkernel, where OC = 64 rows left 6 of 70
            // idle). One call per NR output channels: an A block that meets one B panel is read in place,
            // so the column tile, used by only OC multiply-adds an element, is never packed (dW: 67 -> 80 %
            // of the GEMM's rate at ResNet's 64 channels). The groups' sums are transposed into dW once,
            // at the end.
            const T* B = in_place ? xn + r0 * g.OW : col;
            const int64_t ldb = in_place ? L : ldt;
            if (!in_place) k.im2col_rows(xn, g, r0, r1, col, ldt);
            dw_pass(B, ldb, dyt, L, n_cols, first, dwt);
            first = false;
          }
        }
      }
    }
  });
  if (!dw) return;
  // dW^T = group 0's + group 1's + ... in group order, into group 0's buffer (contiguous, so it
  // vectorises; summed straight into dW's transposed places, the strided reads cost 2 ms at ResNet's
  // downsampling shape), then transposed into dW in blocks of rows
  // (dy_rows: the groups are added into dw, group 0's sum, and that is dW: nothing to transpose)
  T* const sum = dy_rows ? dw : partial;
  if (G > 1)
    parallel_ranges(wsize, G, 1 << 16, nthreads, [&](int64_t e0, int64_t e1) {
      for (int64_t p = 1; p < G; ++p) {
        const T* src = partial + p * wsize;
        for (int64_t e = e0; e < e1; ++e) sum[e] += src[e];
      }
    });
  if (dy_rows) return;
  constexpr int64_t kBlock = 16;
  parallel_ranges((OC + kBlock - 1) / kBlock, kBlock * K, 1 << 16, nthreads, [&](int64_t b0, int64_t b1) {
    for (int64_t ob = b0 * kBlock; ob < std::min(OC, b1 * kBlock); ob += kBlock) {
      const int64_t ob1 = std::min(OC, ob + kBlock);
      for (int64_t kk = 0; kk < K; ++kk)
        for (int64_t o = ob; o < ob1; ++o) dw[o * K + kk] = partial[(o / OCg) * K * OCg + kk * OCg + o % OCg];
    }
  });
}

template <class T>
void conv2d_backward_bias(const Kernels<T>& k, const T* dy, const T* y, T* dy_out, T* dbias, int64_t N, int64_t C,
                          int64_t HW, int nthreads) {
  if (!y) dy_out = nullptr;  // nothing to mask: dy is its own masked copy
  if (!dbias && !dy_out) return;
  const int64_t n = std::max<int64_t>(N, 0), hw = std::max<int64_t>(HW, 0);
  parallel_items(C, n * hw, nthreads, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const T s = k.bias_grad_channel(dy + c * hw, y ? y + c * hw : nullptr, dy_out ? dy_out + c * hw : nullptr, n,
                                      hw, C * hw);
      if (dbias) dbias[c] = s;
    }
  });
}

#define FE_INSTANTIATE(T)                                                                                    \
  template void conv2d_forward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const T*, int64_t, const Geometry&, \
                                  const T*, int64_t, int64_t, const T*, bool, T*, int);                         \
  template void conv2d_backward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const T*, int64_t,                \
                                   const Geometry&, const T*, int64_t, int64_t, const T*, T*, T*, int);       \
  template void conv2d_backward_bias<T>(const Kernels<T>&, const T*, const T*, T*, T*, int64_t, int64_t, int64_t, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace conv
}  // namespace fe
