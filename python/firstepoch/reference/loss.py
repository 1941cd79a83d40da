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


def binary_cross_entropy_with_logits_forward(z, y, reduction="mean", pos_weight=None, weight=None):
    """-w [pw * y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], written as the formula."""
    pw = 1.0 if pos_weight is None else pos_weight
    w = 1.0 if weight is None else weight
    s = 1 / (1 + np.exp(-z))
    return _REDUCE[reduction](-w * (pw * y * np.log(s) + (1 - y) * np.log(1 - s)), np.size(z))


def binary_cross_entropy_forward(x, y, weight=None, reduction="mean"):
    """-w [y log x + (1 - y) log(1 - x)] over probabilities x, each log clamped to >= -100 (as torch)."""
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100)
        log_1mx = np.maximum(np.log(1 - x), -100)
    loss = -(y * log_x + (1 - y) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _REDUCE[reduction](loss, np.size(x))


def smooth_l1_loss_forward(x, y, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, for d = x - y (beta = 0: |d|)."""
    d = np.abs(x - y)
    loss = d if beta == 0 else np.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta)
    return _REDUCE[reduction](loss, np.size(loss))


def huber_loss_forward(x, y, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), for d = x - y."""
    d = np.abs(x - y)
    loss = np.where(d < delta, 0.5 * d ** 2, delta * (d - 0.5 * delta))
    return _REDUCE[reduction](loss, np.size(loss))


def kl_div_forward(x, y, reduction="mean", log_target=False):
    """Pointwise KL terms of log-probabilities x against y: y (log y - x) (0 where y = 0), or with
    log_target exp(y) (y - x); 'batchmean' divides the sum by the batch size x.shape[0]."""
    if log_target:
        loss = np.exp(y) * (y - x)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = np.where(y == 0, 0, y * (np.log(y) - x))
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if np.ndim(x) else 1)
    return _REDUCE[reduction](loss, np.size(loss))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(|x1|, eps) max(|x2|, eps)) along dim."""
    n1 = np.maximum(np.sqrt((x1 * x1).sum(axis=dim)), eps)
    n2 = np.maximum(np.sqrt((x2 * x2).sum(axis=dim)), eps)
    return (x1 * x2).sum(axis=dim) / (n1 * n2)


def triplet_margin_loss(a, p, n, margin=1.0, norm=2, eps=1e-6, swap=False, reduction="mean"):
    """max(0, margin + |a - p + eps|_norm - |a - n + eps|_norm) per row (rows along the last axis)."""
    def dist(u, v):
        return (np.abs(u - v + eps) ** norm).sum(axis=-1) ** (1 / norm)
    d_neg = dist(a, n)
    if swap:
        d_neg = np.minimum(d_neg, dist(p, n))
    loss = np.maximum(margin + dist(a, p) - d_neg, 0)
    return _REDUCE[reduction](loss, np.size(loss))


def cross_entropy_probabilities(logits, probs, weight=None, reduction="mean", label_smoothing=0.0):
    """-sum_c w_c t_c log_softmax(logits)_c for (N, C) logits and (N, C) class probabilities t (smoothed as
    t (1 - eps) + eps / C); 'mean' divides by N."""
    n, c = logits.shape
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    t = probs * (1 - label_smoothing) + label_smoothing / c
    w = np.ones(c) if weight is None else weight
    return _REDUCE[reduction](-(w * t * logp).sum(axis=1), n)


# ---- the pointwise-loss kernel's twins: _C.pointwise_loss_forward / _backward -----------------------------
# input and target of one shape; pos_weight and weight broadcast to it (None: 1). Each kind's gradient
# written out from its formula above.

def _pointwise_loss(kind, x, y, param, pos_weight, weight):
    """(per-element loss, d loss/d input, d loss/d target) of `kind`."""
    pw = 1.0 if pos_weight is None else pos_weight
    w = 1.0 if weight is None else weight
    d = x - y
    with np.errstate(all="ignore"):
        if kind == "binary_cross_entropy_with_logits":
            s = 1 / (1 + np.exp(-x))
            loss = binary_cross_entropy_with_logits_forward(x, y, "none", pos_weight, weight)
            return loss, w * (s * (1 + (pw - 1) * y) - pw * y), w * (-x - (pw - 1) * np.log(s))
        if kind == "binary_cross_entropy":
            loss = binary_cross_entropy_forward(x, y, weight, "none")
            return (loss, w * (x - y) / np.maximum(x * (1 - x), np.float32(1e-12)),
                    w * (np.log(1 - x) - np.log(x)))
        if kind == "smooth_l1":
            slope = np.where(np.abs(d) < param, d / param if param else 0.0, np.sign(d))
            return smooth_l1_loss_forward(x, y, "none", param), slope, -slope
        if kind == "huber":
            slope = np.where(np.abs(d) < param, d, param * np.sign(d))
            return huber_loss_forward(x, y, "none", param), slope, -slope
        if kind == "kl_div":
            return kl_div_forward(x, y, "none"), -y, np.where(y == 0, np.nan, np.log(y) + 1 - x)
        if kind == "kl_div_log_target":
            return kl_div_forward(x, y, "none", True), -np.exp(y), np.exp(y) * (y - x + 1)
        if kind == "mse":
            return d ** 2, 2 * d, -2 * d
        if kind == "l1":  # torch's sign: 0 at NaN
            sign = (d > 0) * 1.0 - (d < 0)
            return np.abs(d), sign, -sign
    raise ValueError(f"unknown pointwise loss kind {kind!r}")


def pointwise_loss_forward(input, target, kind, reduction="mean", param=0.0, pos_weight=None, weight=None):
    """The pointwise loss `kind` (binary_cross_entropy_with_logits, binary_cross_entropy, smooth_l1 (param:
    beta), huber (param: delta), kl_div, kl_div_log_target, mse, l1), reduced ('mean' over every element)."""
    loss, _, _ = _pointwise_loss(kind, input, target, param, pos_weight, weight)
    return _REDUCE[reduction](loss, np.size(loss))


def pointwise_loss_backward(grad, input, target, kind, reduction="mean", param=0.0, pos_weight=None, weight=None):
    """(d/d input, d/d target) of sum(grad * loss) ('none'), grad * the sum ('sum') or grad * the mean."""
    _, dx, dy = _pointwise_loss(kind, input, target, param, pos_weight, weight)
    g = grad / np.size(input) if reduction == "mean" else grad
    return np.broadcast_to(dx * g, np.shape(input)), np.broadcast_to(dy * g, np.shape(input))
