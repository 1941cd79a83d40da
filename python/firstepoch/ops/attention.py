"""Scaled dot-product attention on the tiled C++ kernel (FlashAttention on the CPU), forward and
backward side by side: the (L, S) score matrix of a head is never made whole.

forward:  o = softmax(scale * q k^T + mask) v, and lse = log(sum(exp(scores))) per query row, saved
backward: P = exp(S - lse) recomputed block by block; dV = P^T dO, dP = dO V^T,
          dS = P * (dP - rowsum(dO * O)), dQ = scale dS K, dK = scale dS^T Q

`_C` entries: `attention_forward(q, k, v, mask, o, lse, scale=, is_causal=, dropout_p=, seed=)`,
`attention_backward(q, k, v, mask, o, lse, dout, dq, dk, dv, scale=, is_causal=, dropout_p=, seed=)` and
`attention_workspace_size(q, k, v, backward=)`, on 4-D (G, H, L, E) arrays (the leading dims
flattened: G the dims before the heads, H the heads) whose rows are contiguous: a head split's
transposed views are read, and their gradients written, where they lie (no copies). Reference:
`firstepoch.reference.attention` (the full score matrix in NumPy, as a learner writes it) with the same names and argument order.

Dropout (dropout_p > 0) runs inside the kernel too: the forward drops probabilities block by block as
it weights the values, and the backward draws the same mask again. The mask is hashed from a seed and
each element's (head, query, key) (firstepoch.reference.attention.dropout_keep), the seed drawn from
firstepoch.manual_seed's generator, one draw per call.

Differences from torch (README porting table): the dropout mask is not torch's (a seed repeats it, as
every random draw here); a float attn_mask gets no gradient (it is a constant here); a query row that no
key may attend to gives 0 (torch 2.13's CPU result); a query row whose scores hold a NaN gives NaN (as
torch's math backend; torch 2.13's CPU flash kernel gives 0).
"""
import math
import numbers

import numpy as np

from .. import _C
from .. import random as _random
from ..autograd.function import Function

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _layout(q_shape, k_shape, v_shape, enable_gqa):
    """(leading dims, G, H, Hkv) of the kernel's (G, H, L, E) view; raises torch's RuntimeErrors."""
    lead_q, lead_k, lead_v = q_shape[:-2], k_shape[:-2], v_shape[:-2]
    if q_shape[-1] != k_shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query {tuple(q_shape)} and key {tuple(k_shape)} must have "
                           "the same embedding size (last dim)")
    if k_shape[-2] != v_shape[-2] or lead_k != lead_v:
        raise RuntimeError(f"scaled_dot_product_attention: key {tuple(k_shape)} and value {tuple(v_shape)} must "
                           "agree in all dims but the last")
    Hq = lead_q[-1] if lead_q else 1
    Hk = lead_k[-1] if lead_k else 1
    if enable_gqa and len(lead_q) >= 1 and len(lead_k) >= 1 and Hq != Hk:
        if Hk == 0 or Hq % Hk:
            raise RuntimeError(f"scaled_dot_product_attention: with enable_gqa the query heads ({Hq}) must be a "
                               f"multiple of the key/value heads ({Hk})")
        try:
            outer = np.broadcast_shapes(lead_q[:-1], lead_k[:-1])
        except ValueError:
            raise RuntimeError(f"scaled_dot_product_attention: the batch dims of query {tuple(q_shape)} and key "
                               f"{tuple(k_shape)} do not broadcast") from None
        return tuple(outer) + (Hq,), int(np.prod(outer, dtype=np.int64)), Hq, Hk
    try:
        lead = np.broadcast_shapes(lead_q, lead_k)
    except ValueError:
        raise RuntimeError(f"scaled_dot_product_attention: the batch dims of query {tuple(q_shape)} and key "
                           f"{tuple(k_shape)} do not broadcast") from None
    H = lead[-1] if lead else 1
    G = int(np.prod(lead[:-1], dtype=np.int64)) if lead else 1
    return tuple(lead), G, H, H


def _rows_view(x):
    """x itself if the kernel can walk it (rows contiguous, strides non-negative), else a C-contiguous copy."""
    item = x.itemsize
    if x.size and any(s < 0 or s % item for s in x.strides) or (x.shape[-1] > 1 and x.strides[-1] != item):
        return np.ascontiguousarray(x)
    return x


