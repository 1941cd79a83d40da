// Recurrent layers (vanilla RNN with tanh or ReLU, LSTM, GRU), one layer and one direction per call,
// forward and backward through time. PyTorch's definitions, weights and gate order:
//   RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)
//   LSTM: i,f,g,o = sig, sig, tanh, sig of (W_ih x + b_ih + W_hh h + b_hh);  c' = f*c + i*g;  h' = o*tanh(c')
//   GRU:  r,z = sig(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z});  n = tanh(W_in x + b_in + r*(W_hn h + b_hn))
//         h' = (1-z)*n + z*h
// The drivers (rnn.cpp) call the GEMM driver. RNN and LSTM do one product per step, [W_ih | W_hh] @
// [x_t; h] (packed once per call, K = I + H); only the GRU, whose n gate keeps W_in x and W_hn h apart,
// projects the input of every step as one GEMM first and then runs a W_hh product per step. The gate
// kernels below (rnn_isa.cpp, compiled once per ISA) fuse the non-linearities with the state update.
//
// Inside the drivers everything is "gate-major": a step's gates are a (G*H, N) matrix, the weight is
// the GEMM's A (G*H rows, packed once, read at every step) and the batch is its N (the state h^T,
// (H, N)). With a batch of 32 that is one full 32-wide micro-panel and 73 full 14-row tiles per step,
// where (N, G*H) would leave a 4-row remainder tile in every column panel.
#pragma once
#include <cstdint>

#include "common/isa.h"

#include "kernels/gemm/gemm.h"

