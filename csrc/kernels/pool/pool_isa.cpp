// Max and average pooling loops (NCHW planes), compiled once per ISA level (common/isa.h): plain loops
// the compiler vectorises with that file's flags.
// Everything but the fill functions has internal linkage, so no level's code can leak into another's.
#include "common/isa.h"
#include "kernels/pool/pool.h"

namespace fe {
namespace pool {
namespace {

// One candidate of a window against the best so far: it wins if better, or equal and earlier in the
// plane (a smaller index: earlier in raster order).
template <class T>
inline void maxpool_take(T v, int32_t cand, T& b, int32_t& best) {
  const bool same = (v == b) | ((v != v) & (b != b));
  const bool take = (v > b) | ((v != v) & (b == b)) | (same & (cand < best));
  b = take ? v : b;
  best = take ? cand : best;
}

// The horizontal pass of max pooling (see maxpool_body): n outputs, output q's window is columns
// [q*sw, q*sw + kw) of m/idx. KW, SW > 0: width and stride as compile-time constants, written out
// with no j loop so that the q loop vectorises (GCC leaves an inner loop or a run-time stride as
// branches, which mispredict on real data); 0: read from kw, sw.
template <class T, int KW, int SW>
inline void maxpool_hpass(const T* __restrict__ m, const int32_t* __restrict__ idx, int64_t n, int64_t sw_rt,
                          int64_t kw, T* __restrict__ y, int64_t* __restrict__ argmax) {
  const int64_t sw = SW > 0 ? SW : sw_rt;
  for (int64_t q = 0; q < n; ++q) {
    const T* mq = m + q * sw;
    const int32_t* iq = idx + q * sw;
    T b = mq[0];
    int32_t best = iq[0];
    if (KW >= 2) maxpool_take(mq[1], iq[1], b, best);
    if (KW >= 3) maxpool_take(mq[2], iq[2], b, best);
    if (KW == 0)
      for (int64_t j = 1; j < kw; ++j) maxpool_take(mq[j], iq[j], b, best);
    y[q] = b;
    argmax[q] = best;
  }
}

template <class T>
void maxpool_hpass_any(const T* m, const int32_t* idx, int64_t n, int64_t sw, int64_t kw, T* y, int64_t* argmax) {
  if (kw == 2 && sw == 2)
    maxpool_hpass<T, 2, 2>(m, idx, n, sw, kw, y, argmax);
  else if (kw == 3 && sw == 3)
    maxpool_hpass<T, 3, 3>(m, idx, n, sw, kw, y, argmax);
  else
    maxpool_hpass<T, 0, 0>(m, idx, n, sw, kw, y, argmax);
}

template <class T>
void maxpool_body(const T* x, const Geometry& g, T* y, int64_t* argmax, int64_t p0, int64_t p1) {
  if (g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1 && g.kw <= g.sw && g.H * g.W < (int64_t(1) << 31)) {
    // Every window lies inside: two branch-free passes, each a plain loop the compiler vectorises (a
    // select per window element compiled as a branch mispredicts on real data: 5-10x slower).
    //   vertical:   for output row oh, m[w] = the best of the kh inputs of column w, idx[w] its index
    //               in the plane (a lower row wins only if strictly better);
    //   horizontal: over the kw columns of each window, a column wins if better, or equal with a
    //               smaller index. That is the first maximum in raster order, as the reference's plain
    //               scan finds it ("better": greater, or a NaN over a number, so NaN propagates).
    // Windows that do not overlap along a row (kw <= sw) let the plane's rows of m sit end to end, so
    // one horizontal pass covers the plane (rows of 14 outputs are shorter than an AVX-512 vector).
    const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sh = g.sh, sw = g.sw, kh = g.kh, kw = g.kw;
    const int64_t span = (OW - 1) * sw + kw;  // input columns a row's windows cover
    const int64_t rs = OW * sw;  // row stride in m: >= span as kw <= sw
    std::vector<T> m_buf(static_cast<std::size_t>(OH * rs));
    std::vector<int32_t> idx_buf(static_cast<std::size_t>(OH * rs));
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * H * W;
      T* yp = y + p * OH * OW;
      int64_t* ap = argmax + p * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        T* __restrict__ m = m_buf.data() + oh * rs;
        int32_t* __restrict__ idx = idx_buf.data() + oh * rs;
        const int64_t h0 = oh * sh;
        const T* __restrict__ top = xp + h0 * W;
        for (int64_t w = 0; w < span; ++w) {
          m[w] = top[w];
          idx[w] = int32_t(h0 * W + w);
        }
        for (int64_t i = 1; i < kh; ++i) {
          const T* __restrict__ src = top + i * W;
          const int32_t row = int32_t((h0 + i) * W);
          for (int64_t w = 0; w < span; ++w) {
            const T v = src[w], b = m[w];
            const bool take = (v > b) | ((v != v) & (b == b));
            m[w] = take ? v : b;
            idx[w] = take ? row + int32_t(w) : idx[w];
          }
        }
      }
      maxpool_hpass_any(m_buf.data(), idx_buf.data(), OH * OW, sw, kw, yp, ap);
    }
    return;
  }
  if (g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1) {
    // Overlapping windows, all inside: a whole output row at a time, one window offset (i, j) per sweep, so
    // the inner loop runs along the row with no bounds checks and no branches (selects by mask; the
    // geometry is copied to locals, or the compiler reloads it after every store).
    const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sh = g.sh, sw = g.sw, kh = g.kh, kw = g.kw;
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * H * W;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t o = (p * OH + oh) * OW;
        T* __restrict__ yr = y + o;
        int64_t* __restrict__ ar = argmax + o;
        const int64_t h0 = oh * sh;
        for (int64_t ow = 0; ow < OW; ++ow) {
          yr[ow] = xp[h0 * W + ow * sw];
          ar[ow] = h0 * W + ow * sw;
        }
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            if (i == 0 && j == 0) continue;
            const int64_t base = (h0 + i) * W + j;
            const T* __restrict__ src = xp + base;
            for (int64_t ow = 0; ow < OW; ++ow) {
              const T v = src[ow * sw];
              const T b = yr[ow];
              // the first maximum wins; a NaN, once seen, is kept
              const bool take = (v > b) | ((v != v) & (b == b));
              const int64_t mask = -static_cast<int64_t>(take);
              yr[ow] = take ? v : b;
              ar[ow] = ((base + ow * sw) & mask) | (ar[ow] & ~mask);
            }
          }
      }
    }
    return;
  }
  for (int64_t p = p0; p < p1; ++p) {
    const T* xp = x + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        T best = -__builtin_inf();
        int64_t where = -1;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t h = oh * g.sh - g.ph + i * g.dh;
          if (h < 0 || h >= g.H) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t w = ow * g.sw - g.pw + j * g.dw;
            if (w < 0 || w >= g.W) continue;
            const T v = xp[h * g.W + w];
            // the first maximum wins; a NaN, once seen, is kept (it propagates as in NumPy)
            if (where < 0 || v > best || (v != v && best == best)) {
              best = v;
              where = h * g.W + w;
            }
          }
        }
        const int64_t o = (p * g.OH + oh) * g.OW + ow;
        y[o] = best;
        argmax[o] = where;
      }
  }
}

