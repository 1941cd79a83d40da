// Winograd F(2x2, 3x3) convolution for 3x3, stride 1, dilation 1, groups 1 layers with many channels
// (Lavin & Gray 2015): each 2x2 output tile is A^T [ (G g G^T) . (B^T d B) ] A over a 4x4 input tile d,
// so the 16 positions of the 4x4 tile become 16 independent GEMMs (OC x C) @ (C x tiles) with 2.25x
// fewer multiplies than im2col + GEMM. The tile transforms are per ISA (winograd_isa.cpp); the drivers
// (winograd.cpp) own the blocks, threads and GEMMs. Backward data is the same convolution of dy with
// the rotated, in/out-swapped weights; backward weight is the transpose of the forward's linear map:
// dU = sum over tiles (A dY A^T) . (B^T d B), dW = G^T dU G.
#pragma once
#include <cstdint>

#include "common/isa.h"
#include "kernels/conv/conv.h"
#include "kernels/gemm/gemm.h"

namespace fe {
namespace conv {
namespace winograd {

// One convolution seen as tiles: input planes (C, H, W) padded by (ph, pw), output planes (OC, OH, OW)
// cut into TH x TW tiles of 2x2 (a last row or column of tiles may hang over the output's edge).
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

// Tiles are numbered over (image, tile row, tile column); a block is tiles [t0, t0 + nt). Block
// matrices are position-major: X[pos][channel][j] at X + pos*plane_stride(channels, ld) + channel*ld + j
// for tile t0 + j, pos = 4*row + column of the 4x4 transformed tile. buf: scratch of 16*(TW + 2) elements.
template <class T>
struct Transforms {
  static constexpr const char* kFamily = "Winograd transforms";
  // x (N, C, H, W) -> V (16, C, ld) = B^T d B of each tile's 4x4 input window (padding reads as 0)
  void (*input_tiles)(const T* x, const Tiling& tl, int64_t t0, int64_t nt, T* V, int64_t ld, T* buf);
  // M (16, OC, ld) -> y (N, OC, OH, OW): A^T m A (+ bias[oc], then max(., 0) if relu) of each tile,
  // only the outputs inside (OH, OW) written
  void (*output_tiles)(const T* M, const Tiling& tl, int64_t t0, int64_t nt, int64_t ld, const T* bias, bool relu,
                       T* y, T* buf);
  // dy (N, OC, OH, OW) -> Z (16, OC, ld) = A dy A^T of each 2x2 output tile (outside (OH, OW) reads as 0)
  void (*grad_tiles)(const T* dy, const Tiling& tl, int64_t t0, int64_t nt, T* Z, int64_t ld, T* buf);
};

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
