// Direct convolution driver (see direct.h): the phase buffers, the work split and the weight gradient's
// fixed chunk order. Work items are (image, block of output channels) in one parallel region per call;
// each thread copies an image into its own phase buffer when its next item needs another image.
#include "kernels/conv/direct.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "common/parallel.h"
#include "common/scratch.h"
#include "dispatch.h"

namespace fe {
namespace conv {
namespace direct {

bool applies(const Geometry& g, int64_t OC, int64_t groups) {
  if (groups != 1 || OC < 1 || g.C < 1 || g.H < 1 || g.W < 1 || g.OH < 1 || g.OW < 1) return false;
  // Measured on one AVX-512 core against im2col + GEMM (forward / data / weight gradient, ms): direct
  // wins at 1->6 5x5 28x28, 6->16 5x5 14x14, 3->32 3x3 32x32 (the LeNet and stem shapes, 2x at most
  // passes), 4->8, 8->16 3x3, 8->32 5x5, 16->16 5x5 14x14 (2-3x), 16->32 and 32->32 3x3 16x16 (1.1-1.3x)
  // and 3->64 7x7 s2 112x112 (forward and weight gradient); it ties 16->64 3x3 32x32 and loses the weight
  // gradient of 64->64 3x3, where the GEMM's 14x32 tile is full and the reduction C*kh*kw is long.
  if (g.C * g.kh * g.kw > kMaxTaps) return false;
  return g.C <= 8 || (g.C <= 32 && OC <= 32);
}

bool data_gradient_applies(const Geometry& g, int64_t OC) {
  // strided: the upsampled dy multiplies sh*sw times the zeros (3x slower than col2im at 3->64 7x7 s2)
  if (g.sh != 1 || g.sw != 1) return false;
  // The direct data gradient sums OC*kh*kw taps into C planes, register-blocked over those few C; with
  // many output channels per input channel, the column form's GEMM wins. dx alone, N = 64, one AVX-512
  // core, ms direct / column: 1->16 3x3 0.58 / 0.36, 3->24 3x3 1.30 / 1.13, 3->32 3x3 1.75 / 1.32, 1->32
  // 5x5 2.25 / 1.10; ties at 3->16 3x3 0.89 / 0.92, 4->32 3x3 2.01 / 1.94, 3->32 5x5 3.46 / 3.67; direct
  // wins 1->6 5x5 0.35 / 0.66, 2->8 3x3 0.31 / 0.52, 6->16 5x5 0.53 / 1.19, 16->16 5x5 0.71 / 2.24.
  return OC < (g.kh * g.kw <= 9 ? 8 : 16) * g.C;
}

bool row_winograd_applies(const Geometry& g, int64_t OC, int64_t lanes) {
  return g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && OC % lanes == 0 && g.kw == 5 && g.OW >= RowF25::m;
}

namespace {

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

// The phase buffer of one image (direct.h): planes (c, rp, cp) of (Hq, Wq), and the offset of every
// tap k = (c, i, j) in it. The output run is p = oh*Wq + ow, E = (OH-1)*Wq + OW long.
struct Phases {
  int64_t sh, sw, Hq, Wq, plane, size, E;
  std::vector<int64_t> off;
  Phases(const Geometry& g, int64_t lanes) : sh(g.sh), sw(g.sw) {
    const int64_t Hp = (g.OH - 1) * g.sh + (g.kh - 1) * g.dh + 1, Wp = (g.OW - 1) * g.sw + (g.kw - 1) * g.dw + 1;
    Hq = (Hp + sh - 1) / sh;
    Wq = (Wp + sw - 1) / sw;
    plane = Hq * Wq;
    size = round_up(g.C * sh * sw * plane + lanes, 16);  // whole vectors may read past the last plane
    E = (g.OH - 1) * Wq + g.OW;
    off.resize(g.C * g.kh * g.kw);
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t rp = i * g.dh % sh, cp = j * g.dw % sw;
          off[(c * g.kh + i) * g.kw + j] = ((c * sh + rp) * sw + cp) * plane + i * g.dh / sh * Wq + j * g.dw / sw;
        }
  }
  // xs = the phase buffer of image x (C, H, W), zero padding included; copy: the level's row copy.
  template <class T>
  void build(const T* x, const Geometry& g, T* xs, void (*copy)(const T*, int64_t, T*)) const {
    std::fill(xs, xs + size, T(0));
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t rp = 0; rp < sh; ++rp)
        for (int64_t cp = 0; cp < sw; ++cp) {
          T* dst = xs + ((c * sh + rp) * sw + cp) * plane;
          // plane columns b whose input column b*sw + cp - pw lies in [0, W)
          const int64_t b0 = std::max<int64_t>(0, (g.pw - cp + sw - 1) / sw);
          const int64_t last = g.W - 1 + g.pw - cp;
          const int64_t b1 = last < 0 ? 0 : std::min<int64_t>(Wq, last / sw + 1);
          if (sh == 1 && sw == 1 && b0 == 0 && b1 == g.W && Wq == g.W) {
            // whole rows at the input's own row stride (no column padding: LeNet's conv2): the rows
            // inside in one block copy, not a copy call per 14-element row
            const int64_t a0 = std::max<int64_t>(0, g.ph), a1 = std::min<int64_t>(Hq, g.H + g.ph);
            if (a1 > a0) copy(x + (c * g.H + a0 - g.ph) * g.W, (a1 - a0) * g.W, dst + a0 * Wq);
            continue;
          }
          for (int64_t a = 0; a < Hq; ++a) {
            const int64_t h = a * sh + rp - g.ph;
            if (h < 0 || h >= g.H) continue;
            const T* src = x + (c * g.H + h) * g.W + cp - g.pw;
            T* row = dst + a * Wq;
            if (sw == 1)  // a unit column step: one contiguous copy (the strided loop stays scalar)
              copy(src + b0, b1 - b0, row + b0);
            else
              for (int64_t b = b0; b < b1; ++b) row[b] = src[b * sw];
          }
        }
  }
};

// The data gradient as a stride-1 direct convolution: dy upsampled by the stride and padded by
// (k-1)*d - p ("dyz", planes (OC, Hz, Wz)) against the flipped, transposed weights (C, OC*kh*kw).
struct Upsampled {
  int64_t Hz, Wz, plane, size, E, Ph, Pw;
  std::vector<int64_t> off;
  Upsampled(const Geometry& g, int64_t OC, int64_t lanes) {
    Hz = g.H + (g.kh - 1) * g.dh;
    Wz = g.W + (g.kw - 1) * g.dw;
    plane = Hz * Wz;
    size = round_up(OC * plane + lanes, 16);
    E = (g.H - 1) * Wz + g.W;
    Ph = (g.kh - 1) * g.dh - g.ph;
    Pw = (g.kw - 1) * g.dw - g.pw;
    // taps ordered (i, o, j): the taps of a range of kernel rows are one range of k (see bands)
    off.resize(OC * g.kh * g.kw);
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t o = 0; o < OC; ++o)
        for (int64_t j = 0; j < g.kw; ++j) off[(i * OC + o) * g.kw + j] = o * plane + i * g.dh * Wz + j * g.dw;
    // Row bands of dx (stride 1 only, as data_gradient_applies): dx row y at kernel row i reads dz row
    // y + i*dh, which holds dy only for rows [Ph, Ph + OH); the other taps multiply zeros. Consecutive
    // rows with the same range of useful i form one band, run with only those taps: LeNet's conv2 (10x10
    // dy, 5x5) does 50 of the 70 row taps, 14% less time at N = 64 on one core. A row no tap reaches
    // (a dilation wider than the map) is written as zeros.
    for (int64_t y = 0; y < g.H; ++y) {
      int64_t i0 = 0, i1 = 0;  // i with Ph <= y + i*dh < Ph + OH, within [0, kh)
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t r = y + i * g.dh;
        if (r >= Ph && r < Ph + g.OH) {
          if (i1 == 0) i0 = i;
          i1 = i + 1;
        }
      }
      if (!bands.empty() && bands.back().i0 == i0 && bands.back().i1 == i1)
        bands.back().y1 = y + 1;
      else
        bands.push_back({y, y + 1, i0, i1});
    }
  }
  struct Band {
    int64_t y0, y1, i0, i1;  // dx rows [y0, y1) need the taps of kernel rows [i0, i1) only
  };
  std::vector<Band> bands;
  template <class T>
  void build(const T* dy, const Geometry& g, int64_t OC, T* dz, void (*copy)(const T*, int64_t, T*)) const {
    std::fill(dz, dz + size, T(0));
    // output columns ow whose place ow*sw + Pw lies in [0, Wz) (a padding wider than the window puts
    // some outside: they reach no input)
    const int64_t ow0 = Pw >= 0 ? 0 : (-Pw + g.sw - 1) / g.sw;
    const int64_t ow1 = std::min<int64_t>(g.OW, Wz - 1 - Pw < 0 ? 0 : (Wz - 1 - Pw) / g.sw + 1);
    for (int64_t o = 0; o < OC; ++o)
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t hz = oh * g.sh + Ph;
        if (hz < 0 || hz >= Hz) continue;
        const T* src = dy + (o * g.OH + oh) * g.OW;
        T* row = dz + o * plane + hz * Wz + Pw;
        if (g.sw == 1)
          copy(src + ow0, ow1 - ow0, row + ow0);
        else
          for (int64_t ow = ow0; ow < ow1; ++ow) row[ow * g.sw] = src[ow];
      }
  }
};