def _as_kernel(x, lead, G, H, rows, cols):
    """x broadcast to lead + (rows, cols) (kv: its own heads H) as the kernel's (G, H, rows, cols): a view
    where one exists whose rows are contiguous (the (N, H, T, E) transpose of an (N, T, H, E) projection
    is read where it lies), else a copy."""
    full = tuple(lead[:-1]) + ((H,) if lead else ()) + (rows, cols)
    if x.shape != full:
        x = np.broadcast_to(x, full)
    return _rows_view(x.reshape(G, H, rows, cols))


def _mask_for_kernel(mask, lead, G, H, L, S, dtype):
    """attn_mask (broadcasting to lead + (L, S)) as the kernel's (1|G, 1|H, 1|L, S) array (a copy only
    where the broadcast needs one)."""
    if mask is None:
        return None
    if mask.dtype != np.bool_ and mask.dtype != dtype:  # float32 on a float64 query (torch takes it, as its dtype)
        mask = mask.astype(dtype)
    m = mask.reshape((1,) * (len(lead) + 2 - mask.ndim) + mask.shape) if mask.ndim < len(lead) + 2 else mask
    if m.ndim > len(lead) + 2:
        raise RuntimeError(f"scaled_dot_product_attention: attn_mask {mask.shape} has more dims than the scores "
                           f"{tuple(lead) + (L, S)}")
    try:
        np.broadcast_shapes(m.shape, tuple(lead) + (L, S))
    except ValueError:
        raise RuntimeError(f"scaled_dot_product_attention: attn_mask {mask.shape} does not broadcast to the "
                           f"scores {tuple(lead) + (L, S)}") from None
    Lm = 1 if m.shape[-2] == 1 else L
    Hm = 1 if (not lead or m.shape[-3] == 1) else H
    outer = m.shape[:-3] if lead else ()
    Gm = 1 if all(d == 1 for d in outer) else G
    want = ((tuple(lead[:-1]) if Gm != 1 else (1,) * len(outer)) + ((Hm,) if lead else ()) + (Lm, S))
    if m.shape != want:
        m = np.broadcast_to(m, want)
    return np.ascontiguousarray(m).reshape(Gm, Hm, Lm, S)


def _unbroadcast(g, shape):
    """g (the broadcast shape) summed down to `shape` (an input that broadcast over batch dims)."""
    if g.shape == tuple(shape):
        return g
    extra = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(extra))) if extra else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


# ---- on arrays ------------------------------------------------------------------------------------

def _laid_out_like(x, shape, dtype):
    """An empty array of the 4-D `shape` whose first three axes lie in memory in the order of x's strides
    (largest first; x 4-D with contiguous rows, else C-contiguous): torch's output layout for a query x
    (torch.empty_like's preserve_format). An (N, H, L, E) view of an (N, L, H, E) projection gives an
    output laid out (N, L, H, Ev), whose heads join again by a view."""
    if (x.ndim != 4 or tuple(x.shape[:3]) != tuple(shape[:3]) or (x.shape[3] > 1 and x.strides[3] != x.itemsize)
            or any(x.strides[a] <= 0 and x.shape[a] > 1 for a in range(3))  # broadcast: no order to follow
            or 0 in shape):  # empty: C-contiguous, as torch's (NumPy gives a transposed empty array 0 strides)
        return np.empty(shape, dtype)
    order = sorted(range(3), key=lambda a: -x.strides[a])  # stable: equal strides keep their order
    out = np.empty(tuple(shape[a] for a in order) + (shape[3],), dtype)
    return out.transpose(tuple(order.index(a) for a in range(3)) + (3,))


def attention_forward(q, k, v, mask, scale, is_causal, like=None, dropout_p=0.0, seed=0):
    """(o, lse) on (G, H, L, E) / (G, Hkv, S, E) / (G, Hkv, S, Ev) arrays (the kernel's layout); o is
    C-contiguous, or laid out as the array `like` (see _laid_out_like). dropout_p > 0 drops the
    probabilities of the mask that `seed` gives (reference.attention.dropout_keep)."""
    G, H, L, _ = q.shape
    shape = (G, H, L, v.shape[3])
    o = np.empty(shape, q.dtype) if like is None else _laid_out_like(like, shape, q.dtype)
    lse = np.empty((G, H, L), q.dtype)
    _C.attention_forward(q, k, v, mask, o, lse, scale=scale, is_causal=is_causal, dropout_p=dropout_p, seed=seed)
    return o, lse


