// Drivers of the recurrent layers: GEMMs through the GEMM driver, the gate kernels of the ISA in use,
// threads over hidden units. Every output element is computed by one thread in a fixed order (the
// GEMM driver's guarantee, and elementwise gate kernels), so results do not depend on the thread count.
#include "kernels/rnn/rnn.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "common/parallel.h"

namespace fe {
namespace rnn {
namespace {

// A scratch buffer left uninitialised: every element is written before it is read.
template <class T>
std::unique_ptr<T[]> scratch(int64_t n) {
  return std::unique_ptr<T[]>(new T[static_cast<size_t>(n > 0 ? n : 1)]);
}

// fn(j0, j1) over hidden units [0, H), split over threads when each gets enough work.
template <class F>
void over_units(int64_t H, int64_t work_per_unit, int nthreads, F&& fn) {
  parallel_ranges(H, work_per_unit, 16384, nthreads, fn);
}

// The recurrent weight as the A of every step's product: packed once when there are several steps
// (op(A) = W_hh for forward, W_hh^T for backward), or null for a single step, which reads it in place.
template <class T>
std::unique_ptr<T[]> pack_recurrent(const gemm::UKernel<T>& uk, bool trans, int64_t M, int64_t K, const T* w_hh,
                                    int64_t ld, int64_t steps, int nthreads) {
  if (steps < 2) return nullptr;
  auto p = scratch<T>(gemm::packed_a_size(uk, M, K));
  gemm::pack_a_all(uk, trans, M, K, w_hh, ld, p.get(), nthreads);
  return p;
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

template <class T>
void forward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const Shape& s, const T* x, const T* w_ih,
             const T* w_hh, const T* b_ih, const T* b_hh, const T* h0, const T* c0, T* out, T* gates, T* gh, T* hs,
             T* cs, int nthreads) {
  // x (T, N, I) -> out (S, N, H); gates (G*H, T*N); hs, cs (H, (T+1)*N)
  const int64_t T_ = s.T, N = s.N, I = s.I, H = s.H, GH = gate_count(s.mode) * H, TN = T_ * N, SN = (T_ + 1) * N;
  const bool lstm = s.mode == kLstm, gru = s.mode == kGru;
  const int relu = s.mode == kRnnRelu;

  // The input projection of every step in one GEMM: gates (GH, T*N) = W_ih (GH, I) @ x^T. The GRU's
  // recurrent product goes to gh (its n rows must stay apart); the others' add onto gates.
  gemm::gemm<T>(uk, false, true, GH, TN, I, T(1), w_ih, I, x, I, T(0), gates, TN, nullptr, false, nthreads);
  std::vector<T> bias_sum;
  const T* bias = nullptr;
  if (!gru && (b_ih || b_hh)) {
    bias_sum.resize(static_cast<size_t>(GH));
    for (int64_t r = 0; r < GH; ++r) bias_sum[r] = (b_ih ? b_ih[r] : T(0)) + (b_hh ? b_hh[r] : T(0));
    bias = bias_sum.data();
  }
  k.transpose(h0, H, H, hs, SN, 0, N, 0);  // h^T before the first step
  if (lstm) k.transpose(c0, H, H, cs, SN, 0, N, 0);
  auto packed = pack_recurrent(uk, false, GH, H, w_hh, H, T_, nthreads);

  for (int64_t step = 0; step < T_; ++step) {
    const int64_t t = s.reverse ? T_ - 1 - step : step;
    const T* h_prev = hs + step * N;
    T* h_next = hs + (step + 1) * N;
    T* g = gates + t * N;
    if (gru)  // gh_t = W_hh h_{t-1}
      recurrent_product(uk, packed.get(), false, w_hh, H, GH, N, H, h_prev, SN, T(0), gh + t * N, TN, nthreads);
    else  // gates_t += W_hh h_{t-1}
      recurrent_product(uk, packed.get(), false, w_hh, H, GH, N, H, h_prev, SN, T(1), g, TN, nthreads);
    over_units(H, N * 8, nthreads, [&](int64_t j0, int64_t j1) {
      if (lstm)
        k.lstm_forward(g, TN, bias, cs + step * N, SN, cs + (step + 1) * N, SN, h_next, SN, H, N, j0, j1);
      else if (gru)
        k.gru_forward(g, TN, gh + t * N, TN, b_ih, b_hh, h_prev, SN, h_next, SN, H, N, j0, j1);
      else
        k.rnn_forward(g, TN, bias, h_next, SN, N, j0, j1, relu);
    });
  }

  // The outputs in time order (see rnn.h for the slots), each step's h^T transposed back to (N, H).
  parallel_ranges(T_, N * H, 32768, nthreads, [&](int64_t s0, int64_t s1) {
    for (int64_t step = s0; step < s1; ++step) {
      const int64_t t = s.reverse ? T_ - 1 - step : step;
      k.transpose(hs + (step + 1) * N, SN, N, out + (s.reverse ? t : t + 1) * N * H, H, 0, H, 0);
    }
  });
  std::copy(h0, h0 + N * H, out + (s.reverse ? T_ : 0) * N * H);
  if (lstm) k.transpose(cs + T_ * N, SN, N, out + (T_ + 1) * N * H, H, 0, H, 0);
}

template <class T>
void backward(const Kernels<T>& k, const gemm::UKernel<T>& uk, const Shape& s, const T* x, const T* w_ih,
              const T* w_hh, const T* out, const T* gates, const T* gh, const T* hs, const T* cs, const T* dout,
              T* dx, T* dh0, T* dc0, T* dw_ih, T* dw_hh, T* db_ih, T* db_hh, int nthreads) {
  const int64_t T_ = s.T, N = s.N, I = s.I, H = s.H, GH = gate_count(s.mode) * H, TN = T_ * N, SN = (T_ + 1) * N;
  const bool lstm = s.mode == kLstm, gru = s.mode == kGru;
  const int relu = s.mode == kRnnRelu;
  auto time_of = [&](int64_t step) { return s.reverse ? T_ - 1 - step : step; };
  auto slot_of = [&](int64_t t) { return s.reverse ? t : t + 1; };  // out's slot of h_t
  const int64_t h0_slot = s.reverse ? T_ : 0;

  // dgates (GH, T*N), column block t for step t; the GRU's recurrent product has its own (dgh).
  auto dg_buf = scratch<T>(GH * TN);
  auto dgh_buf = scratch<T>(gru ? GH * TN : 0);
  T* dg = dg_buf.get();
  T* dgh = gru ? dgh_buf.get() : dg;
  auto dh_buf = scratch<T>(H * N), dc_buf = scratch<T>(lstm ? H * N : 0);
  T* dh = dh_buf.get();  // (H, N): the gradient of the h the current step made
  T* dc = dc_buf.get();
  k.transpose(dout + slot_of(time_of(T_ - 1)) * N * H, H, H, dh, N, 0, N, 0);
  if (lstm) k.transpose(dout + (T_ + 1) * N * H, H, H, dc, N, 0, N, 0);
  auto packed = pack_recurrent(uk, true, H, GH, w_hh, H, T_, nthreads);  // W_hh^T (H, GH)

  for (int64_t step = T_ - 1; step >= 0; --step) {
    const int64_t t = time_of(step);
    over_units(H, N * 8, nthreads, [&](int64_t j0, int64_t j1) {
      if (lstm)
        k.lstm_backward(gates + t * N, TN, cs + step * N, SN, cs + (step + 1) * N, SN, dh, N, dc, N, dg + t * N, TN,
                        H, N, j0, j1);
      else if (gru)
        k.gru_backward(gates + t * N, TN, gh + t * N, TN, hs + step * N, SN, dh, N, dg + t * N, dgh + t * N, TN, H, N,
                       j0, j1);
      else
        k.rnn_backward(gates + t * N, TN, dh, N, dg + t * N, TN, N, j0, j1, relu);
    });
    // dh_{t-1} = dout of h_{t-1} (+ the GRU's direct path, already in dh) + W_hh^T dgates_t
    const int64_t prev_slot = step > 0 ? slot_of(time_of(step - 1)) : h0_slot;
    k.transpose(dout + prev_slot * N * H, H, H, dh, N, 0, N, gru ? 1 : 0);
    recurrent_product(uk, packed.get(), true, w_hh, H, H, N, GH, dgh + t * N, TN, T(1), dh, N, nthreads);
  }
  k.transpose(dh, N, N, dh0, H, 0, H, 0);
  if (lstm) k.transpose(dc, N, N, dc0, H, 0, H, 0);

  // The weight gradients over all T*N columns at once: one GEMM each, a fixed summation order.
  if (dw_ih) gemm::gemm<T>(uk, false, false, GH, I, TN, T(1), dg, TN, x, I, T(0), dw_ih, I, nullptr, false, nthreads);
  if (dw_hh) {
    const T* h_prev = out + (s.reverse ? 1 : 0) * N * H;  // (T*N, H): the h that fed each time step
    gemm::gemm<T>(uk, false, false, GH, H, TN, T(1), dgh, TN, h_prev, H, T(0), dw_hh, H, nullptr, false, nthreads);
  }
  if (dx) gemm::gemm<T>(uk, true, false, TN, I, GH, T(1), dg, TN, w_ih, I, T(0), dx, I, nullptr, false, nthreads);
  auto bias_grad = [&](const T* src, T* db) {
    parallel_ranges(GH, TN, 32768, nthreads, [&](int64_t r0, int64_t r1) { k.row_sum(src, TN, TN, db, r0, r1); });
  };
  if (db_ih) bias_grad(dg, db_ih);
  if (db_hh) {
    if (gru || !db_ih)
      bias_grad(dgh, db_hh);
    else
      std::copy(db_ih, db_ih + GH, db_hh);  // the same sum: b_ih and b_hh enter the gates alike
  }
}

#define FE_INSTANTIATE(T)                                                                                        \
  template void forward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const Shape&, const T*, const T*, const T*, \
                           const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*, int);                      \
  template void backward<T>(const Kernels<T>&, const gemm::UKernel<T>&, const Shape&, const T*, const T*, const T*, \
                            const T*, const T*, const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*, T*, T*, \
                            int);
FE_INSTANTIATE(float)
FE_INSTANTIATE(double)
#undef FE_INSTANTIATE

}  // namespace rnn
}  // namespace fe
