"""Softmax and log-softmax in plain NumPy: the oracle for the fused C++ kernels (firstepoch.ops.softmax;
_C.softmax_forward / softmax_backward), with the same names and arguments (the kernels see the rows
of a 2-D array, so `dim` is ops' to move last). Cross-entropy is in reference/loss.py."""
import numpy as np


def softmax_forward(x, dim=-1, log=False):
    """softmax(x) along dim, or log_softmax(x) with log=True."""
    shifted = x - x.max(axis=dim, keepdims=True)  # the max subtracted: exp never overflows
    if log:
        return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
    e = np.exp(shifted)
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(y, dy, dim=-1, log=False):
    """dx from the forward's output y: y * (dy - sum(dy * y)) for softmax, dy - exp(y) * sum(dy) for
    log_softmax (log=True)."""
    if log:
        return dy - np.exp(y) * dy.sum(axis=dim, keepdims=True)
    return y * (dy - (dy * y).sum(axis=dim, keepdims=True))


def log_softmax_forward(x, dim=-1):
    return softmax_forward(x, dim, log=True)


def log_softmax_backward(y, dy, dim=-1):
    return softmax_backward(y, dy, dim, log=True)