def attention_backward(q, k, v, mask, o, lse, dout, scale, is_causal, dropout_p=0.0, seed=0):
    """(dq, dk, dv) from the forward's o and lse and the output gradient dout (and its dropout_p and seed)."""
    dq, dk, dv = (_laid_out_like(a, a.shape, a.dtype) for a in (q, k, v))  # each as its input lies
    _C.attention_backward(q, k, v, mask, o, lse, _rows_view(dout), dq, dk, dv, scale=scale, is_causal=is_causal,
                          dropout_p=dropout_p, seed=seed)
    return dq, dk, dv


# ---- autograd ------------------------------------------------------------------------------------

class ScaledDotProductAttentionFn(Function):
    """dropout(softmax(scale * q k^T + attn_mask)) v for q (..., L, E), k (..., S, E), v (..., S, Ev) (leading
    dims broadcasting; with enable_gqa, q's heads (dim -3) a multiple of k's and v's), on the tiled kernel.
    dropout_p > 0 drops with the mask dropout_seed gives (an int in [0, 2^64); the functional draws it)."""

    kernel = "attention"

    @staticmethod
    def forward(ctx, q, k, v, attn_mask=None, is_causal=False, scale=None, enable_gqa=False, dropout_p=0.0,
                dropout_seed=0):
        lead, G, H, Hkv = _layout(q.shape, k.shape, v.shape, enable_gqa)
        L, E = q.shape[-2:]
        S, Ev = v.shape[-2], v.shape[-1]
        s = 1.0 / math.sqrt(E) if scale is None else float(scale)
        kv_lead = tuple(lead[:-1]) + (Hkv,) if lead else ()
        qk = _as_kernel(q, lead, G, H, L, E)
        kk = _as_kernel(k, kv_lead, G, Hkv, S, E)
        vk = _as_kernel(v, kv_lead, G, Hkv, S, Ev)
        mk = _mask_for_kernel(attn_mask, lead, G, H, L, S, q.dtype)
        # the output laid out as the query is (torch's layout: a head split's views give (N, L, H, Ev))
        drop = (float(dropout_p), int(dropout_seed))
        o, lse = attention_forward(qk, kk, vk, mk, s, bool(is_causal), q, *drop)
        ctx.save_for_backward(qk, kk, vk, o, lse)
        ctx.args = (mk, s, bool(is_causal), lead, kv_lead, q.shape, k.shape, v.shape, drop)
        return o.reshape(tuple(lead) + (L, Ev))

    @staticmethod
    def backward(ctx, grad):
        qk, kk, vk, o, lse = ctx.saved_tensors
        mk, s, causal, lead, kv_lead, qs, ks, vs, drop = ctx.args
        dq, dk, dv = attention_backward(qk, kk, vk, mk, o, lse, grad.reshape(o.shape), s, causal, *drop)
        dq = _unbroadcast(dq.reshape(tuple(lead) + dq.shape[-2:]), qs)
        dk = _unbroadcast(dk.reshape(tuple(kv_lead) + dk.shape[-2:]), ks)
        dv = _unbroadcast(dv.reshape(tuple(kv_lead) + dv.shape[-2:]), vs)
        return dq, dk, dv, None, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        """The gradients as Tensor ops on the parents (the full score matrix: for double backward)."""
        q, k, v = ctx.parents[:3]
        mk, s, causal, lead, kv_lead, qs, ks, vs, drop = ctx.args
        p = _composite_probabilities(q, k, ctx.args, ctx.parents)
        kx, vx = _expand_heads(k, lead, kv_lead), _expand_heads(v, lead, kv_lead)
        z = _dropout_multipliers(drop, tuple(p.shape), lead, p.dtype)  # keep / (1 - p), or None
        dv = (p if z is None else p * z).transpose(-2, -1) @ grad
        dp = grad @ vx.transpose(-2, -1)
        if z is not None:
            dp = dp * z
        ds = p * (dp - (dp * p).sum(-1, keepdim=True))
        dq = (ds @ kx) * s
        dk = (ds.transpose(-2, -1) @ q) * s
        dk, dv = _sum_heads(dk, lead, kv_lead, ks), _sum_heads(dv, lead, kv_lead, vs)
        return _sum_to(dq, qs), _sum_to(dk, ks), _sum_to(dv, vs), None, None, None, None, None, None

    @staticmethod
    def flops(ctx, inputs, output):
        q, k, v = inputs[:3]
        lead = ctx.args[3]
        n = int(np.prod(lead, dtype=np.int64)) if lead else 1
        return 2 * n * q.shape[-2] * k.shape[-2] * (q.shape[-1] + v.shape[-1])

    @staticmethod
    def backward_flops(ctx, forward_flops):
        return int(2.5 * forward_flops)  # dV, dP, dK, dQ and the recomputed scores

    @staticmethod
    def gradcheck_cases(rng):
        mask = rng.random((5, 7)) > 0.3
        mask[:, 0] = True
        return [((rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 7, 4)), rng.standard_normal((2, 3, 7, 3))), {}),
                ((rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 6))),
                 {"is_causal": True, "scale": 0.7}),
                ((rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((1, 2, 7, 4)), rng.standard_normal((1, 2, 7, 4))),
                 {"attn_mask": mask}),
                ((rng.standard_normal((1, 4, 3, 2)), rng.standard_normal((1, 2, 6, 2)), rng.standard_normal((1, 2, 6, 3))),
                 {"attn_mask": rng.standard_normal((4, 3, 6)), "enable_gqa": True}),
                ((rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 7, 4)), rng.standard_normal((2, 3, 7, 3))),
                 {"dropout_p": 0.4, "dropout_seed": 2 ** 64 - 3, "is_causal": True})]


