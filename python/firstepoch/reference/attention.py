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

Dropout (dropout_p > 0): the probabilities that weight the values are dropped with chance dropout_p
and the rest scaled by 1 / (1 - dropout_p); lse stays that of the undropped scores. The mask is not
drawn from a generator but hashed from (seed, head, query, key) (dropout_keep), so the kernel's
backward can draw the forward's mask again, a block at a time, without storing it.
"""
import numpy as np

_PHI64 = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio
_PHI32 = np.uint32(0x9E3779B9)


def dropout_keep(seed, G, H, L, S, dropout_p):
    """The (G, H, L, S) bool mask of kept probabilities for `seed` (an int in [0, 2^64)): for head gh = g * H + h
    and key j a 32-bit row key, the top half of splitmix64's finaliser of seed + (gh * S + j + 1) * 2^64/phi;
    for query i the lowbias32 hash of key ^ (i * 2^32/phi); kept when that hash is >= round(dropout_p * 2^32)
    (at most 2^32 - 1). All arithmetic wraps (unsigned)."""
    threshold = min(round(dropout_p * 2.0 ** 32), 2 ** 32 - 1)
    with np.errstate(over="ignore"):
        idx = np.arange(G * H, dtype=np.uint64)[:, None] * np.uint64(S) + np.arange(S, dtype=np.uint64) + np.uint64(1)
        z = np.uint64(seed) + idx * _PHI64
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        key = ((z ^ (z >> np.uint64(31))) >> np.uint64(32)).astype(np.uint32)  # (G * H, S)
        lane = np.arange(L, dtype=np.uint64).astype(np.uint32) * _PHI32  # (L,)
        x = key[:, None, :] ^ lane[None, :, None]  # (G * H, L, S)
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x7FEB352D)
        x ^= x >> np.uint32(15)
        x *= np.uint32(0x846CA68B)
        x ^= x >> np.uint32(16)
    return (x >= np.uint32(threshold)).reshape(G, H, L, S)


def dropout_multipliers(seed, G, H, L, S, dropout_p, dtype):
    """(G, H, L, S) of dtype: 1 / (1 - dropout_p) where dropout_keep keeps, 0 where it drops (0 everywhere
    when dropout_p is 1)."""
    scale = 1.0 / (1.0 - dropout_p) if dropout_p < 1 else 0.0
    return (dropout_keep(seed, G, H, L, S, dropout_p) * scale).astype(dtype)


def _dropped(p, dropout_p, seed):
    """p (G, H, L, S) with dropout_p's mask for seed applied (p itself without dropout)."""
    return p * dropout_multipliers(seed, *p.shape, dropout_p, p.dtype) if dropout_p else p


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


def attention_forward(q, k, v, mask, scale, is_causal, dropout_p=0.0, seed=0):
    """(o (G, H, L, Ev), lse (G, H, L)): o = dropout(softmax(scale * q k^T + mask)) v, lse = each row's
    log(sum(exp(scores)))."""
    s = _scores(q, k, mask, scale, is_causal)
    m = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.full(s.shape[:-1] + (1,), -np.inf, s.dtype)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        lse = (np.log(np.exp(s - m).sum(axis=-1, keepdims=True)) + m)[..., 0]
    p = _probabilities(s, lse)
    o = _dropped(p, dropout_p, seed) @ _expand_kv(v, q.shape[1])
    return o.astype(q.dtype, copy=False), lse.astype(q.dtype, copy=False)


def attention_backward(q, k, v, mask, o, lse, dout, scale, is_causal, dropout_p=0.0, seed=0):
    """(dq, dk, dv) from the forward's o and lse and the output gradient dout:
    P = exp(S - lse), dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dO * O)), dQ = scale dS K,
    dK = scale dS^T Q (key/value gradients summed over the query heads that share them). With dropout,
    P's dropped and rescaled copy Pd weights the values: dV = Pd^T dO, and dP is taken through the
    dropout (dP = keep * dO V^T / (1 - dropout_p)); rowsum(dO * O) is rowsum(dP * P) still."""
    H, Hkv = q.shape[1], k.shape[1]
    p = _probabilities(_scores(q, k, mask, scale, is_causal), lse)
    ve, ke = _expand_kv(v, H), _expand_kv(k, H)
    dv = np.swapaxes(_dropped(p, dropout_p, seed), -1, -2) @ dout
    dp = _dropped(dout @ np.swapaxes(ve, -1, -2), dropout_p, seed)
    ds = p * (dp - (dout * o).sum(axis=-1, keepdims=True))
    t = q.dtype.type(scale)
    dq = (ds @ ke) * t
    dk = (np.swapaxes(ds, -1, -2) @ q) * t
    if Hkv != H:  # sum over each group of query heads
        G, S = k.shape[0], k.shape[2]
        dk = dk.reshape(G, Hkv, H // Hkv, S, k.shape[3]).sum(axis=2)
        dv = dv.reshape(G, Hkv, H // Hkv, S, v.shape[3]).sum(axis=2)
    return tuple(a.astype(q.dtype, copy=False) for a in (dq, dk, dv))