// Threads for `items` work items of `macs` multiply-adds in all: a fork/join costs about as much as
// 100K multiply-adds, so small calls run on fewer threads (results never depend on it).
int threads_for(int nthreads, int64_t items, int64_t macs) {
  int64_t nt = std::min<int64_t>(nthreads, items);
  nt = std::min<int64_t>(nt, std::max<int64_t>(1, macs / 100000));
  return static_cast<int>(std::max<int64_t>(1, nt));
}

// (o, oh, ow < OW) of the extended run out (rows of ldo) -> y (on, OH, OW), plus bias, then relu.
template <class T>
void extract(const T* out, int64_t ldo, int64_t Wq, int64_t on, int64_t OH, int64_t OW, const T* bias, bool relu,
             T* y) {
  for (int64_t o = 0; o < on; ++o) {
    const T add = bias ? bias[o] : T(0);
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T* src = out + o * ldo + oh * Wq;
      T* dst = y + (o * OH + oh) * OW;
      if (bias)
        for (int64_t ow = 0; ow < OW; ++ow) dst[ow] = src[ow] + add;
      else
        for (int64_t ow = 0; ow < OW; ++ow) dst[ow] = src[ow];
      if (relu)
        for (int64_t ow = 0; ow < OW; ++ow) dst[ow] = dst[ow] < T(0) ? T(0) : dst[ow];  // NaN stays NaN
    }
  }
}

