// Direct convolution (no im2col, no column buffer) for layers with few channels, where the column
// matrix is as large as the work: LeNet's 1->6 and 6->16 5x5, a 3->32 3x3 stem. NCHW in and out.
//
// Layout kept inside the kernels: each image is copied, zero-padded, into a "phase" buffer: channel c,
// row phase rp < sh, column phase cp < sw, then a plane (Hq, Wq) with element (a, b) = padded input
// (a*sh + rp, b*sw + cp). Output position (oh, ow) at kernel tap (i, j) then reads plane
// ((i*dh) % sh, (j*dw) % sw) at (oh + i*dh/sh, ow + j*dw/sw): for every tap the outputs of a plane
// are one contiguous run (the "extended" output, oh*Wq + ow, whose columns ow >= OW are computed and
// dropped). So one microkernel, out[o][p] = sum_k w[o][k] * xs[off[k] + p], vectorised over p and
// register-blocked over o, does the forward pass and (on dy upsampled by the stride and padded, with
// the weights flipped and transposed) the data gradient. The weight gradient dots each dy row with
// the matching run of the phase buffer (masked at the row's end).
// The data gradient, where groups of images fill the vector lanes (N = 64: 4 groups of 16 float32 images at
// AVX-512), puts the images in the lanes instead (dgrad_img): dy's group transposed into rows of pixels by
// images, and the sums skip the upsampled dy's zero rows and, but at the ends of dx's rows, its zero
// columns, which the extended run multiplies in every lane. Not at the scalar level.
// Where the output channels fill the vector lanes (16 float channels with AVX-512), the forward pass
// (when the extended run wastes over a fifth of its lanes, as LeNet's 10-wide conv2 output does) and
// the weight gradient (unless the rows are wide: Kernels::wgrad_rows_from) put the channels in the
// lanes instead: dy or y is transposed per image, and every sum keeps its order over the taps (forward)
// or the pixels (weight gradient).
#pragma once
#include <cstdint>

#include "common/isa.h"
#include "kernels/conv/conv.h"

