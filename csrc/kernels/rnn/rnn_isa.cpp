// Gate kernels of the recurrent layers (see rnn.h), compiled once per ISA level (common/isa.h): plain
// loops over the batch columns of one gate unit, which the compiler vectorises with
// that file's flags. The non-linearities are written as arithmetic (no library call in the float
// loops), and each kernel fuses them with the state update, so a step's gates are read once.
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "common/simd_math.h"
#include "kernels/rnn/rnn.h"

namespace fe {
namespace rnn {
namespace {

// exp for the gates' float sigmoid and tanh, as plain arithmetic: Cephes' expf polynomial (2^n times
// a polynomial on [-ln2/2, ln2/2], about 1 ulp) with the argument clamped to [-87.3, 88.3], where 2^n
// is one normal float. Clamping changes nothing the gates can see (sigmoid(x) is 1 to the last bit
// above 17 and below 4e-39 under -88; tanh is +-1 beyond 9), and without softmax_isa.cpp's
// gradual-underflow and NaN selects the loops run 1.7x faster. NaN still propagates (through the
// polynomial).
inline float exp_gate(float x) {
  const float xc = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  const float fx = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  const float poly = expf_poly(xc - fx * 0.693359375f + fx * 2.12194440e-4f);
  const unsigned bits = static_cast<unsigned>(static_cast<int>(fx) + 127) << 23;  // 2^n, n in [-126, 127]
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return poly * scale;
}

// sigmoid(x) = 1 / (1 + exp(-x)), within 2 ulp of the exact value.
inline float sigmoid_(float x) { return 1.0f / (1.0f + exp_gate(-x)); }
inline double sigmoid_(double x) { return 1.0 / (1.0 + __builtin_exp(-x)); }

// tanh for float: Cephes' tanhf. Near 0 an odd polynomial (1 - 2/(e^2x + 1) would lose the relative
// precision of small values to cancellation), elsewhere 1 - 2/(exp(2|x|) + 1) with x's sign; both are
// computed and one selected, so the loop stays branch-free.
inline float tanh_(float x) {
  const float ax = x < 0.0f ? -x : x;
  const float z = x * x;
  const float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                        1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
  const float big = 1.0f - 2.0f / (exp_gate(2.0f * ax) + 1.0f);
  return ax < 0.625f ? small : (x < 0.0f ? -big : big);
}
inline double tanh_(double x) { return __builtin_tanh(x); }

// The rows a gate kernel reads and writes never overlap, but GCC takes __restrict__ on a local
// pointer only as a hint and would version each loop on run-time alias checks, which it gives up on
// past a few pointers (the LSTM's seven): the loop then ran scalar, 6x slower. ivdep says it for sure.
#define FE_RNN_ROWS_APART _Pragma("GCC ivdep")

template <class T>
void rnn_forward_body(T* pre, int64_t ldp, const T* bias, T* h, int64_t N, int64_t j0, int64_t j1, int relu) {
  for (int64_t j = j0; j < j1; ++j) {
    T* p = pre + j * ldp;
    T* hj = h + j * N;
    const T b = bias ? bias[j] : T(0);
    if (relu) {
      FE_RNN_ROWS_APART
      for (int64_t n = 0; n < N; ++n) {
        const T v = p[n] + b;
        const T a = v > T(0) ? v : (v != v ? v : T(0));  // NaN stays NaN
        p[n] = a;
        hj[n] = a;
      }
    } else {
      FE_RNN_ROWS_APART
      for (int64_t n = 0; n < N; ++n) {
        const T a = tanh_(p[n] + b);
        p[n] = a;
        hj[n] = a;
      }
    }
  }
}

template <class T>
void rnn_backward_body(const T* hs, int64_t ldh, const T* dh, T* dstep, int64_t N, int64_t j0, int64_t j1, int relu) {
  for (int64_t j = j0; j < j1; ++j) {
    const T* hj = hs + j * ldh;
    const T* d = dh + j * N;
    T* step = dstep + j * N;
    FE_RNN_ROWS_APART
    for (int64_t n = 0; n < N; ++n)  // tanh' = 1 - tanh^2
      step[n] = relu ? (hj[n] > T(0) ? d[n] : T(0)) : d[n] * (T(1) - hj[n] * hj[n]);
  }
}

template <class T>
void lstm_forward_body(T* gates, int64_t ldg, const T* bias, const T* c_prev, T* c, T* tc, T* h, int64_t H,
                       int64_t N, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; ++j) {
    T* gi = gates + j * ldg;            // input gate
    T* gf = gates + (H + j) * ldg;      // forget gate
    T* gg = gates + (2 * H + j) * ldg;  // cell candidate
    T* go = gates + (3 * H + j) * ldg;  // output gate
    const T* cp = c_prev + j * N;
    T* cj = c + j * N;
    T* tj = tc + j * N;
    T* hj = h + j * N;
    const T bi = bias ? bias[j] : T(0), bf = bias ? bias[H + j] : T(0);
    const T bg = bias ? bias[2 * H + j] : T(0), bo = bias ? bias[3 * H + j] : T(0);
    FE_RNN_ROWS_APART
    for (int64_t n = 0; n < N; ++n) {
      const T i = sigmoid_(gi[n] + bi), f = sigmoid_(gf[n] + bf);
      const T g = tanh_(gg[n] + bg), o = sigmoid_(go[n] + bo);
      const T cn = f * cp[n] + i * g;
      const T t = tanh_(cn);
      gi[n] = i;
      gf[n] = f;
      gg[n] = g;
      go[n] = o;
      cj[n] = cn;
      tj[n] = t;
      hj[n] = o * t;
    }
  }
}

template <class T>
void lstm_backward_body(const T* gates, int64_t ldg, const T* c_prev, const T* tc, const T* dh, T* dc, T* dstep,
                        int64_t H, int64_t N, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; ++j) {
    const T* gi = gates + j * ldg;
    const T* gf = gates + (H + j) * ldg;
    const T* gg = gates + (2 * H + j) * ldg;
    const T* go = gates + (3 * H + j) * ldg;
    const T* cp = c_prev + j * N;
    const T* tj = tc + j * N;
    const T* d = dh + j * N;
    T* dcj = dc + j * N;
    T* di = dstep + j * N;
    T* df = dstep + (H + j) * N;
    T* dg = dstep + (2 * H + j) * N;
    T* dout = dstep + (3 * H + j) * N;
    FE_RNN_ROWS_APART
    for (int64_t n = 0; n < N; ++n) {
      const T i = gi[n], f = gf[n], g = gg[n], o = go[n], t = tj[n];
      const T dcn = dcj[n] + d[n] * o * (T(1) - t * t);  // h = o * tanh(c)
      di[n] = dcn * g * i * (T(1) - i);                   // c = f * c_prev + i * g
      df[n] = dcn * cp[n] * f * (T(1) - f);
      dg[n] = dcn * i * (T(1) - g * g);
      dout[n] = d[n] * t * o * (T(1) - o);
      dcj[n] = dcn * f;  // the gradient reaching c_prev
    }
  }
}

template <class T>
void gru_forward_body(T* gx, int64_t ldx, T* gh, int64_t ldh_g, const T* b_ih, const T* b_hh, const T* h_prev, T* h,
                      int64_t H, int64_t N, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; ++j) {
    T* xr = gx + j * ldx;
    T* xz = gx + (H + j) * ldx;
    T* xn = gx + (2 * H + j) * ldx;
    const T* hr = gh + j * ldh_g;
    const T* hz = gh + (H + j) * ldh_g;
    T* hn = gh + (2 * H + j) * ldh_g;
    const T* hp = h_prev + j * N;
    T* hj = h + j * N;
    const T br = (b_ih ? b_ih[j] : T(0)) + (b_hh ? b_hh[j] : T(0));
    const T bz = (b_ih ? b_ih[H + j] : T(0)) + (b_hh ? b_hh[H + j] : T(0));
    const T bin = b_ih ? b_ih[2 * H + j] : T(0), bhn = b_hh ? b_hh[2 * H + j] : T(0);
    FE_RNN_ROWS_APART
    for (int64_t n = 0; n < N; ++n) {
      const T r = sigmoid_(xr[n] + hr[n] + br);  // reset gate
      const T z = sigmoid_(xz[n] + hz[n] + bz);  // update gate
      const T hnb = hn[n] + bhn;
      const T nn = tanh_(xn[n] + bin + r * hnb);  // candidate
      xr[n] = r;
      xz[n] = z;
      xn[n] = nn;
      hn[n] = hnb;
      hj[n] = nn + z * (hp[n] - nn);  // (1 - z) * n + z * h_prev
    }
  }
}

