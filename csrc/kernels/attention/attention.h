// Scaled dot-product attention, tiled (FlashAttention on the CPU): the (L, S) score matrix of a
// (batch, head) is never written whole. The forward walks key blocks for each block of query rows,
// keeping a running max m and sum l per row (the online softmax) and the unnormalised output; it
// saves lse = m + log(l) per row. The backward recomputes scores and probabilities block by block
// from lse (FlashAttention-2): D = rowsum(dO * O), P = exp(S - lse), dV += P^T dO, dP = dO V^T,
// dS = P * (dP - D), dQ += scale dS K, dK += scale dS^T Q.
//
// Layout: q (G, H, L, E), k (G, Hkv, S, E), v (G, Hkv, S, Ev), o and dO (G, H, L, Ev), and dq, dk, dv
// as q, k, v, each with its own element strides (g, h, row) and its rows' elements contiguous (a
// (G, L, H, E) buffer seen as (G, H, L, E) is read and written with no transposing copy); lse (G, H, L)
// C-contiguous. Query head h reads key/value head
// h / (H / Hkv) (grouped-query attention; Hkv == H is multi-head). The mask, if any, is either additive (T) or bool (uint8, nonzero
// = the key takes part), element (g, h, i, j) at g*mask_sg + h*mask_sh + i*mask_sl + j (a stride of 0
// broadcasts). causal masks key j for query i when j > i (top-left aligned, as torch). A row with no
// key left gets o = 0, lse = -inf and zero gradients (torch 2.13's CPU result).
//
// Dropout (dropout_p > 0): the probabilities that weight the values are kept with probability 1 - p
// and scaled by 1 / (1 - p), O = (Z * P) V / (1 - p); the row sums, lse and D are those of P itself.
// Whether probability (g, h, i, j) is kept is a pure function of (seed, g * H + h, i, j) (below), so
// the backward draws the forward's mask again, block by block, and the mask does not depend on the
// blocking, the ISA or the thread count: dV += (Z * P)^T dO / (1 - p), dS = P * (Z * dP / (1 - p) - D).
//
// Threads: the forward splits (g, h, query block) items; the backward gives each thread whole
// (g, key/value head) groups, looping over key blocks, then its query heads and query blocks in a fixed
// order (dQ of the group's heads accumulated in the thread's workspace), so every output element is
// summed by one thread in an order that depends on the shape only: bitwise equal for any thread count.
#pragma once
#include <cstdint>

#include "common/isa.h"

namespace fe {
namespace attention {

// The dropout mask's bits: a 32-bit key per (head gh = g * H + h, key j), splitmix64's finaliser of
// seed + (gh * S + j + 1) * 2^64 / phi; then per query i the "lowbias32" integer hash of
// key ^ (i * 2^32 / phi). Probability (gh, i, j) is kept when the hash is >= threshold = p * 2^32
// (rounded, at most 2^32 - 1). firstepoch.reference.attention.dropout_keep writes the same in NumPy.
inline uint32_t dropout_row_key(uint64_t seed, int64_t gh, int64_t S, int64_t j) {
  uint64_t z = seed + static_cast<uint64_t>(gh * S + j + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<uint32_t>((z ^ (z >> 31)) >> 32);
}
constexpr uint32_t kDropoutLaneStep = 0x9E3779B9u;  // key ^ (i * this) is hashed for query i
// lowbias32 of x: U is uint32_t, or a vector of them (one query per lane).
template <class U>
inline U dropout_hash(U x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  return x ^ (x >> 16);
}

// Element strides of a (G, heads, rows, cols) operand whose rows are contiguous.
struct Strides {
  int64_t g = 0, h = 0, l = 0;
  int64_t at(int64_t gi, int64_t hi, int64_t row) const { return gi * g + hi * h + row * l; }
};
inline Strides contiguous(int64_t heads, int64_t rows, int64_t cols) { return {heads * rows * cols, rows * cols, cols}; }

template <class T>
struct Problem {
  const T* q = nullptr;
  const T* k = nullptr;
  const T* v = nullptr;
  const T* mask = nullptr;           // additive mask, or
  const uint8_t* mask_bool = nullptr;  // bool mask (at most one of the two)
  int64_t mask_sg = 0, mask_sh = 0, mask_sl = 0;
  T* o = nullptr;    // forward output (G, H, L, Ev); backward input
  T* lse = nullptr;  // forward output (G, H, L); backward input
  const T* dout = nullptr;  // backward: dO (G, H, L, Ev)
  T* dq = nullptr;
  T* dk = nullptr;
  T* dv = nullptr;
  Strides qs, ks, vs, os, dos, dqs, dks, dvs;  // of q, k, v, o, dout, dq, dk, dv
  int64_t G = 0, H = 0, Hkv = 0, L = 0, S = 0, E = 0, Ev = 0;
  T scale = 1;
  bool causal = false;
  // dropout: on when dropout; kept when dropout_hash(row key ^ (i * kDropoutLaneStep)) >= drop_threshold,
  // kept values times drop_scale
  bool dropout = false;
  uint64_t drop_seed = 0;
  uint32_t drop_threshold = 0;
  T drop_scale = 1;
};

template <class T>
struct Kernels {
  static constexpr const char* kFamily = "attention";
  int64_t block_q;  // query rows per forward item
  // Elements of T one thread's forward / backward workspace needs for this problem.
  int64_t (*forward_workspace)(const Problem<T>& p);
  int64_t (*backward_workspace)(const Problem<T>& p);
  // o and lse of items [item0, item1): item = (g * H + h) * ceil(L / block_q) + query block.
  void (*forward_items)(const Problem<T>& p, int64_t item0, int64_t item1, T* work);
  // dq of the group's query heads, dk and dv of key/value head (g, hk) = group / Hkv, group % Hkv.
  void (*backward_group)(const Problem<T>& p, int64_t group, T* work);
};

template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

// Drivers: one parallel region each; every output element is written.
template <class T>
void forward(const Kernels<T>& k, const Problem<T>& p, int nthreads);
template <class T>
void backward(const Kernels<T>& k, const Problem<T>& p, int nthreads);
// Bytes of workspace the kernels take per thread (for the benchmark's peak-memory column).
template <class T>
int64_t workspace_bytes(const Kernels<T>& k, const Problem<T>& p, bool backward);

}  // namespace attention
}  // namespace fe
