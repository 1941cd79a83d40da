// Attention kernels (attention.h), compiled once per ISA level (common/isa.h). Written with GCC's
// vector extensions at the level's register width (16 bytes at the scalar level, which is x86-64's
// SSE2 baseline, 32 with AVX2, 64 with AVX-512), so one source gives each level its own code.
//
// The three small products of a block (scores Q K^T, P V, and the backward's dP, dV, dK, dQ) run on
// one register-blocked microkernel, `tile`: an RB x NV-vector block of C stays in registers while
// each step of the reduction loads NV vectors of a B row and broadcasts RB values of A (the gemm
// family's scheme, without its packing: every B operand here is a block that is already contiguous,
// or is copied into one, zero-padded to whole vectors). Blocks are kBc = 64 keys by kBr = 64 queries.
// Everything but the fill functions has internal linkage.
#include "common/isa.h"
#include "common/simd_math.h"
#include "kernels/attention/attention.h"

namespace fe {
namespace attention {
namespace {

#if FE_ISA == 2
constexpr int kVecBytes = 64, kRB = 6, kNV = 4;  // 24 of 32 zmm registers hold C
#elif FE_ISA == 1
constexpr int kVecBytes = 32, kRB = 6, kNV = 2;  // 12 of 16 ymm
#else
constexpr int kVecBytes = 16, kRB = 4, kNV = 2;  // 8 of 16 xmm
#endif
constexpr int64_t kBr = 64, kBc = 64;  // query rows, key columns of a block

template <class T>
struct VT;
template <>
struct VT<float> {
  typedef float type __attribute__((vector_size(kVecBytes)));
  typedef int32_t itype __attribute__((vector_size(kVecBytes)));
};
template <>
struct VT<double> {
  typedef double type __attribute__((vector_size(kVecBytes)));
};

template <class T>
constexpr int64_t lanes() {
  return kVecBytes / static_cast<int64_t>(sizeof(T));
}
inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }
inline int64_t min_(int64_t a, int64_t b) { return a < b ? a : b; }

template <class V, class T>
inline V load(const T* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <class V, class T>
inline void store(T* p, const V& v) {
  __builtin_memcpy(p, &v, sizeof v);
}
template <class V, class T>
inline V splat(T x) {
  return V{} + x;
}

// exp on a vector. float: Cephes' expf (common/simd_math.h), about 1 ulp; arguments below -87 (results
// under FLT_MIN, which only ever meet a row sum of at least 1) give 0, -inf gives 0, NaN stays NaN.
// double: the library's exp per lane (the double kernels are for checking, not speed).
inline VT<float>::type vexp(VT<float>::type x) {
  using V = VT<float>::type;
  using VI = VT<float>::itype;
  const V lo = splat<V>(-87.0f), hi = splat<V>(88.5f);
  const V xc = x < lo ? lo : (x > hi ? hi : x);
  const V fx = xc * 1.44269504088896341f + 0.5f;
  V fl = __builtin_convertvector(__builtin_convertvector(fx, VI), V);
  fl = fl > fx ? fl - 1.0f : fl;  // floor
  const V r = xc - fl * 0.693359375f + fl * 2.12194440e-4f;
  V p = splat<V>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const VI bits = (__builtin_convertvector(fl, VI) + 127) << 23;
  V two_n;
  __builtin_memcpy(&two_n, &bits, sizeof two_n);
  const V y = p * two_n;
  return x < lo ? V{} : y;
}
inline VT<double>::type vexp(VT<double>::type x) {
  VT<double>::type y;
  for (int l = 0; l < static_cast<int>(lanes<double>()); ++l) y[l] = __builtin_exp(x[l]);
  return y;
}
inline float exp1(float x) { return __builtin_expf(x); }
inline double exp1(double x) { return __builtin_exp(x); }
inline float log1(float x) { return __builtin_logf(x); }
inline double log1(double x) { return __builtin_log(x); }

template <class T>
constexpr T kNegInf = -__builtin_huge_val();

// C (RB x NV vectors, row stride ldc) = (acc ? C : 0) + A (RB x K, row stride lda) B (K x NV vectors,
// row stride ldb): per step of k, NV loads of B's row and RB broadcasts of A's column.
template <class T, int RB, int NV>
void tile(int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc, bool acc) {
  using V = typename VT<T>::type;
  constexpr int64_t VL = lanes<T>();
  V c[RB][NV];
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < NV; ++v) c[r][v] = acc ? load<V>(C + r * ldc + v * VL) : V{};
  for (int64_t kk = 0; kk < K; ++kk) {
    V b[NV];
    for (int v = 0; v < NV; ++v) b[v] = load<V>(B + kk * ldb + v * VL);
    for (int r = 0; r < RB; ++r) {
      const T a = A[r * lda + kk];
      for (int v = 0; v < NV; ++v) c[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < NV; ++v) store(C + r * ldc + v * VL, c[r][v]);
}

template <class T>
using TileFn = void (*)(int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t, bool);

template <class T, int NV>
TileFn<T> tile_rows(int rows) {
  switch (rows) {
    case 1: return &tile<T, 1, NV>;
    case 2: return &tile<T, 2, NV>;
    case 3: return &tile<T, 3, NV>;
    case 4: return &tile<T, 4, NV>;
    case 5: return &tile<T, 5, NV>;
    default: return &tile<T, 6, NV>;
  }
}

template <class T>
TileFn<T> tile_for(int rows, int nv) {
  switch (nv) {
    case 1: return tile_rows<T, 1>(rows);
    case 2: return tile_rows<T, 2>(rows);
    case 3: return tile_rows<T, 3>(rows);
    default: return tile_rows<T, 4>(rows);
  }
}

// C (M x N) = (acc ? C : 0) + A (M x K) B (K x N), N a multiple of the vector width; B's and C's rows
// hold N elements (padded), A is read with row stride lda. Column panels of B outer (a panel stays
// in L1 while A's rows stream past it), RB-row tiles inner.
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
          bool acc) {
  constexpr int64_t VL = lanes<T>();
  const int64_t nv = N / VL;
  for (int64_t j = 0; j < nv; j += kNV) {
    const int w = static_cast<int>(min_(kNV, nv - j));
    const TileFn<T> full = tile_for<T>(kRB, w);
    int64_t i = 0;
    for (; i + kRB <= M; i += kRB) full(K, A + i * lda, lda, B + j * VL, ldb, C + i * ldc + j * VL, ldc, acc);
    if (i < M) tile_for<T>(static_cast<int>(M - i), w)(K, A + i * lda, lda, B + j * VL, ldb, C + i * ldc + j * VL, ldc, acc);
  }
}

// dst (cols x ld, first `rows` columns) = src (rows x cols, row stride lds) transposed; columns
// rows..ld-1 of dst are zeroed.
template <class T>
void transpose(const T* src, int64_t rows, int64_t cols, int64_t lds, T* dst, int64_t ld) {
  for (int64_t c = 0; c < cols; ++c) {
    T* d = dst + c * ld;
    for (int64_t r = 0; r < rows; ++r) d[r] = src[r * lds + c];
    for (int64_t r = rows; r < ld; ++r) d[r] = 0;
  }
}

// dst (rows x ld) = src (rows x cols, row stride lds), each row zero-padded to ld.
template <class T>
void pad_rows(const T* src, int64_t rows, int64_t cols, int64_t lds, T* dst, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[r * ld + c] = src[r * lds + c];
    for (int64_t c = cols; c < ld; ++c) dst[r * ld + c] = 0;
  }
}

// One row of scores s[0, kBc) for query i and keys j0 + [0, kBc): scaled, masked (additive, bool,
// causal j > i, and the columns past the block's bc keys), in place.
template <class T>
inline void mask_row(const Problem<T>& p, T* s, int64_t g, int64_t h, int64_t i, int64_t j0, int64_t bc) {
  using V = typename VT<T>::type;
  constexpr int64_t VL = lanes<T>();
  const T ninf = kNegInf<T>;
  for (int64_t j = 0; j < kBc; j += VL) store(s + j, load<V>(s + j) * p.scale);
  const int64_t off = g * p.mask_sg + h * p.mask_sh + i * p.mask_sl + j0;
  if (p.mask) {
    const T* m = p.mask + off;
    for (int64_t j = 0; j < bc; ++j) s[j] += m[j];
  } else if (p.mask_bool) {
    const uint8_t* m = p.mask_bool + off;
    for (int64_t j = 0; j < bc; ++j) s[j] = m[j] ? s[j] : ninf;
  }
  int64_t lim = bc;  // keys at or past lim are masked
  if (p.causal && i - j0 + 1 < lim) lim = i - j0 + 1 > 0 ? i - j0 + 1 : 0;
  for (int64_t j = lim; j < kBc; ++j) s[j] = ninf;
}

template <class T>
inline T row_max(const T* s) {
  using V = typename VT<T>::type;
  constexpr int64_t VL = lanes<T>();
  V m = load<V>(s);
  for (int64_t j = VL; j < kBc; j += VL) {
    const V x = load<V>(s + j);
    m = x > m ? x : m;
  }
  T r = m[0];
  for (int l = 1; l < VL; ++l) r = m[l] > r ? m[l] : r;
  return r;
}

// s[j] = exp(s[j] - sub) over the block's row; returns the sum (lanes combined in a fixed order).
template <class T>
inline T exp_row(T* s, T sub) {
  using V = typename VT<T>::type;
  constexpr int64_t VL = lanes<T>();
  V acc{};
  for (int64_t j = 0; j < kBc; j += VL) {
    const V e = vexp(load<V>(s + j) - sub);
    store(s + j, e);
    acc += e;
  }
  T r = 0;
  for (int l = 0; l < VL; ++l) r += acc[l];
  return r;
}

// ---- forward ------------------------------------------------------------------------------------

template <class T>
int64_t forward_workspace(const Problem<T>& p) {
  constexpr int64_t VL = lanes<T>();
  const int64_t Evp = round_up(p.Ev, VL);
  // Kt (E x kBc), V block (kBc x Evp), scores (kBr x kBc), O (kBr x Evp), m, l
  return p.E * kBc + kBc * Evp + kBr * kBc + kBr * Evp + 2 * kBr + 4 * VL;
}

template <class T>
void forward_block(const Problem<T>& p, int64_t gh, int64_t i0, T* work) {
  using V = typename VT<T>::type;
  constexpr int64_t VL = lanes<T>();
  const int64_t g = gh / p.H, h = gh % p.H, hk = h / (p.H / p.Hkv);
  const int64_t E = p.E, Ev = p.Ev, Evp = round_up(Ev, VL), S = p.S;
  const int64_t br = min_(kBr, p.L - i0);
  const T* Q = p.q + (gh * p.L + i0) * E;
  const T* K = p.k + (g * p.Hkv + hk) * S * E;
  const T* Vv = p.v + (g * p.Hkv + hk) * S * Ev;
  T* Kt = work;
  T* Vp = Kt + E * kBc;
  T* Sb = Vp + kBc * Evp;
  T* O = Sb + kBr * kBc;
  T* m = O + kBr * Evp;
  T* l = m + kBr;
  const T ninf = kNegInf<T>;
  for (int64_t r = 0; r < br; ++r) m[r] = ninf, l[r] = 0;
  for (int64_t x = 0; x < br * Evp; ++x) O[x] = 0;
  const int64_t jend = p.causal ? min_(S, i0 + br) : S;
  for (int64_t j0 = 0; j0 < jend; j0 += kBc) {
    const int64_t bc = min_(kBc, S - j0);
    transpose(K + j0 * E, bc, E, E, Kt, kBc);
    gemm(br, kBc, E, Q, E, Kt, kBc, Sb, kBc, false);
    for (int64_t r = 0; r < br; ++r) {
      T* s = Sb + r * kBc;
      mask_row(p, s, g, h, i0 + r, j0, bc);
      const T mx = row_max(s);
      const T mnew = mx > m[r] ? mx : m[r];
      if (mnew == ninf) {  // no key so far: P = 0, nothing to add
        for (int64_t j = 0; j < kBc; ++j) s[j] = 0;
        continue;
      }
      const T alpha = exp1(m[r] - mnew);  // 0 on the first keys (m = -inf)
      l[r] = l[r] * alpha + exp_row(s, mnew);
      m[r] = mnew;
      if (alpha != T(1)) {
        T* o = O + r * Evp;
        for (int64_t c = 0; c < Evp; c += VL) store(o + c, load<V>(o + c) * alpha);
      }
    }
    const T* Vb = Vv + j0 * Ev;
    int64_t ldv = Ev;
    if (Ev != Evp) {
      pad_rows(Vb, bc, Ev, Ev, Vp, Evp);
      Vb = Vp;
      ldv = Evp;
    }
    gemm(br, Evp, bc, Sb, kBc, Vb, ldv, O, Evp, true);
  }
  T* out = p.o + (gh * p.L + i0) * Ev;
  T* lse = p.lse + gh * p.L + i0;
  for (int64_t r = 0; r < br; ++r) {
    const bool empty = l[r] == T(0);
    const T inv = empty ? T(0) : T(1) / l[r];
    for (int64_t c = 0; c < Ev; ++c) out[r * Ev + c] = O[r * Evp + c] * inv;
    lse[r] = empty ? ninf : m[r] + log1(l[r]);
  }
}

// ---- backward -----------------------------------------------------------------------------------

template <class T>
int64_t backward_workspace(const Problem<T>& p) {
  constexpr int64_t VL = lanes<T>();
  const int64_t Ep = round_up(p.E, VL), Evp = round_up(p.Ev, VL), rep = p.H / p.Hkv;
  // Kt (E x kBc), Vt (Ev x kBc), K block (kBc x Ep), dK, dV blocks, S, dP (kBr x kBc), P^T / dS^T
  // (kBc x kBr), Q block (kBr x Ep), dO block (kBr x Evp), D (rep x L), dQ (rep x L x Ep)
  return p.E * kBc + p.Ev * kBc + kBc * Ep + kBc * Ep + kBc * Evp + 2 * kBr * kBc + kBc * kBr + kBr * Ep +
         kBr * Evp + rep * p.L + rep * p.L * Ep + 8 * VL;
}

template <class T>
void backward_group(const Problem<T>& p, int64_t grp, T* work) {
  constexpr int64_t VL = lanes<T>();
  const int64_t E = p.E, Ev = p.Ev, Ep = round_up(E, VL), Evp = round_up(Ev, VL), S = p.S, L = p.L;
  const int64_t rep = p.H / p.Hkv, g = grp / p.Hkv;
  const T* K = p.k + grp * S * E;
  const T* Vv = p.v + grp * S * Ev;
  T* Kt = work;
  T* Vt = Kt + E * kBc;
  T* Kp = Vt + Ev * kBc;
  T* dKb = Kp + kBc * Ep;
  T* dVb = dKb + kBc * Ep;
  T* Sb = dVb + kBc * Evp;
  T* dP = Sb + kBr * kBc;
  T* Tt = dP + kBr * kBc;
  T* Qp = Tt + kBc * kBr;
  T* dOp = Qp + kBr * Ep;
  T* D = dOp + kBr * Evp;
  T* dQ = D + rep * L;
  const T ninf = kNegInf<T>;
  for (int64_t x = 0; x < rep * L * Ep; ++x) dQ[x] = 0;
  for (int64_t hh = 0; hh < rep; ++hh) {  // D = rowsum(dO * O)
    const int64_t gh = g * p.H + (grp % p.Hkv) * rep + hh;
    const T* o = p.o + gh * L * Ev;
    const T* d = p.dout + gh * L * Ev;
    for (int64_t i = 0; i < L; ++i) {
      T acc = 0;
      for (int64_t c = 0; c < Ev; ++c) acc += o[i * Ev + c] * d[i * Ev + c];
      D[hh * L + i] = acc;
    }
  }
  for (int64_t j0 = 0; j0 < S; j0 += kBc) {
    const int64_t bc = min_(kBc, S - j0);
    transpose(K + j0 * E, bc, E, E, Kt, kBc);
    transpose(Vv + j0 * Ev, bc, Ev, Ev, Vt, kBc);
    const T* Kb = K + j0 * E;
    int64_t ldk = E;
    if (E != Ep) {
      pad_rows(Kb, bc, E, E, Kp, Ep);
      Kb = Kp;
      ldk = Ep;
    }
    for (int64_t x = 0; x < kBc * Ep; ++x) dKb[x] = 0;
    for (int64_t x = 0; x < kBc * Evp; ++x) dVb[x] = 0;
    const int64_t istart = p.causal ? j0 / kBr * kBr : 0;  // earlier query blocks see none of these keys
    for (int64_t hh = 0; hh < rep; ++hh) {
      const int64_t h = (grp % p.Hkv) * rep + hh, gh = g * p.H + h;
      for (int64_t i0 = istart; i0 < L; i0 += kBr) {
        const int64_t br = min_(kBr, L - i0);
        const T* Q = p.q + (gh * L + i0) * E;
        const T* dO = p.dout + (gh * L + i0) * Ev;
        const T* lse = p.lse + gh * L + i0;
        const T* Dr = D + hh * L + i0;
        gemm(br, kBc, E, Q, E, Kt, kBc, Sb, kBc, false);  // S
        gemm(br, kBc, Ev, dO, Ev, Vt, kBc, dP, kBc, false);  // dP = dO V^T
        bool any = false;
        for (int64_t r = 0; r < br; ++r) {
          T* s = Sb + r * kBc;
          T* dp = dP + r * kBc;
          if (lse[r] == ninf) {  // a row with no key: P = 0
            for (int64_t j = 0; j < kBc; ++j) s[j] = 0, dp[j] = 0;
            continue;
          }
          mask_row(p, s, g, h, i0 + r, j0, bc);
          exp_row(s, lse[r]);  // P
          const T dr = Dr[r];
          for (int64_t j = 0; j < kBc; ++j) dp[j] = s[j] * (dp[j] - dr);  // dS
          any = true;
        }
        if (!any) continue;
        // dV += P^T dO, dK += dS^T Q, dQ += dS K
        transpose(Sb, br, bc, kBc, Tt, kBr);
        const T* dOb = dO;
        int64_t ldo = Ev;
        if (Ev != Evp) {
          pad_rows(dO, br, Ev, Ev, dOp, Evp);
          dOb = dOp;
          ldo = Evp;
        }
        gemm(bc, Evp, br, Tt, kBr, dOb, ldo, dVb, Evp, true);
        transpose(dP, br, bc, kBc, Tt, kBr);
        const T* Qb = Q;
        int64_t ldq = E;
        if (E != Ep) {
          pad_rows(Q, br, E, E, Qp, Ep);
          Qb = Qp;
          ldq = Ep;
        }
        gemm(bc, Ep, br, Tt, kBr, Qb, ldq, dKb, Ep, true);
        gemm(br, Ep, bc, dP, kBc, Kb, ldk, dQ + (hh * L + i0) * Ep, Ep, true);
      }
    }
    T* dk = p.dk + (grp * S + j0) * E;
    T* dv = p.dv + (grp * S + j0) * Ev;
    for (int64_t j = 0; j < bc; ++j) {
      for (int64_t c = 0; c < E; ++c) dk[j * E + c] = dKb[j * Ep + c] * p.scale;
      for (int64_t c = 0; c < Ev; ++c) dv[j * Ev + c] = dVb[j * Evp + c];
    }
  }
  for (int64_t hh = 0; hh < rep; ++hh) {
    const int64_t gh = g * p.H + (grp % p.Hkv) * rep + hh;
    T* dq = p.dq + gh * L * E;
    for (int64_t i = 0; i < L; ++i)
      for (int64_t c = 0; c < E; ++c) dq[i * E + c] = dQ[(hh * L + i) * Ep + c] * p.scale;
  }
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->block_q = kBr;
  k->forward_workspace = &forward_workspace<T>;
  k->backward_workspace = &backward_workspace<T>;
  k->forward_block = &forward_block<T>;
  k->backward_group = &backward_group<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace attention
}  // namespace fe
