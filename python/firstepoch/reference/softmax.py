"""Softmax and log-softmax in plain NumPy: the oracle for the fused C++ kernels (firstepoch.ops.softmax;
_C.softmax_forward / softmax_backward). Cross-entropy is in reference/loss.py."""
import numpy as np


def softmax_forward(x, dim=-1):
    shifted = x - x.max(axis=dim, keepdims=True)  # the max subtracted: exp never overflows
    e = np.exp(shifted)
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax_forward(x, dim=-1):
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


def softmax_backward(y, dy, dim=-1):
    """dx for y = softmax(x): y * (dy - sum(dy * y))."""
    return y * (dy - (dy * y).sum(axis=dim, keepdims=True))


def log_softmax_backward(y, dy, dim=-1):
    """dx for y = log_softmax(x): dy - softmax(x) * sum(dy)."""
    return dy - np.exp(y) * dy.sum(axis=dim, keepdims=True)