template <class T>
void gru_backward_body(const T* gx, int64_t ldx, const T* gh, int64_t ldh_g, const T* h_prev, T* dh, T* dgx, T* dgh,
                       int64_t ldd, T* dstep, int64_t H, int64_t N, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; ++j) {
    const T* xr = gx + j * ldx;
    const T* xz = gx + (H + j) * ldx;
    const T* xn = gx + (2 * H + j) * ldx;
    const T* hn = gh + (2 * H + j) * ldh_g;
    const T* hp = h_prev + j * N;
    T* d = dh + j * N;
    T* dxr = dgx + j * ldd;
    T* dxz = dgx + (H + j) * ldd;
    T* dxn = dgx + (2 * H + j) * ldd;
    T* dhr = dgh + j * ldd;
    T* dhz = dgh + (H + j) * ldd;
    T* dhn = dgh + (2 * H + j) * ldd;
    T* sr = dstep + j * N;
    T* sz = dstep + (H + j) * N;
    T* sn = dstep + (2 * H + j) * N;
    FE_RNN_ROWS_APART
    for (int64_t n = 0; n < N; ++n) {
      const T r = xr[n], z = xz[n], nn = xn[n], dn_ = d[n];
      const T dn_pre = dn_ * (T(1) - z) * (T(1) - nn * nn);  // through n = tanh(.)
      const T dz_pre = dn_ * (hp[n] - nn) * z * (T(1) - z);
      const T dr_pre = dn_pre * hn[n] * r * (T(1) - r);      // n's argument has r * (W_hn h + b_hn)
      const T dhn_pre = dn_pre * r;
      dxr[n] = dr_pre;
      dhr[n] = dr_pre;
      dxz[n] = dz_pre;
      dhz[n] = dz_pre;
      dxn[n] = dn_pre;
      dhn[n] = dhn_pre;
      sr[n] = dr_pre;
      sz[n] = dz_pre;
      sn[n] = dhn_pre;
      d[n] = dn_ * z;  // the direct path h_prev -> h
    }
  }
}

