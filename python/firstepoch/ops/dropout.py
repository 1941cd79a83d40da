"""Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p), so the
expected activation is unchanged and evaluation needs no rescaling. Backward: grad * mask / (1-p).

No `_C` entry (one NumPy multiply); masks come from firstepoch.manual_seed's generator.
Reference: `firstepoch.reference.dropout` (`dropout_forward`, `dropout_backward`).
"""
from .. import random as _random
from ..autograd.function import Function, constant_like


class DropoutFn(Function):
    """dropout(x, p, keep): keep is the boolean mask (drawn from firstepoch's generator when not given)."""

    @staticmethod
    def forward(ctx, x, p, keep=None):
        if keep is None:
            keep = _random.generator().random(x.shape) >= p
        elif keep.shape != x.shape:
            raise ValueError(f"dropout: keep mask has shape {keep.shape}, input has {x.shape}")
        scale = keep * x.dtype.type(1.0 / (1.0 - p))
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, grad):
        (scale,) = ctx.saved_tensors
        return grad * scale, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        return grad * constant_like(ctx.saved_tensors[0], grad), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((4, 5))
        return [((x, 0.3, rng.random((4, 5)) >= 0.3), {})]


def dropout(x, p=0.5, training=True):
    """Zeroes elements with probability p while training (scaling the rest by 1/(1-p)); identity otherwise."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0  # every element dropped; still in the graph, with a zero gradient
    return DropoutFn.apply(x, p)
