// Drivers of the recurrent layers: GEMMs through the GEMM driver, the gate kernels of the ISA in use,
// threads over hidden units. Every output element is computed by one thread in a fixed order (the
// GEMM driver's guarantee, and elementwise gate kernels), so results do not depend on the thread count.
#include "kernels/rnn/rnn.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <memory>
#include <utility>
#include <vector>

#include "common/parallel.h"
#include "common/scratch.h"

namespace fe {
namespace rnn {
namespace {

// fn(j0, j1) over hidden units [0, H), split over threads when each gets enough work.
template <class F>
void over_units(int64_t H, int64_t work_per_unit, int nthreads, F&& fn) {
  parallel_ranges(H, work_per_unit, 16384, nthreads, fn);
}

// Threads for the work inside the time loop. Each step is small (the benchmark's LSTM step is 25
// MFLOP) and has to wait for the one before it, so every step pays a few fork/joins, and their cost
// grows with the thread count while each thread's share shrinks. Measured on a 16-core Xeon (LSTM,
// GRU and RNN(tanh), T=50 N=32 I=128 H=256): 4 threads were the fastest for all three, 8 were 1.5x
// slower and 16 were 2-5x slower than 4 (slower than one thread for the LSTM). The products over
// all steps (the GRU's input projection, the weight gradients) and the packing use every thread,
// and so does a step big enough to give each thread 16 MFLOP (a large batch or hidden size).
inline int step_threads(int nthreads, double step_flops) {
  const double by_work = std::max(4.0, step_flops / 16.0e6);
  return by_work < nthreads ? static_cast<int>(by_work) : nthreads;
}

// C (M, N) = beta * C + op(W) @ B with op(W) prepacked (or read in place from w, lda, when not).
template <class T>
void recurrent_product(const gemm::UKernel<T>& uk, const T* packed, bool trans, const T* w, int64_t lda, int64_t M,
                       int64_t N, int64_t K, const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int nthreads) {
  if (packed)
    gemm::gemm_packed_a<T>(uk, M, N, K, T(1), packed, false, B, ldb, beta, C, ldc, nthreads);
  else
    gemm::gemm<T>(uk, trans, false, M, N, K, T(1), w, lda, B, ldb, beta, C, ldc, nullptr, false, nthreads);
}

}  // namespace

inline int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

template <class T>
void forward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const Shape& s, const T* x, const T* w_ih,
             const T* w_hh, const T* b_ih, const T* b_hh, const T* h0, const T* c0, T* out, const Saved<T>& sv,
             int nthreads) {
  const int64_t T_ = s.T, N = s.N, I = s.I, H = s.H, GH = gate_count(s.mode) * H, TN = T_ * N, HN = H * N;
  const int64_t IH = I + H;
  if (N == 0) return;  // an empty batch: out and every saved array are empty
  const bool lstm = s.mode == kLstm, gru = s.mode == kGru;
  const int relu = s.mode == kRnnRelu;
  auto time_of = [&](int64_t step) { return s.reverse ? T_ - 1 - step : step; };
  const int lt = step_threads(nthreads, 2.0 * GH * N * (gru ? H : I + H));  // the step's product

  std::vector<T> bias_sum;
  const T* bias = nullptr;
  if (!gru && (b_ih || b_hh)) {
    bias_sum.resize(static_cast<size_t>(GH));
    for (int64_t r = 0; r < GH; ++r) bias_sum[r] = (b_ih ? b_ih[r] : T(0)) + (b_hh ? b_hh[r] : T(0));
    bias = bias_sum.data();
  }
  const bool packed = T_ > 1;  // one step reads the weights in place; more steps pack them once
  if (gru) {
    // The GRU keeps W_ih x and W_hh h apart (its n gate needs r * (W_hn h + b_hn)): the input
    // projection of every step is one GEMM, gates (GH, T*N) = W_ih (GH, I) @ x^T, and each step's
    // recurrent product goes to gh; hs (T+1, H, N) is saved for backward.
    gemm::gemm<T>(uk, false, true, GH, TN, I, T(1), w_ih, I, x, I, T(0), sv.gates, TN, nullptr, false, nthreads);
    const int64_t psize = packed ? gemm::packed_a_size(uk, GH, H) : 0;
    Workspace ws(Workspace::bytes_for<T>({psize}));
    T* w_packed = ws.take<T>(psize);
    if (packed) gemm::pack_a_all(uk, false, GH, H, w_hh, H, w_packed, nthreads);
    k.transpose(h0, H, sv.hs, N, 0, N, 0, H, 0);
    for (int64_t step = 0; step < T_; ++step) {
      const int64_t t = time_of(step);
      const T* h_prev = sv.hs + step * HN;
      T* h_next = sv.hs + (step + 1) * HN;
      recurrent_product(uk, packed ? w_packed : nullptr, false, w_hh, H, GH, N, H, h_prev, N, T(0), sv.gh + t * N, TN,
                        lt);
      T* out_t = out + (s.reverse ? t : t + 1) * HN;
      over_units(H, N * 8, lt, [&](int64_t j0, int64_t j1) {
        k.gru_forward(sv.gates + t * N, TN, sv.gh + t * N, TN, b_ih, b_hh, h_prev, h_next, H, N, j0, j1);
        k.transpose(h_next, N, out_t, H, j0, j1, 0, N, 0);
      });
    }
  } else {
    // RNN and LSTM: each step is one product over K = I + H, gates_t (GH, N) = [W_ih | W_hh] @ [x_t; h]
    // (both weights packed side by side once), so no input projection of all steps is written out and
    // read back, and the step's gates stay in cache for the gate kernel. z holds [x_t^T; h^T] (I+H, N):
    // two of them, the gate kernel writing the next step's h into the other.
    const int64_t psize = packed ? gemm::packed_a_size(uk, GH, IH) : 0;
    Workspace ws(Workspace::bytes_for<T>({psize, 2 * IH * N}));
    T* w_packed = ws.take<T>(psize);
    T* zbuf = ws.take<T>(2 * IH * N);
    if (packed) {
      gemm::pack_a_part(uk, false, GH, IH, 0, 0, GH, I, w_ih, I, w_packed, nthreads);
      gemm::pack_a_part(uk, false, GH, IH, 0, I, GH, H, w_hh, H, w_packed, nthreads);
    }
    k.transpose(h0, H, zbuf + I * N, N, 0, N, 0, H, 0);
    if (lstm) k.transpose(c0, H, sv.cs, N, 0, N, 0, H, 0);
    for (int64_t step = 0; step < T_; ++step) {
      const int64_t t = time_of(step);
      T* z = zbuf + (step % 2) * IH * N;
      T* h_next = zbuf + ((step + 1) % 2) * IH * N + I * N;
      k.transpose(x + t * N * I, I, z, N, 0, N, 0, I, 0);  // x_t^T
      T* g = sv.gates + t * GH * N;  // (GH, N)
      if (packed) {
        gemm::gemm_packed_a<T>(uk, GH, N, IH, T(1), w_packed, false, z, N, T(0), g, N, lt);
      } else {
        gemm::gemm<T>(uk, false, false, GH, N, I, T(1), w_ih, I, z, N, T(0), g, N, nullptr, false, lt);
        gemm::gemm<T>(uk, false, false, GH, N, H, T(1), w_hh, H, z + I * N, N, T(1), g, N, nullptr, false, lt);
      }
      T* out_t = out + (s.reverse ? t : t + 1) * HN;
      over_units(H, N * 8, lt, [&](int64_t j0, int64_t j1) {
        if (lstm)
          k.lstm_forward(g, N, bias, sv.cs + step * HN, sv.cs + (step + 1) * HN, sv.tcs + step * HN, h_next, H, N,
                         j0, j1);
        else
          k.rnn_forward(g, N, bias, h_next, N, j0, j1, relu);
        k.transpose(h_next, N, out_t, H, j0, j1, 0, N, 0);  // this thread's units of the output, while in cache
      });
    }
  }
  std::copy(h0, h0 + HN, out + (s.reverse ? T_ : 0) * HN);
  if (lstm) k.transpose(sv.cs + T_ * HN, N, out + (T_ + 1) * HN, H, 0, H, 0, N, 0);
}

template <class T>
void backward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const Shape& s, const T* x, const T* w_ih,
              const T* w_hh, const T* out, const Saved<const T>& sv, const T* dout, T* dx, T* dh0, T* dc0, T* dw_ih,
              T* dw_hh, T* db_ih, T* db_hh, int nthreads) {
  const int64_t T_ = s.T, N = s.N, I = s.I, H = s.H, GH = gate_count(s.mode) * H, TN = T_ * N, HN = H * N;
  if (N == 0) {  // an empty batch: dx, dh0, dc0 are empty; the weight and bias gradients sum nothing
    for (auto [d, n] : {std::pair<T*, int64_t>{dw_ih, GH * I}, {dw_hh, GH * H}, {db_ih, GH}, {db_hh, GH}})
      if (d) std::fill(d, d + n, T(0));
    return;
  }
  const bool lstm = s.mode == kLstm, gru = s.mode == kGru;
  const int relu = s.mode == kRnnRelu;
  auto time_of = [&](int64_t step) { return s.reverse ? T_ - 1 - step : step; };
  const int lt = step_threads(nthreads, 2.0 * GH * N * (gru ? H : I + H));  // the step's product
  auto slot_of = [&](int64_t t) { return s.reverse ? t : t + 1; };  // out's slot of h_t
  const int64_t h0_slot = s.reverse ? T_ : 0;
  const bool packed = T_ > 1;
  const T* h_prev = out + (s.reverse ? 1 : 0) * HN;  // (T*N, H): the h that fed each time step
  const bool want_dw = dw_ih || dw_hh, want_db = db_ih || db_hh;

  // Each step's gate kernel writes the step's dgates (GH, N) to dstep, which the step's product reads.
  // RNN and LSTM: dx_t and dh_{t-1} read the same dgates_t, so one product [dh; dx_t^T] +=
  // [W_hh^T; W_ih^T] dgates_t (W_ih^T from a panel boundary Hp on, so no packed panel mixes the
  // two); cb holds [dh (H, N); Hp - H zero rows; dx_t^T (I, N)]. dgates_t is then packed, while in
  // cache, as columns t*N.. of the A operand of both weight gradients (dW = dgates (GH, T*N) @ [x |
  // h_prev]), and its row sums are added to the bias gradient, step after step in a fixed order.
  // The GRU's dh reads dgh, its dx dgx: both (GH, T*N) are kept, and dx is one GEMM at the end.
  const bool dx_in_loop = dx && !gru;
  const int64_t Hp = dx_in_loop ? round_up(H, uk.mr) : H, Mb = dx_in_loop ? Hp + I : H;
  const int64_t psize = packed ? gemm::packed_a_size(uk, Mb, GH) : 0;
  const int64_t dg_psize = !gru && want_dw ? gemm::packed_a_size(uk, GH, TN) : 0;
  Workspace ws(Workspace::bytes_for<T>({gru ? 2 * GH * TN : 0, GH * N, Mb * N, lstm ? HN : 0, psize, dg_psize,
                                         !gru ? GH : 0}));
  T* dgx = ws.take<T>(gru ? GH * TN : 0);  // GRU: (GH, T*N), column block t for time t
  T* dgh = ws.take<T>(gru ? GH * TN : 0);
  T* dstep = ws.take<T>(GH * N);
  T* cb = ws.take<T>(Mb * N);
  T* dh = cb;  // (H, N): the gradient of the h the current step made
  T* dc = ws.take<T>(lstm ? HN : 0);
  T* w_packed = ws.take<T>(psize);
  T* dg_packed = ws.take<T>(dg_psize);
  T* db = ws.take<T>(!gru ? GH : 0);
  std::fill(cb + HN, cb + Mb * N, T(0));
  if (packed) {
    gemm::pack_a_part(uk, true, Mb, GH, 0, 0, H, GH, w_hh, H, w_packed, nthreads);
    if (dx_in_loop) gemm::pack_a_part(uk, true, Mb, GH, Hp, 0, I, GH, w_ih, I, w_packed, nthreads);
  }
  k.transpose(dout + slot_of(time_of(T_ - 1)) * HN, H, dh, N, 0, N, 0, H, 0);
  if (lstm) k.transpose(dout + (T_ + 1) * HN, H, dc, N, 0, N, 0, H, 0);

  for (int64_t step = T_ - 1; step >= 0; --step) {
    const int64_t t = time_of(step);
    // the gradient of h_{t-1} from the output it is (the GRU's direct path dh*z is added to it)
    const T* dout_prev = dout + (step > 0 ? slot_of(time_of(step - 1)) : h0_slot) * HN;
    over_units(H, N * 8, lt, [&](int64_t j0, int64_t j1) {
      if (lstm)
        k.lstm_backward(sv.gates + t * GH * N, N, sv.cs + step * HN, sv.tcs + step * HN, dh, dc, dstep, H, N, j0, j1);
      else if (gru)
        k.gru_backward(sv.gates + t * N, TN, sv.gh + t * N, TN, sv.hs + step * HN, dh, dgx + t * N, dgh + t * N, TN,
                       dstep, H, N, j0, j1);
      else
        k.rnn_backward(sv.gates + t * GH * N, N, dh, dstep, N, j0, j1, relu);
      k.transpose(dout_prev, H, dh, N, 0, N, j0, j1, gru ? 1 : 0);  // this thread's units of dh
    });
    if (dx_in_loop) std::fill(cb + Hp * N, cb + Mb * N, T(0));
    if (packed) {
      gemm::gemm_packed_a<T>(uk, Mb, N, GH, T(1), w_packed, false, dstep, N, T(1), cb, N, lt);
    } else {
      gemm::gemm<T>(uk, true, false, H, N, GH, T(1), w_hh, H, dstep, N, T(1), dh, N, nullptr, false, lt);
      if (dx_in_loop)
        gemm::gemm<T>(uk, true, false, I, N, GH, T(1), w_ih, I, dstep, N, T(0), cb + Hp * N, N, nullptr, false,
                      lt);
    }
    if (dx_in_loop) k.transpose(cb + Hp * N, N, dx + t * N * I, I, 0, I, 0, N, 0);
    if (!gru) {
      if (want_dw) gemm::pack_a_part(uk, false, GH, TN, 0, t * N, GH, N, dstep, N, dg_packed, lt);
      if (want_db)
        parallel_ranges(GH, N, 32768, lt,
                        [&](int64_t r0, int64_t r1) { k.row_sum(dstep, N, N, db, r0, r1, step < T_ - 1); });
    }
  }
  k.transpose(dh, N, dh0, H, 0, H, 0, N, 0);
  if (lstm) k.transpose(dc, N, dc0, H, 0, H, 0, N, 0);

  // The weight gradients over all T*N columns at once: one GEMM each, a fixed summation order.
  if (!gru) {
    if (dw_ih) gemm::gemm_packed_a<T>(uk, GH, I, TN, T(1), dg_packed, false, x, I, T(0), dw_ih, I, nthreads);
    if (dw_hh) gemm::gemm_packed_a<T>(uk, GH, H, TN, T(1), dg_packed, false, h_prev, H, T(0), dw_hh, H, nthreads);
    if (db_ih) std::copy(db, db + GH, db_ih);
    if (db_hh) std::copy(db, db + GH, db_hh);  // the same sum: b_ih and b_hh enter the gates alike
    return;
  }
  if (dw_ih) gemm::gemm<T>(uk, false, false, GH, I, TN, T(1), dgx, TN, x, I, T(0), dw_ih, I, nullptr, false, nthreads);
  if (dw_hh)
    gemm::gemm<T>(uk, false, false, GH, H, TN, T(1), dgh, TN, h_prev, H, T(0), dw_hh, H, nullptr, false, nthreads);
  if (dx) gemm::gemm<T>(uk, true, false, TN, I, GH, T(1), dgx, TN, w_ih, I, T(0), dx, I, nullptr, false, nthreads);
  auto bias_grad = [&](const T* src, T* out_db) {
    parallel_ranges(GH, TN, 32768, nthreads,
                    [&](int64_t r0, int64_t r1) { k.row_sum(src, TN, TN, out_db, r0, r1, 0); });
  };
  if (db_ih) bias_grad(dgx, db_ih);
  if (db_hh) bias_grad(dgh, db_hh);
}

#define FE_INSTANTIATE(T)                                                                                        \
  template void forward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const Shape&, const T*, const T*, const T*, \
                           const T*, const T*, const T*, const T*, T*, const Saved<T>&, int);                     \
  template void backward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const Shape&, const T*, const T*, const T*, \
                            const T*, const Saved<const T>&, const T*, T*, T*, T*, T*, T*, T*, T*, int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace rnn
}  // namespace fe