// Row sums with kLanes partial sums combined in a fixed order: vectorisable and reproducible.
constexpr int kLanes = 16;

template <class T>
void row_sum_body(const T* a, int64_t lda, int64_t cols, T* out, int64_t r0, int64_t r1, int accumulate) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* __restrict__ row = a + r * lda;
    T acc[kLanes] = {};
    int64_t c = 0;
    for (; c + kLanes <= cols; c += kLanes)
      for (int l = 0; l < kLanes; ++l) acc[l] += row[c + l];
    T tail = T(0);
    for (; c < cols; ++c) tail += row[c];
    for (int w = kLanes / 2; w > 0; w /= 2)
      for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
    out[r] = accumulate ? out[r] + (acc[0] + tail) : acc[0] + tail;
  }
}

// Transposes in 8x8 tiles: with AVX each tile is eight loads, a shuffle network and eight stores
// (float; double goes as four 4x4 tiles; common/simd_math.h); edges and the scalar level go element
// by element.
template <class T>
inline void transpose_tile_scalar(const T* src, int64_t lds, T* dst, int64_t ldd, int64_t rows, int64_t cols,
                                  int add) {
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) {
      const T v = src[r * lds + c];
      dst[c * ldd + r] = add ? dst[c * ldd + r] + v : v;
    }
}

#ifdef __AVX__
inline void transpose_8x8(const float* src, int64_t lds, float* dst, int64_t ldd, int add) {
  transpose_8x8_ps(src, lds, dst, ldd, add);
}

inline void transpose_8x8(const double* src, int64_t lds, double* dst, int64_t ldd, int add) {
  for (int a = 0; a < 8; a += 4)
    for (int b = 0; b < 8; b += 4) transpose_4x4_pd(src + a * lds + b, lds, dst + b * ldd + a, ldd, add);
}
#endif

template <class T>
void transpose_body(const T* src, int64_t lds, T* dst, int64_t ldd, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                    int add) {
  int64_t r = r0;
#ifdef __AVX__
  for (; r + 8 <= r1; r += 8) {
    int64_t c = c0;
    for (; c + 8 <= c1; c += 8) transpose_8x8(src + r * lds + c, lds, dst + c * ldd + r, ldd, add);
    transpose_tile_scalar(src + r * lds + c, lds, dst + c * ldd + r, ldd, 8, c1 - c, add);
  }
#endif
  if (r < r1) transpose_tile_scalar(src + r * lds + c0, lds, dst + c0 * ldd + r, ldd, r1 - r, c1 - c0, add);
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->rnn_forward = rnn_forward_body<T>;
  k->rnn_backward = rnn_backward_body<T>;
  k->lstm_forward = lstm_forward_body<T>;
  k->lstm_backward = lstm_backward_body<T>;
  k->gru_forward = gru_forward_body<T>;
  k->gru_backward = gru_backward_body<T>;
  k->row_sum = row_sum_body<T>;
  k->transpose = transpose_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace rnn
}  // namespace fe
