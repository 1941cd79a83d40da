"""Softmax, log-softmax and cross-entropy in plain NumPy: the oracle for the fused C++ kernels."""
import numpy as np


def softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)  # the max subtracted: exp never overflows
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_backward(y, dy, axis=-1):
    """dx for y = softmax(x): y * (dy - sum(dy * y))."""
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def log_softmax_backward(y, dy, axis=-1):
    """dx for y = log_softmax(x): dy - softmax(x) * sum(dy)."""
    return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's F.cross_entropy for (N, C) logits and (N,) class indices.

    loss_i = -(1 - eps) * w[t_i] * logp[i, t_i] - eps / C * sum_c w[c] * logp[i, c]; ignored rows give 0;
    'mean' divides by the sum of w[t_i] over the rows that are not ignored.
    """
    n, c = logits.shape
    logp = log_softmax(logits, axis=1)
    w = np.ones(c, dtype=logits.dtype) if weight is None else weight
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    nll = -w[t] * logp[np.arange(n), t]
    smooth = -(logp * w).sum(axis=1) / c
    per_row = np.where(keep, (1 - label_smoothing) * nll + label_smoothing * smooth, 0)
    if reduction == "none":
        return per_row
    if reduction == "sum":
        return per_row.sum()
    return per_row.sum() / np.where(keep, w[t], 0).sum()


def cross_entropy_backward(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, grad=None):
    """d(sum_i grad_i * loss_i) / d logits, written out from the formula above."""
    n, c = logits.shape
    p = softmax(logits, axis=1)
    w = np.ones(c, dtype=logits.dtype) if weight is None else weight
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    g = np.ones(n, dtype=logits.dtype) if grad is None else grad
    eps = label_smoothing
    onehot = np.zeros_like(p)
    onehot[np.arange(n), t] = 1
    d = p * ((1 - eps) * w[t] + eps * w.sum() / c)[:, None] - (1 - eps) * w[t][:, None] * onehot - eps * w / c
    return np.where(keep[:, None], d * g[:, None], 0)
