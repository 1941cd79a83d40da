"""Softmax family on NumPy arrays over the fused C++ kernels.

The kernels work on the last axis of a C-contiguous array; softmax/log_softmax take any `dim`. For
another axis (or a non-contiguous array) the input is copied once into that layout, and the result
comes back as a view with the axis moved back into place (no second copy, so it is not C-contiguous).
"""
import numpy as np

from .. import _C

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


def softmax(x, dim=-1, log=False):
    _check_float(x, "x")
    if x.ndim == 0:
        raise ValueError("softmax: x must have at least one axis, got a 0-d array")
    rows, restore = _as_rows(x, dim)
    out = np.empty_like(rows)
    _C.softmax_forward(rows, out, log=log)
    return restore(out)


def log_softmax(x, dim=-1):
    return softmax(x, dim, log=True)


def softmax_backward(y, dy, dim=-1, log=False):
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


def cross_entropy_rows(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    """Per-row losses of (N, C) logits (the fused kernel), and stats (2, N): each row's max and
    log(sum(exp(logits - max))), which the backward needs."""
    n = logits.shape[0]
    loss = np.empty(n, logits.dtype)
    stats = np.empty((2, n), logits.dtype)
    _C.cross_entropy_forward(logits, target, loss, stats, weight=weight, ignore_index=ignore_index,
                             label_smoothing=label_smoothing)
    return loss, stats


def cross_entropy_backward(logits, stats, target, grad_rows, weight=None, ignore_index=-100, label_smoothing=0.0):
    d = np.empty_like(logits)
    _C.cross_entropy_backward(logits, stats, target, grad_rows, d, weight=weight, ignore_index=ignore_index,
                              label_smoothing=label_smoothing)
    return d
