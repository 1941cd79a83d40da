"""Softmax family on NumPy arrays over the fused C++ kernels.

The kernels work on the last axis of a C-contiguous array. For another axis (or a non-contiguous
array) the data is moved into that layout first: one documented copy, in and out.
"""
import numpy as np

from .. import _C

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _check_float(x, name):
    if not isinstance(x, np.ndarray) or x.dtype not in _FLOATS:
        raise TypeError(f"{name} must be a float32 or float64 numpy array, got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")


def _as_rows(x, dim):
    """(2-D C-contiguous view or copy with `dim` last, function that restores the original layout)."""
    dim = dim % x.ndim
    moved = np.moveaxis(x, dim, -1)
    rows = np.ascontiguousarray(moved).reshape(-1, x.shape[dim] if x.ndim else 1)

    def restore(y2):
        return np.moveaxis(y2.reshape(moved.shape), -1, dim)
    return rows, restore


def softmax(x, dim=-1, log=False):
    _check_float(x, "x")
    if x.ndim == 0:
        raise ValueError("softmax: x must have at least one axis")
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