# ---- Tensor-op forms of the kernel (double backward) -------------------------------------------------

def _expand_heads(k, lead, kv_lead):
    """k (..., Hkv, S, E) repeated to the query heads (grouped-query attention), else as it is."""
    if not lead or kv_lead[-1] == lead[-1]:
        return k
    rep = lead[-1] // kv_lead[-1]
    x = k.unsqueeze(-3)
    x = x.expand(*(x.shape[:-3] + (rep,) + x.shape[-2:]))
    return x.reshape(*(tuple(k.shape[:-3]) + (lead[-1],) + tuple(k.shape[-2:])))


def _sum_heads(g, lead, kv_lead, shape):
    if not lead or kv_lead[-1] == lead[-1]:
        return g
    rep = lead[-1] // kv_lead[-1]
    return g.reshape(*(tuple(g.shape[:-3]) + (kv_lead[-1], rep) + tuple(g.shape[-2:]))).sum(-3)


def _sum_to(g, shape):
    """The Tensor g summed over the dims it broadcast along to reach shape."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdim=True)
    return g


def _composite_probabilities(q, k, args, parents=None):
    """softmax(scale * q k^T + mask) on Tensor ops (rows with no key give 0, as the kernel)."""
    from ..tensor import Tensor, where
    mk, s, causal, lead, kv_lead = args[:5]
    kx = _expand_heads(k, lead, kv_lead)
    scores = (q @ kx.transpose(-2, -1)) * s
    L, S = scores.shape[-2:]
    allowed = np.ones((L, S), bool) if not causal else np.tri(L, S, dtype=bool)
    add = None
    if mk is not None:
        m = mk.reshape(_mask_shape(mk, lead, L, S))
        if m.dtype == np.bool_:
            allowed = allowed & m
        else:
            add = Tensor(m)
    if add is not None:
        scores = scores + add
    allowed = np.broadcast_to(allowed, scores.shape)
    ninf = np.array(-np.inf, scores.dtype)
    scores = where(Tensor(allowed), scores, Tensor(ninf))
    finite = np.isfinite(scores.detach().numpy()).any(-1, keepdims=True)
    safe = where(Tensor(np.broadcast_to(finite, scores.shape)), scores, Tensor(np.zeros((), scores.dtype)))
    p = safe.softmax(-1)
    return where(Tensor(np.broadcast_to(finite & np.isfinite(scores.detach().numpy()), scores.shape)), p,
                 Tensor(np.zeros((), scores.dtype)))


def _mask_shape(mk, lead, L, S):
    """The kernel's (Gm, Hm, Lm, S) mask viewed against the scores lead + (L, S)."""
    Gm, Hm, Lm, _ = mk.shape
    if not lead:
        return (Lm, S)
    outer = tuple(lead[:-1]) if Gm != 1 else (1,) * (len(lead) - 1)
    return outer + (Hm, Lm, S)


