"""torch.nn.utils.clip_grad: the gradient-norm utilities get_total_norm, clip_grads_with_norm_,
clip_grad_norm_ (and its deprecated spelling clip_grad_norm) and clip_grad_value_ (`foreach` is accepted and
changes nothing: there is one NumPy path). nn.utils re-exports them."""
import math
import warnings

import numpy as np

from ...autograd.function import capture_refuse
from ...tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


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


_NONFINITE = ("The total norm of order {} for gradients from `parameters` is non-finite, so it cannot be clipped. "
              "To disable this error and scale the gradients by the non-finite norm anyway, set "
              "`error_if_nonfinite=False`")


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm_type-norm of the tensors' norms (as if all were one vector), a 0-d Tensor of their promoted
    dtype; tensor(0.) for no tensors. norm_type a number or "inf" (0 counts the nonzero entries).
    error_if_nonfinite=True raises RuntimeError on a NaN or infinite total. The norms are summed in float64
    (torch sums in the tensors' dtype: the last bits may differ)."""
    capture_refuse("get_total_norm / clip_grad_norm_: the norm is computed in NumPy (firstepoch.capture would "
                   "replay the captured batch's value)")
    arrays = [t._data for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor._wrap(np.array(0.0, np.float32), False)
    dtype = np.result_type(*[a.dtype for a in arrays])
    total = _vector_norm(np.array([_vector_norm(a, norm_type) for a in arrays]), norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(_NONFINITE.format(norm_type))
    return Tensor._wrap(np.array(total, dtype), False)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Multiplies every gradient by min(max_norm / (total_norm + 1e-6), 1), in place, as torch (a NaN
    total_norm makes every gradient NaN, an infinite one multiplies by 0). total_norm is a Tensor or number,
    usually get_total_norm's of the gradients."""
    capture_refuse("clip_grads_with_norm_: the gradients are scaled in NumPy (a replay would skip it)")
    grads = [p.grad._data for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    coef = float(max_norm) / (float(total_norm) + 1e-6)
    if not coef >= 1:  # torch multiplies by clamp(coef, max=1): a factor of 1 changes nothing, NaN spreads
        with np.errstate(invalid="ignore"):  # inf * 0 is NaN there, silently as in torch
            for g in grads:
                g *= g.dtype.type(coef)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales all gradients together so their total norm is at most max_norm; returns the total norm
    before clipping as a 0-d Tensor of the gradients' (promoted) dtype, tensor(0.) when no parameter
    has a gradient: get_total_norm of the gradients, then clip_grads_with_norm_, as torch."""
    params = [p for p in _as_list(parameters) if p.grad is not None]
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clips every gradient entry into [-clip_value, clip_value], in place (torch's clamp: with a negative
    clip_value every entry becomes clip_value)."""
    capture_refuse("clip_grad_value_: the gradients are clipped in NumPy (a replay would skip it)")
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """clip_grad_norm_ under its old name, with torch's FutureWarning."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
