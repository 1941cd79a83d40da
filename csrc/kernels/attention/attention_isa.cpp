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
  typedef int32_t mtype __attribute__((vector_size(kVecBytes)));     // a lane mask of `type`
  typedef uint32_t utype __attribute__((vector_size(kVecBytes)));    // 32-bit hashes, one per lane
};
template <>
struct VT<double> {
  typedef double type __attribute__((vector_size(kVecBytes)));
  typedef int64_t mtype __attribute__((vector_size(kVecBytes)));
  typedef uint32_t utype __attribute__((vector_size(kVecBytes / 2)));
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

// Dropout: the multipliers (drop_scale where kept, 0 where dropped) of queries i .. i + lanes - 1
// against the key whose row key (dropout_row_key) is `key`: dropout_hash (attention.h), a lane each.
template <class T>
struct Dropper {
  using V = typename VT<T>::type;
  using U = typename VT<T>::utype;
  using M = typename VT<T>::mtype;
  U steps, threshold;  // lane l: l * kDropoutLaneStep
  V scale;
  explicit Dropper(const Problem<T>& p) : threshold(U{} + p.drop_threshold), scale(splat<V>(p.drop_scale)) {
    for (int l = 0; l < static_cast<int>(lanes<T>()); ++l) steps[l] = static_cast<uint32_t>(l) * kDropoutLaneStep;
  }
  V operator()(uint32_t key, int64_t i) const {
    const U x = dropout_hash((U{} + key) ^ (steps + static_cast<uint32_t>(i) * kDropoutLaneStep));
    const M keep = __builtin_convertvector(x >= threshold, M);
    return keep ? scale : V{};
  }
};

// C (RB x NV vectors, row stride ldc) = (acc ? C diag(cs) : 0) + A (RB x K, row stride lda) B (K x NV
// vectors, row stride ldb): per step of k, NV loads of B's row and RB broadcasts of A's column. cs (null:
// no scaling) scales C's columns as it is loaded.
template <class T, int RB, int NV, bool kAcc>
void tile(int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc, const T* cs) {
  using V = typename VT<T>::type;
  constexpr int64_t VL = lanes<T>();
  V c[RB][NV];
  if (kAcc && cs) {
    V sc[NV];
    for (int v = 0; v < NV; ++v) sc[v] = load<V>(cs + v * VL);
    for (int r = 0; r < RB; ++r)
      for (int v = 0; v < NV; ++v) c[r][v] = load<V>(C + r * ldc + v * VL) * sc[v];
  } else {
    for (int r = 0; r < RB; ++r)
      for (int v = 0; v < NV; ++v) c[r][v] = kAcc ? load<V>(C + r * ldc + v * VL) : V{};
  }
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
using TileFn = void (*)(int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t, const T*);

template <class T, int NV, bool kAcc>
TileFn<T> tile_rows(int rows) {
  switch (rows) {
    case 1: return &tile<T, 1, NV, kAcc>;
    case 2: return &tile<T, 2, NV, kAcc>;
    case 3: return &tile<T, 3, NV, kAcc>;
    case 4: return &tile<T, 4, NV, kAcc>;
    case 5: return &tile<T, 5, NV, kAcc>;
    default: return &tile<T, 6, NV, kAcc>;
  }
}

template <class T, bool kAcc>
TileFn<T> tile_nv(int rows, int nv) {
  switch (nv) {
    case 1: return tile_rows<T, 1, kAcc>(rows);
    case 2: return tile_rows<T, 2, kAcc>(rows);
    case 3: return tile_rows<T, 3, kAcc>(rows);
    default: return tile_rows<T, 4, kAcc>(rows);
  }
}

template <class T>
TileFn<T> tile_for(int rows, int nv, bool acc) {
  return acc ? tile_nv<T, true>(rows, nv) : tile_nv<T, false>(rows, nv);
}

// C (M x N) = (acc ? C diag(cs) : 0) + A (M x K) B (K x N), N a multiple of the vector width; B's and C's rows
// hold N elements (padded), A is read with row stride lda. Column panels of B outer (a panel stays
// in L1 while A's rows stream past it), RB-row tiles inner.
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
          bool acc, const T* cs = nullptr) {
  constexpr int64_t VL = lanes<T>();
  const int64_t nv = N / VL;
  for (int64_t j = 0; j < nv; j += kNV) {
    const int w = static_cast<int>(min_(kNV, nv - j));
    const TileFn<T> full = tile_for<T>(kRB, w, acc);
    int64_t i = 0;
    const T* csj = cs ? cs + j * VL : nullptr;
    for (; i + kRB <= M; i += kRB) full(K, A + i * lda, lda, B + j * VL, ldb, C + i * ldc + j * VL, ldc, csj);
    if (i < M)
      tile_for<T>(static_cast<int>(M - i), w, acc)(K, A + i * lda, lda, B + j * VL, ldb, C + i * ldc + j * VL, ldc, csj);
  }
}

// dst (cols x ld, first `rows` columns) = mul * src (rows x cols, row stride lds) transposed; columns
// rows..zero_to-1 of dst are zeroed (zero_to < 0: up to ld; a dst inside another array passes rows).
// With AVX, 8x8 (float) or 4x4 (double) register transposes (common/simd_math.h) do the whole blocks.
template <class T>
void transpose(const T* src, int64_t rows, int64_t cols, int64_t lds, T* dst, int64_t ld, T mul = T(1),
               int64_t zero_to = -1) {
  if (zero_to < 0) zero_to = ld;
  int64_t r0 = 0;
#ifdef __AVX__
  constexpr int64_t b = sizeof(T) == 4 ? 8 : 4;
  for (; r0 + b <= rows; r0 += b) {
    int64_t c = 0;
    for (; c + b <= cols; c += b) {
      if constexpr (sizeof(T) == 4)
        transpose_8x8_ps(src + r0 * lds + c, lds, dst + c * ld + r0, ld, 0);
      else
        transpose_4x4_pd(src + r0 * lds + c, lds, dst + c * ld + r0, ld, 0);
    }
    for (; c < cols; ++c)
      for (int64_t r = r0; r < r0 + b; ++r) dst[c * ld + r] = src[r * lds + c];
  }
#endif
  for (int64_t c = 0; c < cols; ++c) {
    T* d = dst + c * ld;
    for (int64_t r = r0; r < rows; ++r) d[r] = src[r * lds + c];
    if (mul != T(1))
      for (int64_t r = 0; r < rows; ++r) d[r] *= mul;
    for (int64_t r = rows; r < zero_to; ++r) d[r] = 0;
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

// Scores are kept transposed, keys down and queries across (ST[j][i] for key j0 + j, query i0 + i),
// so everything the softmax does per query (running max m, sum l, lse, D) is a vector over the
// block's kBr queries and every reduction runs down the key rows (no horizontal sums). Q, dO and
// V are transposed once per head (per (b, h) the forward meets), never per block.

// Row j of ST (key kj = j0 + j against queries i0 + [0, kBr), already scaled: Q^T is transposed with the
// scale folded in) masked in place (additive or bool mask, causal: query i < key kj). Columns past
// the block's br queries are left as they are.
template <class T>
inline void mask_keys_row(const Problem<T>& p, T* s, int64_t g, int64_t h, int64_t i0, int64_t br, int64_t kj) {
  const T ninf = kNegInf<T>;
  if (p.mask || p.mask_bool) {
    const int64_t off = g * p.mask_sg + h * p.mask_sh + i0 * p.mask_sl + kj, sl = p.mask_sl;
    if (p.mask) {
      const T* m = p.mask + off;
      for (int64_t i = 0; i < br; ++i) s[i] += m[i * sl];
    } else {
      const uint8_t* m = p.mask_bool + off;
      for (int64_t i = 0; i < br; ++i) s[i] = m[i * sl] ? s[i] : ninf;
    }
  }
  if (p.causal) {
    const int64_t n = min_(br, kj - i0);  // queries i0 + i < kj see no key kj
    for (int64_t i = 0; i < n; ++i) s[i] = ninf;
  }
}

// ---- forward ------------------------------------------------------------------------------------

// V^T's row stride: S rounded up to whole key blocks, plus one cache line, so that the rows the P V
// product broadcasts from (kRB of them at a time) do not all fall into one L1 set when S is a power of
// two (a 4 KB stride at S = 1024 had them evicting each other).
template <class T>
inline int64_t vt_stride(int64_t S) {
  return round_up(S, kBc) + 64 / static_cast<int64_t>(sizeof(T));
}

template <class T>
int64_t forward_workspace(const Problem<T>& p) {
  constexpr int64_t VL = lanes<T>();
  const int64_t ldv = vt_stride<T>(p.S);
  // Q^T block (E x kBr), V^T of the head (Ev x ldv), S^T (kBc x kBr), O^T (Ev x kBr), m, l, alpha (each kBr)
  // and the dropout row keys of a key block (kBc uint32, in kBc elements of T)
  return p.E * kBr + p.Ev * ldv + kBc * kBr + p.Ev * kBr + 3 * kBr + kBc + 4 * VL;
}

template <class T>
void forward_items(const Problem<T>& p, int64_t item0, int64_t item1, T* work) {
  using V = typename VT<T>::type;
  constexpr int64_t VL = lanes<T>();
  const int64_t E = p.E, Ev = p.Ev, S = p.S, L = p.L, ldv = vt_stride<T>(S);
  const int64_t nb = (L + kBr - 1) / kBr;
  T* Qt = work;
  T* Vt = Qt + E * kBr;
  T* ST = Vt + Ev * ldv;
  T* Ot = ST + kBc * kBr;
  T* m = Ot + Ev * kBr;
  T* l = m + kBr;
  T* al = l + kBr;
  uint32_t* keys = reinterpret_cast<uint32_t*>(al + kBr);  // dropout: a row key per key of the block
  const Dropper<T> drop(p);
  const T ninf = kNegInf<T>;
  const V vninf = splat<V>(ninf), vzero{};
  int64_t cached = -1;  // the key/value head whose V^T is in Vt
  for (int64_t item = item0; item < item1; ++item) {
    const int64_t gh = item / nb, i0 = (item % nb) * kBr;
    const int64_t g = gh / p.H, h = gh % p.H, hk = h / (p.H / p.Hkv), kv = g * p.Hkv + hk;
    const int64_t br = min_(kBr, L - i0);
    const T* K = p.k + p.ks.at(g, hk, 0);
    if (kv != cached) {
      transpose(p.v + p.vs.at(g, hk, 0), S, Ev, p.vs.l, Vt, ldv);
      cached = kv;
    }
    transpose(p.q + p.qs.at(g, h, i0), br, E, p.qs.l, Qt, kBr, p.scale);
    for (int64_t i = 0; i < kBr; ++i) m[i] = ninf, l[i] = 0;
    for (int64_t x = 0; x < Ev * kBr; ++x) Ot[x] = 0;
    const int64_t jend = p.causal ? min_(S, i0 + br) : S;
    for (int64_t j0 = 0; j0 < jend; j0 += kBc) {
      const int64_t bc = min_(kBc, jend - j0);
      gemm(bc, kBr, E, K + j0 * p.ks.l, p.ks.l, Qt, kBr, ST, kBr, false);  // S^T = K Q^T
      for (int64_t j = 0; j < bc; ++j) mask_keys_row(p, ST + j * kBr, g, h, i0, br, j0 + j);
      if (p.dropout)
        for (int64_t j = 0; j < bc; ++j) keys[j] = dropout_row_key(p.drop_seed, gh, S, j0 + j);
      for (int64_t i = 0; i < kBr; i += VL) {  // the online softmax, kBr queries at a time
        V mx = load<V>(m + i);
        const V mold = mx;
        for (int64_t j = 0; j < bc; ++j) {
          const V x = load<V>(ST + j * kBr + i);
          mx = x > mx ? x : mx;
        }
        const V mu = mx == vninf ? vzero : mx;  // no key yet: exp(-inf - 0) = 0 below
        const V alpha = vexp(mold - mu);
        V sum{};
        if (p.dropout) {  // l sums P; the values are weighted by the kept (and rescaled) P
          for (int64_t j = 0; j < bc; ++j) {
            const V e = vexp(load<V>(ST + j * kBr + i) - mu);
            store(ST + j * kBr + i, e * drop(keys[j], i0 + i));
            sum += e;
          }
        } else {
          for (int64_t j = 0; j < bc; ++j) {
            const V e = vexp(load<V>(ST + j * kBr + i) - mu);
            store(ST + j * kBr + i, e);
            sum += e;
          }
        }
        store(l + i, load<V>(l + i) * alpha + sum);
        store(m + i, mx);
        store(al + i, alpha);
      }
      // O^T = O^T diag(alpha) + V^T P^T: the online softmax's rescaling of the running output is applied
      // as the product loads it (the same rounding as a separate pass, without that pass over O^T)
      gemm(Ev, kBr, bc, Vt + j0, ldv, ST, kBr, Ot, kBr, true, al);
    }
    T* out = p.o + p.os.at(g, h, i0);
    const int64_t ldo = p.os.l;
    T* lse = p.lse + gh * L + i0;
    transpose(Ot, Ev, br, kBr, out, ldo, T(1), Ev);
    for (int64_t i = 0; i < br; ++i) {
      const bool empty = l[i] == T(0);
      const T inv = empty ? T(0) : T(1) / l[i];
      for (int64_t c = 0; c < Ev; ++c) out[i * ldo + c] *= inv;
      lse[i] = empty ? ninf : m[i] + log1(l[i]);
    }
  }
}

// ---- backward -----------------------------------------------------------------------------------

template <class T>
int64_t backward_workspace(const Problem<T>& p) {
  constexpr int64_t VL = lanes<T>();
  const int64_t Ep = round_up(p.E, VL), Evp = round_up(p.Ev, VL), Lp = round_up(p.L, kBr);
  const int64_t rep = p.Hkv > 0 ? p.H / p.Hkv : 0;
  const int64_t Qp = p.E == Ep ? 0 : Lp * Ep, dOp = p.Ev == Evp ? 0 : Lp * Evp;
  // per query head: Q^T, dO^T, dQ^T, block-major ((E or Ev) x kBr per query block: rows kBr apart,
  // not Lp, whose power-of-two strides would put a block's rows in one cache set), padded Q and dO
  // rows if E or Ev is off the vector width, lse and D (Lp); per key block: K^T (E x kBc), dK, dV
  // (kBc x Ep, Evp), S^T, dP^T
  return rep * (2 * p.E * Lp + p.Ev * Lp + Qp + dOp + 2 * Lp) + p.E * kBc + kBc * Ep + kBc * Evp +
         2 * kBc * kBr + 8 * VL;
}

template <class T>
void backward_group(const Problem<T>& p, int64_t grp, T* work) {
  using V = typename VT<T>::type;
  constexpr int64_t VL = lanes<T>();
  const int64_t E = p.E, Ev = p.Ev, Ep = round_up(E, VL), Evp = round_up(Ev, VL), S = p.S, L = p.L;
  const int64_t Lp = round_up(L, kBr), rep = p.H / p.Hkv, g = grp / p.Hkv;
  const bool padq = E != Ep, pado = Ev != Evp;
  const int64_t per_head = 2 * E * Lp + Ev * Lp + (padq ? Lp * Ep : 0) + (pado ? Lp * Evp : 0) + 2 * Lp;
  const int64_t hk = grp % p.Hkv;
  const T* K = p.k + p.ks.at(g, hk, 0);
  const T* Vv = p.v + p.vs.at(g, hk, 0);
  const int64_t ldk = p.ks.l, ldv = p.vs.l;
  T* blk = work + rep * per_head;
  T* Kt = blk;
  T* dKb = Kt + E * kBc;
  T* dVb = dKb + kBc * Ep;
  T* ST = dVb + kBc * Evp;
  T* dPT = ST + kBc * kBr;
  const T pinf = -kNegInf<T>;
  const Dropper<T> drop(p);
  struct Head {
    T *Qt, *dOt, *dQt, *Qp, *dOp, *lse, *D;
    const T *Q, *dO;
    int64_t h, ldq, ldo;
  };
  auto head = [&](int64_t hh) {
    Head r;
    T* b = work + hh * per_head;
    r.Qt = b, r.dOt = r.Qt + E * Lp, r.dQt = r.dOt + Ev * Lp, r.lse = r.dQt + E * Lp, r.D = r.lse + Lp;
    r.Qp = r.D + Lp, r.dOp = r.Qp + (padq ? Lp * Ep : 0);
    r.h = hk * rep + hh;
    r.Q = p.q + p.qs.at(g, r.h, 0), r.dO = p.dout + p.dos.at(g, r.h, 0);
    r.ldq = p.qs.l, r.ldo = p.dos.l;
    if (padq) r.Q = r.Qp, r.ldq = Ep;
    if (pado) r.dO = r.dOp, r.ldo = Evp;
    return r;
  };
  for (int64_t hh = 0; hh < rep; ++hh) {  // per head: Q^T, dO^T, padded rows, lse (+inf: P = 0), D
    Head r = head(hh);
    const int64_t gh = g * p.H + r.h;
    const T* q = p.q + p.qs.at(g, r.h, 0);
    const T* d = p.dout + p.dos.at(g, r.h, 0);
    const T* o = p.o + p.os.at(g, r.h, 0);
    const int64_t lq = p.qs.l, ld = p.dos.l, lo = p.os.l;
    for (int64_t i0 = 0; i0 < L; i0 += kBr) {  // block-major: [query block][E or Ev][kBr]
      const int64_t br = min_(kBr, L - i0);
      transpose(q + i0 * lq, br, E, lq, r.Qt + i0 * E, kBr, p.scale);
      transpose(d + i0 * ld, br, Ev, ld, r.dOt + i0 * Ev, kBr);
    }
    if (padq) pad_rows(q, L, E, lq, r.Qp, Ep);
    if (pado) pad_rows(d, L, Ev, ld, r.dOp, Evp);
    for (int64_t x = 0; x < E * Lp; ++x) r.dQt[x] = 0;
    for (int64_t i = 0; i < Lp; ++i) {
      T acc = 0;
      if (i < L)
        for (int64_t c = 0; c < Ev; ++c) acc += o[i * lo + c] * d[i * ld + c];
      const T ls = i < L ? p.lse[gh * L + i] : kNegInf<T>;
      r.lse[i] = ls == kNegInf<T> ? pinf : ls;
      r.D[i] = acc;
    }
  }
  for (int64_t j0 = 0; j0 < S; j0 += kBc) {
    const int64_t bc = min_(kBc, S - j0);
    transpose(K + j0 * ldk, bc, E, ldk, Kt, kBc);
    for (int64_t x = 0; x < kBc * Ep; ++x) dKb[x] = 0;
    for (int64_t x = 0; x < kBc * Evp; ++x) dVb[x] = 0;
    const int64_t istart = p.causal ? j0 / kBr * kBr : 0;  // earlier query blocks see none of these keys
    for (int64_t hh = 0; hh < rep; ++hh) {
      const Head r = head(hh);
      for (int64_t i0 = istart; i0 < L; i0 += kBr) {
        const int64_t br = min_(kBr, L - i0);
        gemm(bc, kBr, E, K + j0 * ldk, ldk, r.Qt + i0 * E, kBr, ST, kBr, false);      // S^T = K Q^T
        gemm(bc, kBr, Ev, Vv + j0 * ldv, ldv, r.dOt + i0 * Ev, kBr, dPT, kBr, false);  // dP^T = V dO^T
        for (int64_t j = 0; j < bc; ++j) {
          T* s = ST + j * kBr;
          T* dp = dPT + j * kBr;
          mask_keys_row(p, s, g, r.h, i0, br, j0 + j);
          if (p.dropout) {  // Z * P / (1 - p) for dV; dS = P * (Z * dP / (1 - p) - D)
            const uint32_t key = dropout_row_key(p.drop_seed, g * p.H + r.h, S, j0 + j);
            for (int64_t i = 0; i < kBr; i += VL) {
              const V pr = vexp(load<V>(s + i) - load<V>(r.lse + i0 + i));
              const V z = drop(key, i0 + i);
              store(s + i, pr * z);
              store(dp + i, pr * (load<V>(dp + i) * z - load<V>(r.D + i0 + i)));
            }
            continue;
          }
          for (int64_t i = 0; i < kBr; i += VL) {
            const V pr = vexp(load<V>(s + i) - load<V>(r.lse + i0 + i));  // P (0 past L and on empty rows)
            store(s + i, pr);
            store(dp + i, pr * (load<V>(dp + i) - load<V>(r.D + i0 + i)));  // dS
          }
        }
        gemm(bc, Evp, br, ST, kBr, r.dO + i0 * r.ldo, r.ldo, dVb, Evp, true);  // dV += P^T dO
        gemm(bc, Ep, br, dPT, kBr, r.Q + i0 * r.ldq, r.ldq, dKb, Ep, true);    // dK += dS^T Q
        gemm(E, kBr, bc, Kt, kBc, dPT, kBr, r.dQt + i0 * E, kBr, true);       // dQ^T += K^T dS^T
      }
    }
    T* dk = p.dk + p.dks.at(g, hk, j0);
    T* dv = p.dv + p.dvs.at(g, hk, j0);
    for (int64_t j = 0; j < bc; ++j) {
      for (int64_t c = 0; c < E; ++c) dk[j * p.dks.l + c] = dKb[j * Ep + c] * p.scale;
      for (int64_t c = 0; c < Ev; ++c) dv[j * p.dvs.l + c] = dVb[j * Evp + c];
    }
  }
  for (int64_t hh = 0; hh < rep; ++hh) {
    const Head r = head(hh);
    T* dq = p.dq + p.dqs.at(g, r.h, 0);
    for (int64_t i0 = 0; i0 < L; i0 += kBr)
      transpose(r.dQt + i0 * E, E, min_(kBr, L - i0), kBr, dq + i0 * p.dqs.l, p.dqs.l, p.scale, E);
  }
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->block_q = kBr;
  k->forward_workspace = &forward_workspace<T>;
  k->backward_workspace = &backward_workspace<T>;
  k->forward_items = &forward_items<T>;
  k->backward_group = &backward_group<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace attention
}  // namespace fe