template <class T>
void maxpool_backward_body(const T* dy, const int64_t* argmax, const Geometry& g, T* dx, int64_t p0, int64_t p1) {
  const int64_t L = g.OH * g.OW;
  for (int64_t i = p0 * g.H * g.W; i < p1 * g.H * g.W; ++i) dx[i] = T(0);  // overwritten, not added into
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t o = 0; o < L; ++o) {
      const int64_t where = argmax[p * L + o];
      if (where >= 0) dx[p * g.H * g.W + where] += dy[p * L + o];
    }
}

template <class T>
void avgpool_body(const T* x, const Geometry& g, T* y, int64_t p0, int64_t p1) {
  const T inv = T(1) / T(g.kh * g.kw);
  if (g.ph == 0 && g.pw == 0) {  // every window lies inside: row sweeps as in max pooling
    const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW, sh = g.sh, sw = g.sw, kh = g.kh, kw = g.kw;
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * H * W;
      for (int64_t oh = 0; oh < OH; ++oh) {
        T* __restrict__ yr = y + (p * OH + oh) * OW;
        for (int64_t ow = 0; ow < OW; ++ow) yr[ow] = T(0);
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            const T* __restrict__ src = xp + (oh * sh + i) * W + j;
            for (int64_t ow = 0; ow < OW; ++ow) yr[ow] += src[ow * sw];
          }
        for (int64_t ow = 0; ow < OW; ++ow) yr[ow] *= inv;
      }
    }
    return;
  }
  for (int64_t p = p0; p < p1; ++p) {
    const T* xp = x + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        T s = 0;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t h = oh * g.sh - g.ph + i * g.dh;
          if (h < 0 || h >= g.H) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t w = ow * g.sw - g.pw + j * g.dw;
            if (w >= 0 && w < g.W) s += xp[h * g.W + w];
          }
        }
        y[(p * g.OH + oh) * g.OW + ow] = s * inv;
      }
  }
}

template <class T>
void avgpool_backward_body(const T* dy, const Geometry& g, T* dx, int64_t p0, int64_t p1) {
  const T inv = T(1) / T(g.kh * g.kw);
  for (int64_t p = p0; p < p1; ++p) {
    T* dp = dx + p * g.H * g.W;
    for (int64_t i = 0; i < g.H * g.W; ++i) dp[i] = T(0);  // overwritten, not added into
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const T v = dy[(p * g.OH + oh) * g.OW + ow] * inv;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t h = oh * g.sh - g.ph + i * g.dh;
          if (h < 0 || h >= g.H) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t w = ow * g.sw - g.pw + j * g.dw;
            if (w >= 0 && w < g.W) dp[h * g.W + w] += v;
          }
        }
      }
  }
}

template <class T>
void fill_kernels(Kernels<T>* k) {
  k->maxpool = &maxpool_body<T>;
  k->maxpool_backward = &maxpool_backward_body<T>;
  k->avgpool = &avgpool_body<T>;
  k->avgpool_backward = &avgpool_backward_body<T>;
}

}  // namespace

FE_DEFINE_FILLS(Kernels, fill_kernels)

}  // namespace pool
}  // namespace fe