def _dropout_multipliers(drop, shape, lead, dtype):
    """The kernel's dropout as a constant Tensor of the scores' shape (keep / (1 - p), 0 where dropped), or
    None without dropout: for double backward, which builds the gradient from Tensor ops."""
    from ..reference.attention import dropout_multipliers
    from ..tensor import Tensor
    p, seed = drop
    if not p:
        return None
    G = int(np.prod(lead[:-1], dtype=np.int64)) if lead else 1
    H = lead[-1] if lead else 1
    return Tensor(dropout_multipliers(seed, G, H, *shape[-2:], p, dtype).reshape(shape))


# ---- functional ----------------------------------------------------------------------------------

def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """As torch.nn.functional.scaled_dot_product_attention: softmax(query key^T * scale + mask) value,
    scale defaulting to 1/sqrt(E); attn_mask bool (True = take part), or float32 or the query's dtype (added);
    is_causal masks key j for query i when j > i (top-left aligned, L != S too). attn_mask with is_causal:
    both apply, as torch 2.13's CPU flash kernel does where it takes the pair (4-D query, key and value of
    one head size and one batch, heads equal or enable_gqa, a 2-D or 4-D mask, contiguous last dims,
    dropout_p == 0). Differs from torch: its math path, which runs every other case, refuses the pair
    (RuntimeError "Explicit attn_mask should not be set when is_causal=True"); this refuses it only with
    dropout_p > 0 and applies both elsewhere (README, "Porting from PyTorch"). enable_gqa lets the
    query heads (dim -3) be a multiple of the key/value heads. dropout_p > 0 (always applied, as torch
    applies it whatever the module's mode) drops probabilities inside the tiled kernel, its mask hashed
    from a seed drawn from firstepoch's generator (so manual_seed repeats it; the values are not torch's).
    A float attn_mask is a constant (no gradient). A query with no key gets 0; a query
    whose scores hold a NaN gets NaN (torch's math backend; its CPU flash kernel gives 0). The output is laid
    out as the query is (torch's layout: a head split's view gives an (N, L, H, Ev)-ordered output)."""
    from ..tensor import Tensor
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead.")
    qd, kd, vd = query._data.dtype, key._data.dtype, value._data.dtype
    if not (qd == kd == vd):
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: {qd} "
                           f"key.dtype: {kd} and value.dtype: {vd} instead.")
    if qd not in _FLOATS:
        raise RuntimeError(f"scaled_dot_product_attention: expected float32 or float64 inputs, got {qd}")
    if isinstance(dropout_p, Tensor) and dropout_p.numel() == 1:
        dropout_p = dropout_p.item()
    if not isinstance(dropout_p, numbers.Real):
        raise TypeError(f"scaled_dot_product_attention(): argument 'dropout_p' must be float, not "
                        f"{type(dropout_p).__name__}")
    dropout_p = float(dropout_p)
    mask = None
    if attn_mask is not None:
        if is_causal and dropout_p > 0.0:  # torch refuses this too (and more: see the docstring)
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        mask = attn_mask._data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if mask.dtype not in (np.bool_, np.float32, qd):  # torch's rule: bool, float32 or the query's dtype
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {mask.dtype} and  query.dtype: {qd} instead.")
        if is_causal:  # as torch 2.13's CPU flash kernel: both apply, the causal mask folded into attn_mask
            keep = np.tril(np.ones((query.shape[-2], key.shape[-2]), dtype=bool))
            mask = mask & keep if mask.dtype == np.bool_ else np.where(keep, mask, qd.type(-np.inf))
            is_causal = False
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    seed = 0
    if dropout_p > 0.0:
        seed = int(_random.generator().integers(0, 2 ** 64, dtype=np.uint64))
    return ScaledDotProductAttentionFn.apply(query, key, value, attn_mask=mask, is_causal=bool(is_causal),
                                             scale=scale, enable_gqa=bool(enable_gqa), dropout_p=dropout_p,
                                             dropout_seed=seed)