namespace fe {
namespace conv {
namespace direct {

// The per-ISA loops (direct_isa.cpp, compiled once per level).
template <class T>
struct Kernels {
  static constexpr const char* kFamily = "direct convolution";
  int64_t lanes;  // elements per vector: buffers are padded so runs may be read and written in whole vectors
  int64_t ocb;    // output channels of one register block
  // The weight gradient puts the channels in the lanes (wgrad_oc) where they fill them, unless the output
  // rows are at least this wide: then by pixels (wgrad) is faster. AVX-512, one Zen 4 core, N = 64 (16
  // at 64x64), wgrad_oc time over wgrad time: float rows of 14, 16, 24, 28: 0.65, 0.86, 0.81, 0.91x;
  // 32: 1.11-1.21x; 64: 1.66x; double rows of 14, 16: 0.72, 0.95x; 24, 32, 64: 1.08, 1.25, 1.30x.
  // AVX2 (wgrad 2 channels a block): wgrad_oc faster at every width measured (to 64), so never there.
  int64_t wgrad_rows_from;
  // out[o*ldo + p] = sum_k w[o*ldw + k] * xs[off[k] + p] for o < ocn, p < E; p up to E rounded up to
  // lanes is also written (out's rows must have room) and read from xs (which must have room).
  void (*conv)(const T* xs, const int64_t* off, int64_t K, const T* w, int64_t ldw, int64_t ocn, int64_t E, T* out,
               int64_t ldo);
  // The same sums written straight into y (ocn planes ldy apart, rows of OW): y[o*ldy + oh*OW + ow] =
  // sum_k w[o*ldw + k] * xs[off[k] + oh*Wq + ow], then + bias[o] (bias may be null) and max(., 0) when
  // relu (NaN kept). Each row is read in whole vectors: xs must have room for ceil(OW / lanes) * lanes
  // elements from oh*Wq + off[k]; nothing past a row's OW is written. K <= kMaxTaps.
  void (*conv_y)(const T* xs, const int64_t* off, int64_t K, const T* w, int64_t ldw, int64_t ocn, int64_t OH,
                 int64_t OW, int64_t Wq, T* y, int64_t ldy, const T* bias, bool relu);
  // conv_y's channels per work item (OC's register blocks at this level); the last item may have fewer
  int64_t (*conv_y_block)(int64_t OC);
  // dw[o*ldw + k] (+)= sum_{oh < OH, ow < OW} dy[o*ldy + oh*OW + ow] * xs[off[k] + oh*Wq + ow], o < ocn,
  // k < K; += when accumulate. No element past a row's OW is read.
  void (*wgrad)(const T* xs, const int64_t* off, int64_t K, const T* dy, int64_t ldy, int64_t ocn, int64_t OH,
                int64_t OW, int64_t Wq, T* dw, int64_t ldw, bool accumulate);
  // The same with the channels in the vector lanes, for ocr (a multiple of lanes) channels:
  // dwt[k*ocr + o] (+)= sum_{oh, ow} xs[off[k] + oh*Wq + ow] * dyt[(oh*OW + ow)*ocr + o].
  void (*wgrad_oc)(const T* xs, const int64_t* off, int64_t K, const T* dyt, int64_t ocr, int64_t OH, int64_t OW,
                   int64_t Wq, T* dwt, bool accumulate);
  // conv with the channels in the lanes, for ocr (a multiple of lanes) channels:
  // yt[(oh*OW + ow)*ocr + o] = sum_k xs[off[k] + oh*Wq + ow] * wt[k*ocr + o], each sum in the order of k,
  // then + bias[o] (bias may be null) and max(., 0) when relu (NaN kept).
  // run: the taps come in runs of that many whose offsets rise by one (off[k + j] = off[k] + j for k a
  // multiple of run, j < run; kw at a unit column step and dilation), 1 where they do not: a level may
  // then reuse each input it loads across the run.
  void (*conv_oc)(const T* xs, const int64_t* off, int64_t K, const T* wt, int64_t ocr, int64_t OH, int64_t OW,
                  int64_t Wq, T* yt, int64_t run, const T* bias, bool relu);
  // dst[c*ldd + r] = src[r*lds + c] for r < rows, c < cols (channels into and out of the lanes)
  void (*transpose)(const T* src, int64_t rows, int64_t cols, int64_t lds, T* dst, int64_t ldd);
  // dst[i] = src[i], i < n: the rows the phase buffers copy (a library copy call per 32-element row cost
  // more than the copy)
  void (*copy)(const T* src, int64_t n, T* dst);
  // Row Winograd (RowF25 below); wino_conv (the forward) is null at a level that does not run it (AVX2),
  // the others serve the weight gradient at every level. wino_input: the padded rows a0 <= a < a0 + rows
  // of image x (C, H, W) (padded row a: input row a - ph, columns shifted by pw, zeros outside), Wr wide,
  // into z[(c*n + p)*E + (a - a0)*Wr + s] = sum_q BT[p][q] * padded(a, s + q), E = rows*Wr (s + q past
  // Wr: the next row's, or zeros after the last); pad: scratch of E + n elements. Returns whether every
  // input element it read was finite.
  bool (*wino_input)(const T* x, const Geometry& g, int64_t a0, int64_t rows, int64_t Wr, T* z, T* pad);
  // wino_conv: y[o*ldy + oh*OW + ow] for oh < OH (OH output rows of a band whose first padded row is
  // z's), ow < OW, o < OC (a multiple of lanes) = A^T of the tile's n sums over (c, i) in order of
  // z[c*zc + (oh + i)*zrow + p*S + t*m] * U[o/lanes*us + ((c*kh + i)*n + p)*lanes + o%lanes], tile t = ow / m,
  // us = C*kh*n*lanes (the weights by vector of channels); then + bias[o] (bias may be null) and max(., 0)
  // when relu (NaN kept). yt: scratch of OW*OC elements (a row, channels in the lanes).
  void (*wino_conv)(const T* z, int64_t C, int64_t kh, int64_t zc, int64_t zrow, int64_t S, const T* U,
                       int64_t OC, int64_t OH, int64_t OW, T* yt, T* y, int64_t ldy, const T* bias, bool relu);
  // The data gradient with the images in the vector lanes (backward(), where groups of `lanes` images
  // fill them), one row h of dx for a group: row[(c*W + w)*lanes + l] = the sum over (i, o, j), in that
  // order from zero, of wt[c*KT + (i*OC + o)*kw + j] * dz[((r*OC + o)*Wz + w + j*dw)*lanes + l],
  // r = h + i*dh - Ph, KT = OC*kh*kw: conv's sums on the upsampled dy (stride 1), each image in its own
  // lane, but over the kernel rows i with 0 <= r < OH only, and per register block of columns over the
  // taps j that reach one of dy's columns for one of its columns (dz: zeros outside [Pw, Pw + OW)).
  // The row-Winograd weight gradient (RowF25): wino_ady writes A dy per tile of
  // `rows` output rows, ad[((p*rows + h)*TT + t)*OC + o] = sum_j AT[j][p] * dyt[(h*OW + t*m + j)*OC + o]
  // (0 past OW), TT = ceil(OW / m) (the caller checks dy's finiteness first); wino_wgrad accumulates
  // M[((c*kh + i)*n + p)*OC + o] += sum over (h, t) in order of z[c*zc + p*S + (h + i)*zrow + t] *
  // ad[((p*rows + h)*TT + t)*OC + o] (z: wino_input's band), kh = 5, OC a multiple of lanes.
  void (*wino_ady)(const T* dyt, int64_t OC, int64_t rows, int64_t OW, T* ad);
  void (*wino_wgrad)(const T* z, int64_t C, int64_t zc, int64_t zrow, int64_t S, const T* ad, int64_t OC,
                     int64_t rows, int64_t TT, T* M);
  // dwt[(q*kw + k)*OC + o] (+= when accumulate) the sum over p in order of G[p][k] * M[(q*n + p)*OC + o],
  // q < pairs (channel, kernel row), k < kw = 5: dw = G^T M
  void (*wino_wfinish)(const T* M, int64_t pairs, int64_t OC, T* dwt, bool accumulate);
  // whether p[0, n) are all finite
  bool (*finite)(const T* p, int64_t n);
  void (*dgrad_img)(const T* dz, const Geometry& g, int64_t OC, int64_t Ph, int64_t Pw, int64_t Wz, const T* wt,
                    int64_t h, T* row);
};

// Row Winograd: a stride-1 layer with a 5-wide kernel has its output rows cut into tiles of m = 2
// outputs, each from n = 6 input columns as y = A^T [(G g) . (B^T d)] per (channel, kernel row), summed
// over those in the Winograd domain: F(2, 5), the 1-D form of winograd.h's F(4x4, 3x3) with its points
// (0, 1, -1, 1/2, -2 and infinity). It multiplies 6/2 = 3 times per output and kernel row where a direct
// sum does 5. With the channels in the vector lanes the transformed input is a broadcast and the
// transformed weights one vector per (channel, kernel row, position): the direct kernels' form with
// fewer products. Its float32 error against the float64 reference, standard normal data: 5-6e-7 of the
// largest output (LeNet's conv2; 5 -> 48 at 5x5 on 7x13). A NaN or Inf input would reach both outputs of
// the tiles whose windows hold it, and an Inf could give NaN where a direct sum gives Inf: forward()
// gives such an image (or non-finite weights) the direct sums. The weight gradient of a 5x5 kernel is its
// transpose: dw[o][c][i][:] = G^T of the sums over the tiles of (A dy) . (B^T d), A dy = AT^T dy per
// tile (Kernels::wino_ady, wino_wgrad, wino_wfinish); an image whose x or dy is not finite is summed
// directly. Its float32 error against the float64 reference: 0.9-1.0e-6 of the largest dw (the direct
// sums' 3.8e-7; LeNet's conv2 and 16 -> 16 on 14x14, N = 64, standard normal data).
// Tried and not kept: F(4, 3) for 3-wide kernels (the same points). Where the channels go in the lanes
// (narrow maps), its rows hold two or three tiles, too few to reuse each weight vector, and it lost:
// 16 -> 32 on 7x7, 32 -> 32 on 6x6, 16 -> 16 on 10x10 (N = 64, one Zen 4 core) 0.30 / 0.44 / 0.31 ms
// direct, 0.38-0.47 / 0.59-0.74 / 0.42-0.55 row Winograd. At a 3 -> 32 stem on 32x32 (channels not in
// the lanes there) its transposes into y, 8 MiB out of cache, took as long as its products: 2.1-2.2 ms
// against conv_y's 1.2-1.3.
struct RowF25 {
  static constexpr int m = 2, n = 6, r = 5;
  static constexpr double AT[2][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 0.5, -2, 1}};
  static constexpr double G[6][5] = {{1, 0, 0, 0, 0},
                                     {1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3},
                                     {-1.0 / 3, 1.0 / 3, -1.0 / 3, 1.0 / 3, -1.0 / 3},
                                     {-16.0 / 15, -8.0 / 15, -4.0 / 15, -2.0 / 15, -1.0 / 15},
                                     {1.0 / 15, -2.0 / 15, 4.0 / 15, -8.0 / 15, 16.0 / 15},
                                     {0, 0, 0, 0, 1}};
  static constexpr double BT[6][6] = {{1, -1.5, -2, 1.5, 1, 0},    {0, -1, 0.5, 2.5, 1, 0},
                                      {0, 1, -2.5, 0.5, 1, 0},     {0, -2, -1, 2, 1, 0},
                                      {0, 0.5, -1, -0.5, 1, 0},    {0, 1, -1.5, -2, 1.5, 1}};
};

template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

// The longest reduction C*kh*kw the direct path takes (applies): conv_y packs a block's weights for that
// many taps on the stack.
constexpr int64_t kMaxTaps = 512;

// The shape policy (shape only, never the thread count): true where the direct path is measured to be
// faster than im2col + GEMM.
bool applies(const Geometry& g, int64_t OC, int64_t groups);
// Where applies(): whether the data gradient is faster here too (stride 1, few output channels per
// input channel) than by im2col's col2im.
bool data_gradient_applies(const Geometry& g, int64_t OC);

// Where applies(): whether the forward may run as row Winograd (RowF25): stride 1, no dilation, a kernel
// 5 wide, output rows of at least 2 and the output channels a multiple of `lanes` (they fill the vectors).
// forward() takes it where it also puts the channels in the lanes, at a level that has it.
bool row_winograd_applies(const Geometry& g, int64_t OC, int64_t lanes);

// y (N, OC, OH, OW) = conv(x (N, C, H, W), w (OC, C, kh, kw)) + bias (may be null), then max(., 0) when
// relu (NaN kept). groups == 1.
template <class T>
void forward(const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC, const T* bias, bool relu, T* y,
             int nthreads);
// dx (N, C, H, W) and dw (OC, C, kh, kw), each overwritten when not null (dw zeros for N = 0), from
// dy (N, OC, OH, OW). dw sums fixed chunks of images in order: no result depends on the thread count.
template <class T>
void backward(const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC, const T* dy, T* dx, T* dw,
              int nthreads);

}  // namespace direct
}  // namespace conv
}  // namespace fe
