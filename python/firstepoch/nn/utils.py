"""Gradient utilities."""
import math

import numpy as np

from ..tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scales all gradients together so their global norm is at most max_norm; returns the norm
    before clipping as a 0-d Tensor of the gradients' (promoted) dtype, tensor(0.) when no parameter
    has a gradient (PyTorch's semantics: scale = max_norm / (norm + 1e-6), applied only if < 1).
    The norm is summed in float64 (torch sums in the gradients' dtype: the last bits may differ)."""
    params = [p for p in ([parameters] if hasattr(parameters, "grad") else parameters) if p.grad is not None]
    if not params:
        return Tensor._wrap(np.array(0.0, np.float32), False)
    grads = [p.grad._data for p in params]
    dtype = np.result_type(*[g.dtype for g in grads])
    if norm_type == math.inf:
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = float(sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads)
                      ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total gradient norm is {total}")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= g.dtype.type(coef)
    return Tensor._wrap(np.array(total, dtype), False)


def clip_grad_value_(parameters, clip_value):
    for p in ([parameters] if hasattr(parameters, "grad") else parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