namespace fe {
namespace rnn {

enum Mode { kRnnTanh = 0, kRnnRelu = 1, kLstm = 2, kGru = 3 };
inline int gate_count(int mode) { return mode == kLstm ? 4 : mode == kGru ? 3 : 1; }

// The gate kernels work on hidden units [j0, j1) of one time step, every batch column n < N. Matrices
// are row-major with the given row strides (elements); "(rows, N)" means one row per gate unit. The
// states (h, c, tanh c, dh, dc) are (H, N) blocks with row stride N. dstep receives the step's
// gradient of the pre-activations that the next products read, as one contiguous (G*H, N) block (the
// GEMM reads it as B in place when N is the kernel's panel width, and packs it cheaply otherwise).
template <class T>
struct Kernels {
  static constexpr const char* kFamily = "recurrent";
  // RNN: pre (H, N) = x-projection + recurrent product; h = act(pre + bias[j]), written to h and back
  // into pre (saved: backward needs only h). bias (H,) or null. relu: act = max(0, .), else tanh
  void (*rnn_forward)(T* pre, int64_t ldp, const T* bias, T* h, int64_t N, int64_t j0, int64_t j1, int relu);
  // dpre (H, N, into dstep) = dh * act'(h), h read from hs (the saved activations)
  void (*rnn_backward)(const T* hs, int64_t ldh, const T* dh, T* dstep, int64_t N, int64_t j0, int64_t j1, int relu);
  // LSTM: gates (4H, N) pre-activations in, activations i,f,g,o out (in place); bias (4H,) or null;
  // c_prev -> c, tc = tanh(c) (saved for backward), h = o * tc
  void (*lstm_forward)(T* gates, int64_t ldg, const T* bias, const T* c_prev, T* c, T* tc, T* h, int64_t H,
                       int64_t N, int64_t j0, int64_t j1);
  // from the activations, c_prev, tc, dh and dc (the gradient of c; overwritten by that of c_prev):
  // dgates (4H, N, into dstep), the gradient of the pre-activations
  void (*lstm_backward)(const T* gates, int64_t ldg, const T* c_prev, const T* tc, const T* dh, T* dc, T* dstep,
                        int64_t H, int64_t N, int64_t j0, int64_t j1);
  // GRU: gx (3H, N) = W_ih x, activations r,z,n out (in place); gh (3H, N) = W_hh h, its n rows get
  // + b_hn (saved for backward); b_ih, b_hh (3H,) or null; h_prev -> h
  void (*gru_forward)(T* gx, int64_t ldx, T* gh, int64_t ldh_g, const T* b_ih, const T* b_hh, const T* h_prev,
                      T* h, int64_t H, int64_t N, int64_t j0, int64_t j1);
  // dgx (3H, N) and dgh (3H, N) (the pre-activation gradients of the input and recurrent products,
  // which differ in the n rows: dgh_n = dgx_n * r), from the activations, gh (with b_hn) and h_prev;
  // dh is overwritten by its direct part dh*z; dstep gets dgh
  void (*gru_backward)(const T* gx, int64_t ldx, const T* gh, int64_t ldh_g, const T* h_prev, T* dh, T* dgx,
                       T* dgh, int64_t ldd, T* dstep, int64_t H, int64_t N, int64_t j0, int64_t j1);
  // out[r] = sum over c < cols of a[r*lda + c] (added to out[r] with accumulate), rows [r0, r1), in
  // a fixed order
  void (*row_sum)(const T* a, int64_t lda, int64_t cols, T* out, int64_t r0, int64_t r1, int accumulate);
  // dst[c*ldd + r] = src[r*lds + c] (or += with add) for rows [r0, r1) and columns [c0, c1) of src
  void (*transpose)(const T* src, int64_t lds, T* dst, int64_t ldd, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                    int add);
};

// Fills k with the kernels of level I (defined in rnn_isa.cpp, compiled once per level).
template <Isa I, class T>
void fill(Kernels<T>* k, IsaTag<I>);

// One layer, one direction. reverse: the sequence is read from t = T-1 down to 0.
struct Shape {
  int64_t T, N, I, H;
  int mode;
  bool reverse;
};

// Arrays the forward pass fills for the backward pass (all overwritten; null where the mode has none):
//   gates:            time t's activations (RNN: h_t; LSTM: i,f,g,o; GRU: r,z,n), RNN and LSTM as
//                     (T, G*H, N) (block t), the GRU as (G*H, T*N) (column block t);
//   gh (G*H, T*N):    GRU: W_hh h_{t-1} with b_hn added to its n rows;
//   hs (T+1, H, N):   GRU: h^T before reading step s in block s (h0 in block 0), in reading order;
//   cs (T+1, H, N):   LSTM: c^T likewise; tcs (T, H, N): LSTM: tanh(c^T) after step s.
template <class T>
struct Saved {
  T* gates;
  T* gh;
  T* hs;
  T* cs;
  T* tcs;
};

// The saved arrays as one buffer (the caller's workspace, saved_layout's total elements): each array
// at a fixed offset, in the order above, its length rounded up to 16 elements so that each starts as
// aligned as the buffer. offset[5] receives where each begins (an array the mode has none of takes 0
// elements). Returns the total, or -1 if it does not fit in int64.
inline int64_t saved_layout(int mode, int64_t T, int64_t N, int64_t H, int64_t offset[5]) {
  const bool lstm = mode == kLstm, gru = mode == kGru;
  int64_t HN = 0, THN = 0, GTHN = 0, T1HN = 0;
  if (__builtin_mul_overflow(H, N, &HN) || __builtin_mul_overflow(HN, T, &THN) ||
      __builtin_mul_overflow(THN, static_cast<int64_t>(gate_count(mode)), &GTHN) ||
      __builtin_add_overflow(THN, HN, &T1HN))
    return -1;
  const int64_t len[5] = {GTHN, gru ? GTHN : 0, gru ? T1HN : 0, lstm ? T1HN : 0, lstm ? THN : 0};
  int64_t total = 0;
  for (int i = 0; i < 5; ++i) {
    offset[i] = total;
    if (len[i] > INT64_MAX - 16 - total) return -1;
    total += (len[i] + 15) / 16 * 16;
  }
  return total;
}

// The saved arrays' places in a workspace laid out by saved_layout (null where the mode has none).
template <class T>
Saved<T> saved_in(T* workspace, int mode, const int64_t offset[5]) {
  const bool lstm = mode == kLstm, gru = mode == kGru;
  return {workspace + offset[0], gru ? workspace + offset[1] : nullptr, gru ? workspace + offset[2] : nullptr,
          lstm ? workspace + offset[3] : nullptr, lstm ? workspace + offset[4] : nullptr};
}

// The forward pass. x (T, N, I); w_ih (G*H, I); w_hh (G*H, H); b_ih, b_hh (G*H,) or null; h0 (N, H);
// c0 (N, H) (LSTM, else null).
// out (S, N, H), S = T+2 for LSTM, else T+1: the outputs in time order and the final states,
//   forward:  out[0] = h0, out[1 + t] = h_t (t < T), out[T+1] = c_T (LSTM);
//   reverse:  out[t] = h_t (t < T), out[T] = h0, out[T+1] = c after t = 0 (LSTM);
//   so h_n is out[T] (forward) or out[0] (reverse), and out[t + (reverse ? 1 : 0)] is the h that fed
//   time step t.
template <class T>
void forward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const Shape& s, const T* x, const T* w_ih,
             const T* w_hh, const T* b_ih, const T* b_hh, const T* h0, const T* c0, T* out, const Saved<T>& saved,
             int nthreads);

// The backward pass through time, from forward's saved arrays and dout (S, N, H), the gradient of out
// (its h0 slot adds to dh0). Outputs are overwritten; any of dx (T, N, I), dw_ih, dw_hh, db_ih, db_hh
// may be null (not wanted); dh0 (N, H) and dc0 (N, H, LSTM) must be given. N = 0 (an empty batch)
// gives zero weight and bias gradients. Inside the time loop only
// dh_{t-1} = W_hh^T dgates_t is computed; dW_ih, dW_hh and the biases are one GEMM (row sum) each over
// all T*N columns afterwards, so their summation order is fixed.
template <class T>
void backward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const Shape& s, const T* x, const T* w_ih,
              const T* w_hh, const T* out, const Saved<const T>& saved, const T* dout, T* dx, T* dh0, T* dc0,
              T* dw_ih, T* dw_hh, T* db_ih, T* db_hh, int nthreads);

}  // namespace rnn
}  // namespace fe
