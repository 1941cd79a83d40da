"""torch.nn.utils: the gradient utilities clip_grad_norm_, clip_grad_value_, parameters_to_vector,
vector_to_parameters (`foreach` is accepted and changes nothing: there is one NumPy path), and the
variable-length sequence tools in nn.utils.rnn."""
import math

import numpy as np

from ...tensor import Tensor
from . import rnn


def _as_list(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(a, p):
    """torch.linalg.vector_norm(a, p) of one array, in float64: inf / -inf the largest / smallest magnitude
    (a RuntimeError on an empty array, which has none), 0 the count of nonzero entries."""
    if p in (math.inf, -math.inf):
        if a.size == 0:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on an empty tensor because the "
                               "operation does not have an identity")
        return float(np.abs(a).max() if p > 0 else np.abs(a).min())
    if p == 0:
        return float(np.count_nonzero(a))
    with np.errstate(divide="ignore", over="ignore"):
        return float(np.sum(np.abs(a.astype(np.float64)) ** p) ** (1.0 / p))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales all gradients together so their total norm is at most max_norm; returns the total norm
    before clipping as a 0-d Tensor of the gradients' (promoted) dtype, tensor(0.) when no parameter
    has a gradient. PyTorch's semantics: the total is the norm_type-norm of the per-gradient norms
    (norm_type a number or "inf"; 0 thus counts the gradients with a nonzero entry), every gradient is
    multiplied by min(max_norm / (total + 1e-6), 1) (a NaN total makes every gradient NaN, an infinite
    one multiplies by 0), and error_if_nonfinite raises RuntimeError instead.
    The norms are summed in float64 (torch sums in the gradients' dtype: the last bits may differ)."""
    params = [p for p in _as_list(parameters) if p.grad is not None]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not params:
        return Tensor._wrap(np.array(0.0, np.float32), False)
    grads = [p.grad._data for p in params]
    dtype = np.result_type(*[g.dtype for g in grads])
    total = _vector_norm(np.array([_vector_norm(g, norm_type) for g in grads]), norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1:  # torch multiplies by clamp(coef, max=1): a factor of 1 changes nothing, NaN spreads
        with np.errstate(invalid="ignore"):  # inf * 0 is NaN there, silently as in torch
            for g in grads:
                g *= g.dtype.type(coef)
    return Tensor._wrap(np.array(total, dtype), False)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clips every gradient entry into [-clip_value, clip_value], in place (torch's clamp: with a negative
    clip_value every entry becomes clip_value)."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one vector (part of the graph, as torch's cat of
    views)."""
    from ...tensor import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Writes consecutive slices of vec into the parameters' data (shapes from the parameters), as torch;
    a vec that is no Tensor is a TypeError."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n
