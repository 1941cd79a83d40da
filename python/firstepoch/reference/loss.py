"""Losses in plain NumPy: the oracle for firstepoch.ops.loss. cross_entropy_forward / _backward are the
twins of the fused _C.cross_entropy_forward / cross_entropy_backward kernels, with the same names and
argument order (less _C's output buffers) and the same results (per-row losses and stats);
cross_entropy is PyTorch's F.cross_entropy (with reduction) on top of them."""
import numpy as np

_REDUCE = {"none": lambda v, d: v, "sum": lambda v, d: v.sum(), "mean": lambda v, d: v.sum() / d}


def _weights_and_targets(target, weight, ignore_index, c, dtype):
    """(per-class weights, which rows are kept, the targets with ignored rows pointed at class 0)."""
    w = np.ones(c, dtype=dtype) if weight is None else weight
    keep = target != ignore_index
    return w, keep, np.where(keep, target, 0)


def cross_entropy_forward(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    """(loss, stats) for (N, C) logits and (N,) class indices: per row
    loss_i = -(1 - eps) * w[t_i] * logp[i, t_i] - eps / C * sum_c w[c] * logp[i, c] (ignored rows: 0),
    stats (2, N) = each row's max and log(sum(exp(logits - max))), which the backward reads."""
    n, c = logits.shape
    row_max = logits.max(axis=1) if c else np.zeros(n, logits.dtype)
    lse = np.log(np.exp(logits - row_max[:, None]).sum(axis=1))
    logp = logits - row_max[:, None] - lse[:, None]
    w, keep, t = _weights_and_targets(target, weight, ignore_index, c, logits.dtype)
    nll = -w[t] * logp[np.arange(n), t] if c else np.zeros(n, logits.dtype)
    smooth = -(logp * w).sum(axis=1) / max(c, 1)
    loss = np.where(keep, (1 - label_smoothing) * nll + label_smoothing * smooth, 0)
    return loss.astype(logits.dtype, copy=False), np.stack([row_max, lse]).astype(logits.dtype, copy=False)


def cross_entropy_backward(logits, stats, target, grad=None, weight=None, ignore_index=-100, label_smoothing=0.0):
    """d(sum_i grad_i * loss_i) / d logits (grad None: all ones), written out from the formula above,
    with softmax(logits) taken from the forward's stats."""
    n, c = logits.shape
    p = np.exp(logits - stats[0][:, None] - stats[1][:, None])
    w, keep, t = _weights_and_targets(target, weight, ignore_index, c, logits.dtype)
    g = np.ones(n, dtype=logits.dtype) if grad is None else grad
    eps = label_smoothing
    onehot = np.zeros_like(p)
    onehot[np.arange(n), t] = 1
    d = p * ((1 - eps) * w[t] + eps * w.sum() / c)[:, None] - (1 - eps) * w[t][:, None] * onehot - eps * w / c
    return np.where(keep[:, None], d * g[:, None], 0)


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's F.cross_entropy: cross_entropy_forward's per-row losses reduced; 'mean' divides by the sum
    of w[t_i] over the rows that are not ignored."""
    loss, _ = cross_entropy_forward(logits, target, weight, ignore_index, label_smoothing)
    w, keep, t = _weights_and_targets(target, weight, ignore_index, logits.shape[1], logits.dtype)
    return _REDUCE[reduction](loss, np.where(keep, w[t], 0).sum())


def nll_loss_forward(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[t_i] * logp[i, t_i] over (N, C) log-probabilities; 'mean' divides by the kept rows' weights."""
    n, c = logp.shape
    w, keep, t = _weights_and_targets(target, weight, ignore_index, c, logp.dtype)
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
