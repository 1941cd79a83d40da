"""Losses in plain NumPy: the oracle for firstepoch.ops.loss (cross-entropy: the fused
_C.cross_entropy_forward / cross_entropy_backward kernels), arguments in the same order."""
import numpy as np

from .softmax import log_softmax_forward, softmax_forward

_REDUCE = {"none": lambda v, d: v, "sum": lambda v, d: v.sum(), "mean": lambda v, d: v.sum() / d}


def cross_entropy_forward(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's F.cross_entropy for (N, C) logits and (N,) class indices.

    loss_i = -(1 - eps) * w[t_i] * logp[i, t_i] - eps / C * sum_c w[c] * logp[i, c]; ignored rows give 0;
    'mean' divides by the sum of w[t_i] over the rows that are not ignored.
    """
    n, c = logits.shape
    logp = log_softmax_forward(logits, dim=1)
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


def cross_entropy_backward(logits, target, grad=None, weight=None, ignore_index=-100, label_smoothing=0.0):
    """d(sum_i grad_i * loss_i) / d logits (grad None: all ones), written out from the formula above.
    ops.loss.cross_entropy_backward takes the same arguments, with the forward's stats after logits."""
    n, c = logits.shape
    p = softmax_forward(logits, dim=1)
    w = np.ones(c, dtype=logits.dtype) if weight is None else weight
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    g = np.ones(n, dtype=logits.dtype) if grad is None else grad
    eps = label_smoothing
    onehot = np.zeros_like(p)
    onehot[np.arange(n), t] = 1
    d = p * ((1 - eps) * w[t] + eps * w.sum() / c)[:, None] - (1 - eps) * w[t][:, None] * onehot - eps * w / c
    return np.where(keep[:, None], d * g[:, None], 0)


def nll_loss_forward(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[t_i] * logp[i, t_i] over (N, C) log-probabilities; 'mean' divides by the kept rows' weights."""
    n, c = logp.shape
    w = np.ones(c, dtype=logp.dtype) if weight is None else weight
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    wt = np.where(keep, w[t], 0)
    return _REDUCE[reduction](-wt * logp[np.arange(n), t], wt.sum())


def mse_loss_forward(x, y, reduction="mean"):
    return _REDUCE[reduction]((x - y) ** 2, np.size(x))


def l1_loss_forward(x, y, reduction="mean"):
    return _REDUCE[reduction](np.abs(x - y), np.size(x))


def binary_cross_entropy_with_logits_forward(z, y, reduction="mean", pos_weight=None):
    """-[pw * y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], written as the formula."""
    pw = 1.0 if pos_weight is None else pos_weight
    s = 1 / (1 + np.exp(-z))
    return _REDUCE[reduction](-(pw * y * np.log(s) + (1 - y) * np.log(1 - s)), np.size(z))
