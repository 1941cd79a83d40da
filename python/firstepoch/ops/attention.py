"""Scaled dot-product attention, as torch.nn.functional.scaled_dot_product_attention. TEMPORARY composite
version (matmul, masked_fill, softmax, dropout: autograd comes from those ops); the fused-kernel version
replaces this file whole."""
import math

import numpy as np

from ..tensor import Tensor
from .dropout import dropout


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """softmax(query @ key^T * scale + mask) @ value over (..., L, E) queries, (..., S, E) keys and (..., S, Ev)
    values, as torch: scale defaults to 1/sqrt(E); a bool attn_mask marks with True the positions that take
    part, a float one is added to the scores; is_causal masks the upper triangle (top-left aligned) and
    cannot be combined with attn_mask; dropout_p > 0 drops attention weights (always, as torch's F);
    a query row whose keys are all masked gives zeros, as torch's CPU kernel."""
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    blocked = None  # bool, True where a position may not be attended
    if is_causal:
        blocked = ~np.tril(np.ones((L, S), dtype=bool))
    elif attn_mask is not None:
        mask = attn_mask._data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if mask.dtype == np.bool_:
            blocked = ~mask
        else:
            scores = scores + attn_mask
    if blocked is not None:
        scores = scores.masked_fill(blocked, -math.inf)
    empty = np.isneginf(scores._data).all(axis=-1, keepdims=True)  # rows with nothing to attend
    if empty.any():
        scores = scores.masked_fill(empty, 0.0)
    attn = scores.softmax(-1)
    if empty.any():
        attn = attn.masked_fill(empty, 0.0)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, training=True)
    return attn @ value