// The rows of dy a band of the data gradient with the images in the lanes holds (about half an L2)
constexpr int64_t kImgBandBytes = int64_t(512) << 10;

// Images per weight-gradient chunk: at most 16 chunks, a count fixed by N alone.
int64_t wgrad_chunks(int64_t N) { return std::min<int64_t>(N, 16); }

// The transformed rows of a band of output rows stay within kBandBytes (a quarter of L2): LeNet's conv2
// (6 channels) and 16 -> 16 on 14x14 in one band. At 32 KiB the latter ran ten bands of one output row,
// each transforming five input rows: 0.82 ms against 0.62 (N = 64, one Zen 4 core).
constexpr int64_t kBandBytes = int64_t(256) << 10;

// The forward of one image as row Winograd (direct.h: RowF25), in bands of output rows. The weights are
// transformed once per call into U (see Kernels::wino_conv), usize elements of the call's workspace.
template <class T>
struct RowWinograd {
  using Sc = RowF25;
  static constexpr int64_t n = Sc::n, m = Sc::m;
  int64_t Wr = 0, bands = 0, RB = 0, zsize = 0, ysize = 0, per = 0, usize = 0;
  const T* U = nullptr;
  RowWinograd(const Geometry& g, int64_t OC) {
    // padded rows Wr wide: the tiles' columns and the last tile's window (at least the padded width)
    Wr = (g.OW + m - 1) / m * m + n - m;
    const int64_t row_elems = g.C * n * Wr;  // a padded row's transformed rows
    const int64_t fit = std::max<int64_t>(1, kBandBytes / static_cast<int64_t>(sizeof(T)) / row_elems - (g.kh - 1));
    bands = (g.OH + fit - 1) / fit;
    RB = (g.OH + bands - 1) / bands;  // rows shared evenly
    const int64_t zrows = RB + g.kh - 1;
    zsize = round_up(g.C * n * zrows * Wr / m, 16);  // the band's tiles: Wr / m a row
    ysize = round_up(g.OW * OC, 16);
    per = zsize + ysize + round_up(zrows * Wr + n, 16);
    usize = g.C * g.kh * n * OC;
  }
  // U[o/lanes*us + ((c*kh + i)*n + p)*lanes + o%lanes] = sum_k G[p][k] * w[o][c][i][k], in order of k.
  // False when any of those is not finite (then every image takes the direct sums).
  bool transform_weights(const Geometry& g, const T* w, int64_t OC, int64_t lanes, T* u_out) {
    const int64_t us = g.C * g.kh * n * lanes;
    T G[n][Sc::r];
    for (int p = 0; p < n; ++p)
      for (int k = 0; k < Sc::r; ++k) G[p][k] = T(Sc::G[p][k]);
    int bad = 0;  // v - v is NaN for a NaN or an Inf
    for (int64_t o = 0; o < OC; ++o)
      for (int64_t ci = 0; ci < g.C * g.kh; ++ci) {  // (c, i)
        const T* wr = w + (o * g.C * g.kh + ci) * Sc::r;
        T* u = u_out + o / lanes * us + ci * n * lanes + o % lanes;
        for (int p = 0; p < n; ++p) {
          T s = T(0);
          for (int k = 0; k < Sc::r; ++k) s += G[p][k] * wr[k];
          u[p * lanes] = s;
          bad |= !(s - s == T(0));
        }
      }
    U = u_out;
    return bad == 0;
  }
  // y (OC, OH, OW) of image x (C, H, W); buf: `per` elements of scratch. False, with y part written,
  // where the input holds a NaN or an Inf (then the caller computes y otherwise).
  bool image(const Kernels<T>& kk, const T* x, const Geometry& g, int64_t OC, const T* bias, bool relu, T* y,
             T* buf) const {
    T* z = buf;
    T* yt = z + zsize;
    T* pad = yt + ysize;
    for (int64_t oh0 = 0; oh0 < g.OH; oh0 += RB) {
      const int64_t rows = std::min(RB, g.OH - oh0), Et = (rows + g.kh - 1) * Wr / m;  // tiles of the band
      if (!kk.wino_input(x, g, oh0, rows + g.kh - 1, Wr, z, pad)) return false;
      kk.wino_conv(z, g.C, g.kh, n * Et, Wr / m, Et, U, OC, rows, g.OW, yt, y + oh0 * g.OW, g.OH * g.OW, bias,
                   relu);
    }
    return true;
  }
};

}  // namespace

