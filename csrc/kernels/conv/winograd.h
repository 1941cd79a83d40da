// Winograd convolution for 3x3, stride 1, dilation 1, groups 1 layers with many channels (Lavin & Gray
// 2015): each m x m output tile is A^T [ (G g G^T) . (B^T d B) ] A over an n x n input tile d (n = m + 2),
// so the n*n positions of the transformed tile become n*n independent GEMMs (OC x C) @ (C x tiles):
// F(2x2, 3x3) (16 positions for 4 outputs) or F(4x4, 3x3) (36 for 16), by the map's size (tile_for).
// The tile transforms are per ISA (winograd_isa.cpp); the drivers (winograd.cpp) own the blocks, threads
// and GEMMs. Backward data is the same convolution of dy with the rotated, in/out-swapped weights;
// backward weight is the transpose of the forward's linear map: dU = sum over tiles (A dY A^T) . (B^T d B),
// dW = G^T dU G.
#pragma once
#include <cstdint>

#include "common/isa.h"
#include "kernels/conv/conv.h"
#include "kernels/gemm/gemm.h"

namespace fe {
namespace conv {
namespace winograd {

// One convolution seen as tiles: input planes (C, H, W) padded by (ph, pw), output planes (OC, OH, OW)
// cut into TH x TW tiles of m x m (a last row or column of tiles may hang over the output's edge).
struct Tiling {
  int64_t C, H, W, ph, pw;
  int64_t OC, OH, OW;
  int64_t TH, TW;
};

// The distance between two positions' planes of a block matrix of `channels` rows of ld: the rows plus
// 64 bytes. Planes exactly channels*ld apart (64 channels x 64 tiles: 16 KiB) put the 16 positions'
// elements of a tile in one L1 set (sets repeat every 4 KiB), and the transforms, which write (input)
// or read (output) all 16 of them together, thrashed it. One core, forward / data / weight gradient
// with the 64 bytes against without (N = 32, medians of 8 alternated rounds): 64 -> 64 on 32x32
// 1.04 / 1.01 / 1.04x, 128 -> 128 on 16x16 1.10 / 1.08 / 1.12x, 256 -> 256 on 8x8 1.18 / 1.14 / 1.53x.
template <class T>
inline int64_t plane_stride(int64_t channels, int64_t ld) {
  return channels * ld + 64 / static_cast<int64_t>(sizeof(T));
}

// The tile schemes F(m x m, 3 x 3): an m x m output tile from an n x n input tile, n = m + 2, as
// y = A^T [(G g G^T) . (B^T d B)] A. The matrices come from the Toom-Cook construction over the points
// below and infinity. F(2x2) (points 0, 1, -1) multiplies 16/4 = 4 times per output; F(4x4) (points 0,
// 1, -1, 1/2, -2) 36/16 = 2.25 times. The larger tile rounds more: its float32 error on ResNet-like
// data (64 -> 64, ReLU'd input, He-scaled weights) is 2e-6 of the output's scale against 3e-7 for
// F(2x2) and 2-4e-7 for a float32 GEMM (in a NumPy model, the points 0, 1, -1, 2, -2 gave 4.9e-6 where
// these gave 1.9e-6). Nearly all of it is the float32 sum over channels of the transformed products,
// which A^T's entries up to 8 amplify; it grows with the channels (see tile_for).
enum Scheme { kF2 = 0, kF4 = 1, kSchemes = 2 };  // an index into Transforms' entries
struct F2 {
  static constexpr Scheme index = kF2;
  static constexpr int m = 2, n = 4;
  static constexpr double AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  static constexpr double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  static constexpr double BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
};
struct F4 {
  static constexpr Scheme index = kF4;
  static constexpr int m = 4, n = 6;
  static constexpr double AT[4][6] = {
      {1, 1, 1, 1, 1, 0}, {0, 1, -1, 0.5, -2, 0}, {0, 1, 1, 0.25, 4, 0}, {0, 1, -1, 0.125, -8, 1}};
  static constexpr double G[6][3] = {{1, 0, 0},
                                     {1.0 / 3, 1.0 / 3, 1.0 / 3},
                                     {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                                     {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                                     {1.0 / 15, -2.0 / 15, 4.0 / 15},
                                     {0, 0, 1}};
  static constexpr double BT[6][6] = {{1, -1.5, -2, 1.5, 1, 0},    {0, -1, 0.5, 2.5, 1, 0},
                                      {0, 1, -2.5, 0.5, 1, 0},     {0, -2, -1, 2, 1, 0},
                                      {0, 0.5, -1, -0.5, 1, 0},    {0, 1, -1.5, -2, 1.5, 1}};
};

// Tried and not kept: 3x3 stride-2 layers (ResNet's downsampling) as Winograd. Split into its four
// phases (even/odd rows and columns, 4C planes of H/2 x W/2), such a layer is a 2x2 stride-1 convolution
// padded by 1 at the top and left, and F(4x4, 2x2) (points 0, 1, -1, 2) does it in 25 products a tile of
// 16 outputs over 4C planes: 0.69 of the GEMM's. It matched the float64 reference (1e-14) but lost on
// 64 -> 128 on 32x32 (N = 32, one Zen 4 core, alternated processes: forward 15-20 ms against 12-14 by
// im2col + GEMM, data gradient 15-19 against 15, weight gradient 18-27 against 14-16): its GEMMs alone
// took 8.3 ms of the forward's 15.9 (the shorter sums ran no faster), then the input transform on 16x16
// phase maps (rows of 4 tiles) 3.7 ms, the phase split 1.2, the output transform 1.3, the weight
// transform 0.8. And its float32 error was 4.6e-6 of the output's scale against 3e-7.

// Tiles are numbered over (image, tile row, tile column); a block is tiles [t0, t0 + nt). Block
// matrices are position-major: X[pos][channel][j] at X + pos*plane_stride(channels, ld) + channel*ld + j
// for tile t0 + j, pos = n*row + column of the n x n transformed tile. buf: scratch of
// scratch_size(m, TW) elements (m: the scheme's tile side, 2 or 4). One entry per Scheme.
template <class T>
struct Transforms {
  static constexpr const char* kFamily = "Winograd transforms";
  // x (N, C, H, W) -> V (n*n, C, ld) = B^T d B of each tile's n x n input window (padding reads as 0)
  void (*input_tiles[kSchemes])(const T* x, const Tiling& tl, int64_t t0, int64_t nt, T* V, int64_t ld, T* buf);
  // M (n*n, OC, ld) -> y (N, OC, OH, OW): A^T m A (+ bias[oc], then max(., 0) if relu) of each tile,
  // only the outputs inside (OH, OW) written
  void (*output_tiles[kSchemes])(const T* M, const Tiling& tl, int64_t t0, int64_t nt, int64_t ld, const T* bias,
                                 bool relu, T* y, T* buf);
  // dy (N, OC, OH, OW) -> Z (n*n, OC, ld) = A dy A^T of each m x m output tile (outside (OH, OW) reads
  // as 0)
  void (*grad_tiles[kSchemes])(const T* dy, const Tiling& tl, int64_t t0, int64_t nt, T* Z, int64_t ld, T* buf);
};

// The transforms' scratch for a tiling TW tiles wide: 2n + 1 rows of a tile row's input width, rounded
// up to whole tiles.
inline int64_t scratch_size(int m, int64_t TW) { return (2 * m + 5) * (m * (TW + 1)) + 16; }

// The tile side, 2 or 4, of a Winograd convolution onto an OH x OW map (the forward and the weight
// gradient: the output's; the data gradient: the input's) whose outputs each sum `channels` channels
// (the forward: C; the data gradient: OC; the weight gradient, whose sums run over tiles: 0).
// F(4x4) where its products, tiles over the edge counted whole, are at most 0.7 of F(2x2)'s: its
// transforms cost more per product and its rows hold fewer tiles to vectorise over. One AVX-512 core,
// F(2x2) time over F(4x4) time for forward / data / weight gradient: 64 -> 64 on 32x32 (N = 32, ratio of
// products 0.56) 1.27 / 1.27 / 1.17x, 128 -> 128 on 16x16 (0.56) 1.09 / 1.07 / 1.16x, 256 -> 256 on 8x8
// (0.56) 1.06 / 0.94 / 1.36x, 64 -> 64 on 7x7 (0.56) 1.06 / 1.06 / 1.14x; on 14x14 (0.73) 0.95 / 0.95 /
// 1.01x, 10x10 (0.81) 0.73-0.78x, 5x5 (1.0) 0.68-0.73x. And only up to kF4MaxChannels summed channels:
// F(4x4)'s float32 error grows with them (of the output's scale, ReLU'd input, He-scaled weights, forward
// and data gradient: 2e-6 at 64 channels, 3-4e-6 at 128, 5-6e-6 at 256 and 512; F(2x2): 3e-7 to 1e-6; a
// float32 GEMM: 2-4e-7), the weight gradient's does not (1e-6 at any width). A non-zero
// set_tile_override (tests) picks the tile for every shape.
constexpr int64_t kF4MaxChannels = 128;
int tile_for(int64_t OH, int64_t OW, int64_t channels);
void set_tile_override(int tile);  // 0 (by shape), 2 or 4; std::invalid_argument otherwise
int tile_override();

// Whether the Winograd path computes this layer (shape only; measured policy, see winograd.cpp).
bool applies(const Geometry& g, int64_t OC, int64_t groups);
// Where applies(): whether the forward and the data gradient take it too. Maps of 16 output positions
// or fewer (ResNet's 4x4 and VGG's 2x2 at 32x32 inputs) hold a few 4x4 tiles, mostly transforms and
// padding, and run faster as im2col + GEMM with images side by side (conv.cpp); their weight gradient
// stays here, where it still wins. Measured on one AVX-512 core, N = 64: 512 -> 512 on 2x2, forward
// 27.8 ms here against 12.3, data gradient 26.1 against 14.0, weight gradient 11.1 against 23.8; on 4x4,
// forward and data gradient 43 against 37-38 ms; on 5x5 Winograd wins again (73 against 78 ms).
bool forward_applies(const Geometry& g, int64_t OC, int64_t groups);

// y (N, OC, OH, OW) = conv(x (N, C, H, W), w (OC, C, 3, 3)) + bias, then ReLU if relu. Needs applies().
template <class T>
void forward(const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC,
             const T* bias, bool relu, T* y, int nthreads);
// dx (N, C, H, W) and dw (OC, C, 3, 3), each overwritten when not null (dw zeros for N = 0). Needs
// applies().
template <class T>
void backward(const gemm::UKernel<T>& uk, const T* x, int64_t N, const Geometry& g, const T* w, int64_t OC,
              const T* dy, T* dx, T* dw, int nthreads);

template <Isa I, class T>
void fill(Transforms<T>* k, IsaTag<I>);

}  // namespace winograd
}  // namespace conv
}  // namespace fe
