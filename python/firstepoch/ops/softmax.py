"""Softmax and log-softmax along any dim, on the fused C++ row kernels, forward and backward.

softmax:      y = exp(x - max) / sum(exp(x - max))       backward: dx = y * (dy - sum(dy * y))
log_softmax:  y = x - max - log(sum(exp(x - max)))       backward: dx = dy - exp(y) * sum(dy)
The kernels work on the last axis of a C-contiguous 2-D array; for another axis (or a non-contiguous
array) the input is copied once into that layout, and the result comes back as a view with the axis
moved back into place (no second copy, so it is not C-contiguous).

`_C` entries: `softmax_forward`, `softmax_backward` (each with `log=`). Reference:
`firstepoch.reference.softmax`, with the same names and arguments as the array functions here
(`softmax_forward(x, dim, log)`, `softmax_backward(y, dy, dim, log)`, and the log_softmax_* spellings).
Cross-entropy (log-softmax + NLL in one kernel) is in ops/loss.py.
"""
import warnings

import numpy as np

from .. import _C
from ..autograd.function import Function

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _check_float(x, name):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a float32 or float64 numpy array, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{name} must be a float32 or float64 numpy array, got dtype {x.dtype} with shape {x.shape}")


def _check_dim(dim, ndim, name="softmax"):
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {type(dim).__name__}")
    if not -ndim <= dim < ndim:
        raise IndexError(f"{name}: dim {dim} is out of range for an array with {ndim} axes")
    return int(dim) % ndim


def _as_rows(x, dim):
    """(2-D C-contiguous view or copy with `dim` last, function that restores the original layout)."""
    dim = _check_dim(dim, x.ndim)
    moved = np.moveaxis(x, dim, -1)
    cols = x.shape[dim]
    rows = np.ascontiguousarray(moved).reshape(x.size // cols if cols else 0, cols)

    def restore(y2):
        return np.moveaxis(y2.reshape(moved.shape), -1, dim)
    return rows, restore


# ---- on arrays ------------------------------------------------------------------------------------

def softmax_forward(x, dim=-1, log=False):
    """softmax(x) along dim (log_softmax with log=True) on the row kernel."""
    _check_float(x, "x")
    if x.ndim == 0:
        raise ValueError("softmax: x must have at least one axis, got a 0-d array")
    rows, restore = _as_rows(x, dim)
    out = np.empty_like(rows)
    _C.softmax_forward(rows, out, log=log)
    return restore(out)


def softmax_backward(y, dy, dim=-1, log=False):
    """dx from the forward's output y and the gradient dy."""
    _check_float(y, "y")
    _check_float(dy, "dy")
    if y.shape != dy.shape:
        raise ValueError(f"softmax_backward: y {y.shape} and dy {dy.shape} differ")
    if y.dtype != dy.dtype:
        raise TypeError(f"softmax_backward: y is {y.dtype} but dy is {dy.dtype}")
    if y.ndim == 0:
        raise ValueError("softmax_backward: y must have at least one axis, got a 0-d array")
    y2, restore = _as_rows(y, dim)
    dy2, _ = _as_rows(dy, dim)
    dx = np.empty_like(y2)
    _C.softmax_backward(y2, dy2, dx, log=log)
    return restore(dx)


def log_softmax_forward(x, dim=-1):
    return softmax_forward(x, dim, log=True)


def log_softmax_backward(y, dy, dim=-1):
    return softmax_backward(y, dy, dim, log=True)


# ---- autograd ------------------------------------------------------------------------------------

class SoftmaxFn(Function):
    """softmax(x, dim) (or log_softmax with log=True): one kernel for both, backward from the output."""

    kernel = "softmax"

    @staticmethod
    def forward(ctx, x, dim=-1, log=False):
        y = softmax_forward(x, dim, log)
        ctx.save_for_backward(y)
        ctx.args = (dim, log)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return softmax_backward(y, grad, *ctx.args), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        dim, log = ctx.args
        y = SoftmaxFn.apply(ctx.parents[0], dim, log)  # recomputed from the input: its derivative is needed
        if log:
            return grad - y.exp() * grad.sum(dim, keepdim=True), None, None
        return y * (grad - (grad * y).sum(dim, keepdim=True)), None, None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 5)),), {"dim": -1}), ((rng.standard_normal((4, 3, 2)),), {"dim": 1}),
                ((rng.standard_normal((3, 5)),), {"dim": -1, "log": True}),
                ((rng.standard_normal((4, 3, 2)),), {"dim": 0, "log": True})]


def _apply(input, dim, log):
    dtype = getattr(input, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind != "f":  # torch: NotImplementedError for an integer input
        name = "log_softmax" if log else "softmax"
        raise NotImplementedError(f'"{name}_lastdim_kernel_impl" not implemented for {np.dtype(dtype)} input '
                                  f"(floating tensors only, as PyTorch; dtype= casts first)")
    if getattr(input, "ndim", 1) == 0:  # a 0-d tensor: dim 0 or -1 names it (as torch); one row of one entry
        _check_dim(dim, 1, "log_softmax" if log else "softmax")
        return SoftmaxFn.apply(input.reshape(1), 0, log).reshape(())
    return SoftmaxFn.apply(input, dim, log)


def implicit_dim(name, ndim, stacklevel):
    """PyTorch's rule for softmax without a dim (deprecated there, with this warning): 0 for 0-, 1- and
    3-d inputs, else 1."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  "dim=X as an argument.", UserWarning, stacklevel=stacklevel + 1)
    return 0 if ndim in (0, 1, 3) else 1


def _functional(input, dim, stacklevel, dtype, log):
    name = "log_softmax" if log else "softmax"
    if dim is None:
        dim = implicit_dim(name, getattr(input, "ndim", 1), stacklevel + 1)
    if dtype is not None:  # as torch: the input is cast first (the op then runs in that dtype)
        input = input.to(dtype)
    return _apply(input, dim, log)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """As torch.nn.functional.softmax (a 0-d input gives 1, as torch); dim=None picks the dim by
    PyTorch's deprecated implicit rule, with its warning; dtype casts the input first."""
    return _functional(input, dim, _stacklevel, dtype, False)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """As torch.nn.functional.log_softmax (a 0-d input gives 0, as torch); dim and dtype as softmax."""
    return _functional(input, dim, _stacklevel, dtype, True)