template <class T>
void forward(const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC, const T* bias, bool relu, T* y,
             int nthreads) {
  // x (N, C, H, W), w (OC, K = C*kh*kw), y (N, OC, OH, OW)
  if (N <= 0 || OC <= 0) return;
  const auto& kk = kernels<Kernels<T>>();
  const int64_t K = g.C * g.kh * g.kw, L = g.OH * g.OW, plane = g.C * g.H * g.W;
  const Phases ph(g, kk.lanes);
  const int64_t Er = round_up(ph.E, kk.lanes);
  // Channels in the lanes when they fill them and the extended run wastes many lanes (LeNet's conv2:
  // 100 outputs in 144 lanes; 3->32 at 32x32 wastes 6% and its transposes cost more): one item per
  // image, the weights transposed (K, OC). Both sum the taps in the same order: the same results.
  const bool ocv = OC % kk.lanes == 0 && 5 * L < 4 * Er;
  // There, with a stride of 1 and a kernel 5 wide, row Winograd (direct.h; not at AVX2, where it lost),
  // for every image whose input is finite (the weights too): a NaN or Inf input reaches every output of
  // its Winograd tiles, so such an image takes the direct sums, which put NaN and Inf where the
  // reference does. N = 64, one Zen 4 core, AVX-512, ms direct / row Winograd: LeNet's conv2 6 -> 16 on
  // 14x14 0.31 / 0.25 (float64 0.61 / 0.47), 8 -> 16 on 12x12 0.26 / 0.21, 16 -> 16 on 14x14
  // 0.78 / 0.62, 16 -> 32 on 10x10 1.52 / 1.08.
  std::optional<RowWinograd<T>> rw;
  if (ocv && kk.wino_conv && row_winograd_applies(g, OC, kk.lanes)) rw.emplace(g, OC);
  const int64_t run = g.sw == 1 && g.dw == 1 ? g.kw : 1;  // Phases: a row's taps are then consecutive
  // Otherwise the sums go straight into y's rows (conv_y) where whole vectors per row take no more lanes
  // than the extended run (3->32 at 32x32: 64 of 68 vectors; LeNet's conv1: the same 56) and every
  // vector read stays in the phase buffer; else into the extended run, then extract's pass over y.
  const int64_t vpr = (g.OW + kk.lanes - 1) / kk.lanes;
  const int64_t max_off = *std::max_element(ph.off.begin(), ph.off.end());
  const bool rows = !ocv && K <= kMaxTaps && g.OH * vpr * kk.lanes <= Er &&
                    (g.OH - 1) * ph.Wq + vpr * kk.lanes + max_off <= ph.size;
  // items: (image, block of output channels) (channels in the lanes: whole images)
  const int64_t ob = ocv ? OC : rows ? kk.conv_y_block(OC) : std::min<int64_t>(OC, kk.ocb);
  const int64_t nob = (OC + ob - 1) / ob;
  const int nt = threads_for(nthreads, N * nob, N * OC * K * L);
  const int64_t per = round_up(ph.size, 16) + (ocv ? round_up(L * OC, 16) : rows ? 0 : ob * Er) + (rw ? rw->per : 0);
  Workspace ws(Workspace::bytes_for<T>({ocv ? K * OC : 0, nt * per, rw ? rw->usize : 0}));
  T* wt = ws.take<T>(ocv ? K * OC : 0);
  T* base = ws.take<T>(nt * per);
  if (rw && !rw->transform_weights(g, w, OC, kk.lanes, ws.take<T>(rw->usize))) rw.reset();
  if (ocv) kk.transpose(w, OC, K, K, wt, OC);
  parallel_region(nt, [&](int tid, int count) {
    int64_t a, b;
    split_range(N * nob, count, tid, &a, &b);
    T* xs = base + tid * per;
    T* out = xs + round_up(ph.size, 16);
    T* wbuf = out + (ocv ? round_up(L * OC, 16) : 0);
    int64_t cur = -1;
    for (int64_t it = a; it < b; ++it) {
      const int64_t n = it / nob, o0 = it % nob * ob, on = std::min(ob, OC - o0);
      // (ocv: the item is the whole image)
      if (rw && rw->image(kk, x + n * plane, g, OC, bias, relu, y + n * OC * L, wbuf)) continue;
      if (n != cur) {
        ph.build(x + n * plane, g, xs, kk.copy);
        cur = n;
      }
      T* yn = y + (n * OC + o0) * L;
      if (ocv) {
        kk.conv_oc(xs, ph.off.data(), K, wt, OC, g.OH, g.OW, ph.Wq, out, run, bias, relu);  // bias, ReLU: stored
        kk.transpose(out, L, OC, OC, yn, L);
      } else if (rows) {
        kk.conv_y(xs, ph.off.data(), K, w + o0 * K, K, on, g.OH, g.OW, ph.Wq, yn, L, bias ? bias + o0 : nullptr,
                  relu);
      } else {
        kk.conv(xs, ph.off.data(), K, w + o0 * K, K, on, ph.E, out, Er);
        extract(out, Er, ph.Wq, on, g.OH, g.OW, bias ? bias + o0 : nullptr, relu, yn);
      }
    }
  });
}

