"""Scaled dot-product attention in plain NumPy, the way a learner writes it: the whole (L, S) score
matrix of every (batch, head), a softmax over it, then the weighted sum of the values. The oracle for
the tiled C++ kernel (firstepoch.ops.attention; _C.attention_forward / attention_backward), with the
same names and argument order (the kernel's output buffers left out).

Layout (what ops/attention.py hands the kernel): q (G, H, L, E), k (G, Hkv, S, E), v (G, Hkv, S, Ev)
with H a multiple of Hkv (query head h reads key/value head h // (H // Hkv): grouped-query attention;
Hkv == H is plain multi-head), mask None or (Gm, Hm, Lm, S) with Gm in {1, G}, Hm in {1, H},
Lm in {1, L}, either bool (True = the key takes part) or of q's dtype (added to the scores).
is_causal masks key j for query i when j > i (torch's top-left aligned tril(ones(L, S))).
A query that no key may attend to (every score -inf) gets output 0, log-sum-exp -inf and zero
gradients, as torch 2.13 on the CPU.
"""
import numpy as np


def _expand_kv(x, heads):
    return np.repeat(x, heads // x.shape[1], axis=1) if x.shape[1] != heads else x


def _scores(q, k, mask, scale, is_causal):
    """(G, H, L, S) scaled scores with the mask applied (-inf where a key is masked)."""
    k = _expand_kv(k, q.shape[1])
    s = (q @ np.swapaxes(k, -1, -2)) * q.dtype.type(scale)
    L, S = s.shape[-2:]
    if is_causal:
        s = np.where(np.tri(L, S, dtype=bool), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == np.bool_ else s + mask
    return s.astype(q.dtype, copy=False)


def _probabilities(s, lse):
    finite = np.isfinite(lse)[..., None]
    with np.errstate(invalid="ignore"):
        return np.where(finite, np.exp(s - np.where(finite, lse[..., None], 0)), 0).astype(s.dtype)


def attention_forward(q, k, v, mask, scale, is_causal):
    """(o (G, H, L, Ev), lse (G, H, L)): o = softmax(scale * q k^T + mask) v, lse = each row's
    log(sum(exp(scores)))."""
    s = _scores(q, k, mask, scale, is_causal)
    m = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.full(s.shape[:-1] + (1,), -np.inf, s.dtype)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        lse = (np.log(np.exp(s - m).sum(axis=-1, keepdims=True)) + m)[..., 0]
    p = _probabilities(s, lse)
    o = p @ _expand_kv(v, q.shape[1])
    return o.astype(q.dtype, copy=False), lse.astype(q.dtype, copy=False)


def attention_backward(q, k, v, mask, o, lse, dout, scale, is_causal):
    """(dq, dk, dv) from the forward's o and lse and the output gradient dout:
    P = exp(S - lse), dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dO * O)), dQ = scale dS K,
    dK = scale dS^T Q (key/value gradients summed over the query heads that share them)."""
    H, Hkv = q.shape[1], k.shape[1]
    p = _probabilities(_scores(q, k, mask, scale, is_causal), lse)
    ve, ke = _expand_kv(v, H), _expand_kv(k, H)
    dv = np.swapaxes(p, -1, -2) @ dout
    dp = dout @ np.swapaxes(ve, -1, -2)
    ds = p * (dp - (dout * o).sum(axis=-1, keepdims=True))
    t = q.dtype.type(scale)
    dq = (ds @ ke) * t
    dk = (np.swapaxes(ds, -1, -2) @ q) * t
    if Hkv != H:  # sum over each group of query heads
        G, S = k.shape[0], k.shape[2]
        dk = dk.reshape(G, Hkv, H // Hkv, S, k.shape[3]).sum(axis=2)
        dv = dv.reshape(G, Hkv, H // Hkv, S, v.shape[3]).sum(axis=2)
    return tuple(a.astype(q.dtype, copy=False) for a in (dq, dk, dv))