template <class T>
void backward(const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC, const T* dy, T* dx, T* dw,
              int nthreads) {
  const int64_t K = g.C * g.kh * g.kw, L = g.OH * g.OW, plane = g.C * g.H * g.W;
  if (N <= 0 || OC <= 0 || g.C <= 0) {  // no image or no channel to sum over: zeros
    if (dw) std::fill(dw, dw + OC * K, T(0));
    if (dx) std::fill(dx, dx + N * plane, T(0));
    return;
  }
  const auto& kk = kernels<Kernels<T>>();
  const Phases ph(g, kk.lanes);
  const Upsampled up(g, OC, kk.lanes);
  // Er: the rows of out, with room for a band's last whole vector past the run's end (bands start anywhere)
  const int64_t KT = OC * g.kh * g.kw, Er = round_up(up.E, kk.lanes) + kk.lanes;
  const int64_t cb = N >= 16 ? g.C : std::min<int64_t>(g.C, 2 * kk.ocb), ncb = (g.C + cb - 1) / cb;
  // The data gradient with the images in the lanes (Kernels::dgrad_img) where groups of `lanes` images
  // are at least 3/4 full: items (group of images, band of dx rows), each with dy of its group, rows
  // outermost and images last, zero columns around each row (zsize), and a dx row (rsize). No zero row
  // of the upsampled dy is read, and no zero column but at the ends of a row. ms dx alone (one Zen 4
  // core, AVX-512, float32), images in the lanes / the upsampled direct sums: LeNet's conv2 6 -> 16 on
  // 14x14, N = 64: 0.38 / 0.56 (float64 0.71 / 1.01), N = 16: 0.096 / 0.138, N = 12: 0.097 / 0.106,
  // N = 8: 0.094 / 0.070, N = 17 (a group of one): 0.245 / 0.146; 16 -> 16: N = 24 0.48 / 0.59; LeNet's
  // conv1 1 -> 6 p2 on 28x28, N = 64: 0.22 / 0.43; 3 -> 16 3x3 on 32x32, N = 64: 0.96-1.09 / 0.98-1.22.
  // AVX2: 0.45 / 0.56 and 0.29 / 0.55.
  // Rows of at most 32: on wide rows the upsampled run wastes few lanes, and the transposes cost more
  // (N = 32, 4 -> 16 on 64x64: 7.5-7.8 / 6.6-8.2 ms; N = 16, 4 -> 24 on 112x112: 19-24 / 13).
  const int64_t NL = kk.lanes;
  const bool img = dx && kk.dgrad_img && g.W <= 32 && 4 * N >= 3 * ((N + NL - 1) / NL * NL) && up.Pw >= 0 &&
                   up.Pw + g.OW <= up.Wz;
  const int64_t groups = img ? (N + NL - 1) / NL : 0;
  // Bands of dx rows: enough for the threads, and each band's rows of dy within kImgBandBytes (a tall
  // map's would leave the cache). Where the bands fall changes no sum.
  const int64_t reach = (g.kh - 1) * g.dh, zrow_bytes = OC * up.Wz * NL * static_cast<int64_t>(sizeof(T));
  const int64_t fit = std::max<int64_t>(1, kImgBandBytes / zrow_bytes - reach);  // dx rows a band may have
  const int64_t nbands = img ? std::min<int64_t>(g.H, std::max<int64_t>((nthreads + groups - 1) / groups,
                                                                        (g.H + fit - 1) / fit))
                             : 0;
  const int64_t zrows = img ? std::min<int64_t>(g.OH, (g.H + nbands - 1) / nbands + reach) : 0;
  const int64_t zsize = img ? round_up(OC * zrows * up.Wz * NL, 16) : 0, rsize = img ? round_up(g.C * g.W * NL, 16) : 0;
  const int64_t nx = dx ? (img ? groups * nbands : N * ncb) : 0, nch = dw ? wgrad_chunks(N) : 0;
  // the weight gradient with the channels in the lanes (dy transposed per image) when they fill them and
  // the rows are not wide enough for the pixel form to win (Kernels::wgrad_rows_from)
  const bool ocv = OC % kk.lanes == 0 && g.OW < kk.wgrad_rows_from;
  // There, for 5x5 kernels at stride 1, row Winograd (direct.h: RowF25) transposed: M = the sums over the
  // tiles of (A dy) . (B^T d) per (channel, kernel row, position), dw = G^T M, for the images whose x and
  // dy are finite (an image holding a NaN or an Inf takes the direct sums, which put them where the
  // reference does). Buffers: the band's transformed input (wz, wpad as the forward's), A dy of the band
  // (ad) and M. dw alone, N = 64, one Zen 4 core, ms direct / row Winograd, float32 (float64): LeNet's
  // conv2 6 -> 16 on 14x14 0.30 / 0.26 (0.60 / 0.51), 16 -> 16 on 14x14 0.77 / 0.64, 16 -> 32 on 10x10
  // 0.58 / 0.54, 8 -> 16 on 12x12 0.25 / 0.23; AVX2 (which has no row-Winograd forward) 0.42 / 0.36,
  // 1.5 / 0.92, 1.4 / 0.74, 0.37 / 0.32; the scalar level 4.5 / 2.4 at LeNet's conv2.
  std::optional<RowWinograd<T>> wg;
  if (dw && ocv && kk.wino_wgrad && g.kh == RowF25::r && row_winograd_applies(g, OC, kk.lanes)) wg.emplace(g, OC);
  const int64_t TT = (g.OW + RowF25::m - 1) / RowF25::m;
  const int64_t adsize = wg ? round_up(RowF25::n * wg->RB * TT * OC, 16) : 0;
  const int64_t msize = wg ? round_up(g.C * g.kh * RowF25::n * OC, 16) : 0;
  const int64_t wpsize = wg ? round_up((wg->RB + g.kh - 1) * wg->Wr + RowF25::n, 16) : 0;
  const int nt = threads_for(nthreads, std::max(nx, nch), N * OC * K * L);
  const int64_t per = (dw ? round_up(ph.size, 16) + (ocv ? round_up(L * OC, 16) : 0) : 0) +
                      (wg ? wg->zsize + wpsize + adsize + msize : 0) +
                      (dx ? (img ? zsize + rsize : round_up(up.size, 16) + cb * Er) : 0);
  const int64_t nparts = ocv ? nch : std::max<int64_t>(nch - 1, 0);  // (!ocv: chunk 0 sums into dw)
  Workspace ws(Workspace::bytes_for<T>({dx ? g.C * KT : 0, nparts * OC * K, nt * per}));
  T* wt = ws.take<T>(dx ? g.C * KT : 0);
  T* partial = ws.take<T>(nparts * OC * K);
  T* base = ws.take<T>(nt * per);
  if (dx)  // wt[c][(i, o, j)] = w[o][c][kh-1-i][kw-1-j]
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t o = 0; o < OC; ++o)
          for (int64_t j = 0; j < g.kw; ++j)
            wt[c * KT + (i * OC + o) * g.kw + j] = w[((o * g.C + c) * g.kh + g.kh - 1 - i) * g.kw + g.kw - 1 - j];
  parallel_region(nt, [&](int tid, int count) {
    T* buf = base + tid * per;
    int64_t a, b;
    if (dw) {  // chunk ci of images sums into its partial (or dw), images in order
      T* xs = buf;
      buf += round_up(ph.size, 16);
      T* dyt = buf;
      if (ocv) buf += round_up(L * OC, 16);
      T *wz = buf, *wpad = buf + (wg ? wg->zsize : 0), *ad = wpad + wpsize, *M = ad + adsize;
      if (wg) buf = M + msize;
      split_range(nch, count, tid, &a, &b);
      for (int64_t ci = a; ci < b; ++ci) {
        int64_t n0, n1;
        split_range(N, static_cast<int>(nch), static_cast<int>(ci), &n0, &n1);
        T* dst = ocv ? partial + ci * OC * K : ci == 0 ? dw : partial + (ci - 1) * OC * K;
        bool direct_sums = false, wino_sums = false;  // what dst and M hold so far
        if (wg) std::fill(M, M + msize, T(0));
        for (int64_t n = n0; n < n1; ++n) {
          const T* xn = x + n * plane;
          const T* dyn = dy + n * OC * L;
          if (ocv) kk.transpose(dyn, OC, L, L, dyt, OC);  // dyt (L, OC) = dy_n (OC, L) transposed
          if (wg && kk.finite(xn, plane) && kk.finite(dyn, OC * L)) {
            for (int64_t oh0 = 0; oh0 < g.OH; oh0 += wg->RB) {
              const int64_t rows = std::min(wg->RB, g.OH - oh0), Et = (rows + g.kh - 1) * wg->Wr / RowF25::m;
              kk.wino_input(xn, g, oh0, rows + g.kh - 1, wg->Wr, wz, wpad);
              kk.wino_ady(dyt + oh0 * g.OW * OC, OC, rows, g.OW, ad);
              kk.wino_wgrad(wz, g.C, RowF25::n * Et, wg->Wr / RowF25::m, Et, ad, OC, rows, TT, M);
            }
            wino_sums = true;
            continue;
          }
          ph.build(xn, g, xs, kk.copy);
          if (ocv) {
            kk.wgrad_oc(xs, ph.off.data(), K, dyt, OC, g.OH, g.OW, ph.Wq, dst, direct_sums);
          } else {
            kk.wgrad(xs, ph.off.data(), K, dyn, L, OC, g.OH, g.OW, ph.Wq, dst, K, direct_sums);
          }
          direct_sums = true;
        }
        if (wino_sums) kk.wino_wfinish(M, g.C * g.kh, OC, dst, direct_sums);
      }
    }
    if (img) {
      T* dz = buf;
      T* row = dz + zsize;
      const int64_t Wz = up.Wz, HW = g.H * g.W;
      split_range(nx, count, tid, &a, &b);
      for (int64_t it = a; it < b; ++it) {
        const int64_t n0 = it / nbands * NL, nl = std::min(NL, N - n0);
        int64_t h0, h1;
        split_range(g.H, static_cast<int>(nbands), static_cast<int>(it % nbands), &h0, &h1);
        // the rows of dy that dx rows [h0, h1) reach, h + i*dh - Ph for i < kh, at dz's rows from 0; the
        // kernel sees a map of dy rows [r0, OH) and Ph + r0 (dx row h then meets its rows less r0)
        const int64_t r0 = std::max<int64_t>(0, h0 - up.Ph);
        const int64_t r1 = std::min<int64_t>(g.OH, h1 + reach - up.Ph);
        Geometry gb = g;
        gb.OH = g.OH - r0;
        for (int64_t o = 0; o < OC; ++o)
          for (int64_t r = r0; r < r1; ++r) {
            T* zrow = dz + ((r - r0) * OC + o) * Wz * NL;
            if (nl < NL) {
              std::fill(zrow, zrow + Wz * NL, T(0));
            } else {
              std::fill(zrow, zrow + up.Pw * NL, T(0));
              std::fill(zrow + (up.Pw + g.OW) * NL, zrow + Wz * NL, T(0));
            }
            kk.transpose(dy + ((n0 * OC + o) * g.OH + r) * g.OW, nl, g.OW, OC * L, zrow + up.Pw * NL, NL);
          }
        for (int64_t h = h0; h < h1; ++h) {
          kk.dgrad_img(dz, gb, OC, up.Ph + r0, up.Pw, Wz, wt, h, row);
          for (int64_t c = 0; c < g.C; ++c)
            kk.transpose(row + c * g.W * NL, g.W, nl, NL, dx + (n0 * g.C + c) * HW + h * g.W, g.C * HW);
        }
      }
    } else if (dx) {
      T* dz = buf;
      T* out = dz + round_up(up.size, 16);
      split_range(nx, count, tid, &a, &b);
      int64_t cur = -1;
      for (int64_t it = a; it < b; ++it) {
        const int64_t n = it / ncb, c0 = it % ncb * cb, cn = std::min(cb, g.C - c0);
        if (n != cur) {
          up.build(dy + n * OC * L, g, OC, dz, kk.copy);
          cur = n;
        }
        for (const auto& band : up.bands) {  // in order: a band's whole-vector tail is the next one's start
          const int64_t p0 = band.y0 * up.Wz, Eb = (band.y1 - 1 - band.y0) * up.Wz + g.W;
          const int64_t k0 = band.i0 * OC * g.kw, nk = (band.i1 - band.i0) * OC * g.kw;
          if (nk == 0) {
            for (int64_t c = 0; c < cn; ++c) std::fill(out + c * Er + p0, out + c * Er + p0 + Eb, T(0));
          } else {
            kk.conv(dz + p0, up.off.data() + k0, nk, wt + c0 * KT + k0, KT, cn, Eb, out + p0, Er);
          }
        }
        extract(out, Er, up.Wz, cn, g.H, g.W, static_cast<const T*>(nullptr), false, dx + (n * g.C + c0) * g.H * g.W);
      }
    }
  });
  if (ocv) {  // dw[o][k] = the chunks' dwt[k][o] summed in order (into chunk 0's, contiguous runs), transposed
    for (int64_t ci = 1; ci < nch; ++ci) {
      const T* p = partial + ci * OC * K;
      for (int64_t e = 0; e < OC * K; ++e) partial[e] += p[e];
    }
    if (nch) kk.transpose(partial, K, OC, OC, dw, K);
  } else {
    for (int64_t ci = 1; ci < nch; ++ci) {  // the chunks summed in order
      const T* p = partial + (ci - 1) * OC * K;
      for (int64_t e = 0; e < OC * K; ++e) dw[e] += p[e];
    }
  }
}

#define FE_INSTANTIATE(T)                                                                                          \
  template void forward<T>(const T*, int64_t, const Geometry&, const T*, int64_t, const T*, bool, T*, int);       \
  template void backward<T>(const T*, int64_t, const Geometry&, const T*, int64_t, const T*, T*, T*, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace direct
}  // namespace conv
}  // namespace fe
