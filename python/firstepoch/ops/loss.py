"""Loss functions, forward and backward: cross_entropy is one fused C++ kernel (log-softmax + NLL, with
class weights, ignore_index and label smoothing); nll_loss, mse_loss, l1_loss and
binary_cross_entropy_with_logits are a few NumPy lines each, with their gradients beside them.

cross_entropy per row i:  loss_i = -(1 - eps) w[t_i] logp[i, t_i] - eps / C sum_c w[c] logp[i, c],
                          logp = log_softmax(logits[i]); ignored rows give 0
                          backward: dlogits_i = g_i * (p_i * ((1 - eps) w[t_i] + eps sum(w) / C)
                                                - (1 - eps) w[t_i] onehot(t_i) - eps w / C)
The kernel saves each row's max and log-sum-exp ("stats") for the backward.

`_C` entries: `cross_entropy_forward`, `cross_entropy_backward`, wrapped by the array functions of the
same names here. Reference: `firstepoch.reference.loss`: `cross_entropy_forward`, `cross_entropy_backward`
(the same names, arguments and results: per-row losses and stats), `cross_entropy` (CrossEntropyFn's
arguments, reduction included), and NumPy forms of the others.
"""
import numpy as np

from .. import _C
from ..autograd.function import Function, TensorBase, constant_like

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(per_elem, reduction, denom=None):
    if reduction == "none":
        return per_elem
    total = per_elem.sum()  # NumPy's pairwise sum: a fixed order, whatever the thread count
    if reduction == "sum":
        return np.asarray(total)
    d = per_elem.size if denom is None else denom
    if not d:  # nothing kept: NaN, as in PyTorch (without NumPy's division warning)
        return np.asarray(np.nan, dtype=per_elem.dtype)
    return np.asarray(total / d)


def cross_entropy_forward(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0):
    """Per-row losses of (N, C) logits (the fused kernel), and stats (2, N): each row's max and
    log(sum(exp(logits - max))), which the backward needs."""
    n = logits.shape[0]
    loss = np.empty(n, logits.dtype)
    stats = np.empty((2, n), logits.dtype)
    _C.cross_entropy_forward(logits, target, loss, stats, weight=weight, ignore_index=ignore_index,
                             label_smoothing=label_smoothing)
    return loss, stats


def cross_entropy_backward(logits, stats, target, grad, weight=None, ignore_index=-100, label_smoothing=0.0):
    """dlogits of sum_i grad[i] * loss_i, from the forward's stats."""
    d = np.empty_like(logits)
    _C.cross_entropy_backward(logits, stats, target, grad, d, weight=weight, ignore_index=ignore_index,
                              label_smoothing=label_smoothing)
    return d


class CrossEntropyFn(Function):
    """cross_entropy(logits (N, C), target int64 (N,)), PyTorch's semantics: class weights,
    ignore_index, label smoothing, reduction. The mean divides by the summed weight of the kept rows."""

    kernel = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        if reduction not in _REDUCTIONS:
            _check_reduction(reduction)
        logits = np.ascontiguousarray(logits)
        target = np.ascontiguousarray(target)
        dt = logits.dtype
        n = logits.shape[0]
        loss = np.empty(n, dt)
        stats = np.empty((2, n), dt)
        if weight is None and ignore_index == -100 and label_smoothing == 0.0:
            _C.cross_entropy_forward(logits, target, loss, stats)  # the defaults: no keyword parsing
        else:
            if weight is not None:
                weight = np.ascontiguousarray(weight, dtype=dt)
            _C.cross_entropy_forward(logits, target, loss, stats, weight=weight, ignore_index=ignore_index,
                                     label_smoothing=label_smoothing)
        ctx.saved_tensors = (logits, stats, target)
        denom = None
        if reduction == "mean":
            if weight is None:
                denom = n - np.count_nonzero(target == ignore_index)
            else:
                keep = target != ignore_index
                denom = (weight[np.where(keep, target, 0)] * keep).sum()
        ctx.args = (weight, ignore_index, reduction, label_smoothing, denom)
        if reduction == "none":
            return loss
        if denom:  # the mean of kept rows (_reduce's sum and division, without its checks)
            return np.asarray(np.add.reduce(loss) / denom).astype(dt, copy=False)
        return _reduce(loss, reduction, denom).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        logits, stats, target = ctx.saved_tensors
        weight, ignore_index, reduction, label_smoothing, denom = ctx.args
        n = logits.shape[0]
        dt = logits.dtype
        if reduction == "none":
            g = np.ascontiguousarray(grad, dtype=dt)
        elif reduction == "sum":
            g = np.full(n, grad, dtype=dt)
        elif denom:
            g = np.full(n, grad / denom, dtype=dt)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):  # no rows counted: 0 / 0, as PyTorch's nan
                g = np.full(n, grad / denom, dtype=dt)
        d = np.empty_like(logits)
        if weight is None and ignore_index == -100 and label_smoothing == 0.0:
            _C.cross_entropy_backward(logits, stats, target, g, d)
        else:
            _C.cross_entropy_backward(logits, stats, target, g, d, weight=weight, ignore_index=ignore_index,
                                      label_smoothing=label_smoothing)
        return d, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # The kernel's backward on Tensors (see the module doc), with p = softmax(logits) recomputed:
        # dlogits_i = g_i * (p_i * A_i - B_i); A and B depend only on targets and weights (constants).
        logits, target = ctx.parents[0], ctx.saved_tensors[2]
        weight, ignore_index, reduction, eps, denom = ctx.args
        n, c = logits.shape
        dt = logits.dtype
        w = np.ones(c, dt) if weight is None else np.asarray(weight, dt)
        keep = target != ignore_index
        t = np.where(keep, target, 0)
        wt = np.where(keep, w[t], 0).astype(dt)
        a = (1 - eps) * wt + eps * w.sum() / c * keep
        b = np.zeros((n, c), dt)
        b[np.arange(n), t] = (1 - eps) * wt
        b += eps / c * keep[:, None] * w[None, :]
        if reduction == "none":
            g = grad.reshape(n, 1)
        elif reduction == "sum" or not denom:
            g = grad if reduction == "sum" else grad * float("nan")  # no rows counted: nan, as backward
        else:
            g = grad / float(denom)
        p = logits.softmax(-1)
        dlogits = g * (p * constant_like(a[:, None].astype(dt), grad) - constant_like(b, grad))
        return dlogits, None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        logits = rng.standard_normal((5, 4))
        target = np.array([0, 3, 1, 1, 2])
        w = np.array([1.0, 2.0, 0.5, 1.5])
        return [((logits, target), {}),
                ((logits, np.array([0, -100, 1, 3, 2])), {"reduction": "sum", "label_smoothing": 0.2}),
                ((logits, target), {"weight": w, "reduction": "mean", "label_smoothing": 0.1}),
                ((logits, target), {"reduction": "none"})]


class NLLLossFn(Function):
    """nll_loss(log_probs (N, C), target (N,)): -log_probs[i, t_i], with weights and ignore_index."""

    @staticmethod
    def forward(ctx, logp, target, weight=None, ignore_index=-100, reduction="mean"):
        _check_reduction(reduction)
        n, c = logp.shape
        keep = target != ignore_index
        t = np.where(keep, target, 0)
        if np.any((t < 0) | (t >= c)):
            bad = int(np.flatnonzero((t < 0) | (t >= c))[0])
            raise IndexError(f"nll_loss: target[{bad}] = {target[bad]} is out of range for {c} classes")
        if weight is not None and np.shape(weight) != (c,):
            raise ValueError(f"nll_loss: weight must have shape ({c},) (one per class), got {np.shape(weight)}")
        w = np.ones(c, logp.dtype) if weight is None else weight
        wt = np.where(keep, w[t], 0).astype(logp.dtype)
        per_row = -wt * logp[np.arange(n), t]
        denom = wt.sum() if reduction == "mean" else None
        ctx.args = (logp.shape, t, wt, reduction, denom)
        return _reduce(per_row, reduction, denom).astype(logp.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        shape, t, wt, reduction, denom = ctx.args
        if reduction == "mean":  # no weight counted (no rows, all ignored): those rows' gradient is 0
            grad = grad / denom if denom else np.zeros_like(grad)
        g = grad if reduction == "none" else grad * np.ones(shape[0])
        d = np.zeros(shape, dtype=wt.dtype)
        d[np.arange(shape[0]), t] = -wt * g
        return d, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        shape, t, wt, reduction, denom = ctx.args
        picked = np.zeros(shape, dtype=wt.dtype)
        picked[np.arange(shape[0]), t] = -wt
        if reduction == "none":
            grad = grad.reshape(shape[0], 1)
        elif reduction == "mean":
            grad = grad / float(denom) if denom else grad * 0.0
        return grad * constant_like(picked, grad), None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])), {}),
                ((rng.standard_normal((4, 3)), np.array([0, -100, 1, 2])), {"reduction": "sum"})]


def _difference(ctx, x, y, reduction, name):
    """x - y of a pointwise loss (mse, l1), checked, saved for the backward with what it needs."""
    _check_reduction(reduction)
    if np.shape(x) != np.shape(y):
        raise ValueError(f"{name}: input {np.shape(x)} and target {np.shape(y)} must have one shape")
    diff = x - y
    ctx.save_for_backward(diff)
    ctx.reduction = reduction
    ctx.dtypes = (np.result_type(x), np.result_type(y))
    return diff


def _difference_grads(ctx, g):
    """(dx, dy, None) of a pointwise loss from g = d loss / d diff before the reduction."""
    if ctx.reduction == "mean":
        g = g / g.size
    return g.astype(ctx.dtypes[0], copy=False), (-g).astype(ctx.dtypes[1], copy=False), None


def _difference_grads_graph(ctx, g):
    """_difference_grads on a gradient Tensor (backward_graph)."""
    if ctx.reduction == "mean":
        g = g / g.numel()
    dx = g if g.dtype == ctx.dtypes[0] else g.to(ctx.dtypes[0])
    dy = -g
    return dx, dy if dy.dtype == ctx.dtypes[1] else dy.to(ctx.dtypes[1]), None


class MSELossFn(Function):
    @staticmethod
    def forward(ctx, x, y, reduction="mean"):
        diff = _difference(ctx, x, y, reduction, "mse_loss")
        return _reduce(diff * diff, reduction).astype(diff.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        return _difference_grads(ctx, 2 * diff * grad)

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = (constant_like(p, grad) for p in ctx.parents[:2])
        return _difference_grads_graph(ctx, (x - y) * grad * 2)

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {}),
                ((rng.standard_normal((5,)), rng.standard_normal((5,))), {"reduction": "none"})]


class L1LossFn(Function):
    @staticmethod
    def forward(ctx, x, y, reduction="mean"):
        diff = _difference(ctx, x, y, reduction, "l1_loss")
        return _reduce(np.abs(diff), reduction).astype(diff.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        return _difference_grads(ctx, np.sign(diff) * grad)

    @staticmethod
    def backward_graph(ctx, grad):
        (diff,) = ctx.saved_tensors  # sign(diff): constant almost everywhere
        return _difference_grads_graph(ctx, grad * constant_like(np.sign(diff), grad))

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        return [((x, x + rng.choice([-1, 1], x.shape) * rng.uniform(0.1, 1, x.shape)), {}),
                ((x, x + 0.5), {"reduction": "sum"})]


class BCEWithLogitsFn(Function):
    """binary_cross_entropy_with_logits(z, y) = -[pw * y log s(z) + (1 - y) log(1 - s(z))], computed
    stably as (1 - y) z + (1 + (pw - 1) y) * softplus(-z)."""

    @staticmethod
    def forward(ctx, z, y, reduction="mean", pos_weight=None):
        _check_reduction(reduction)
        if np.shape(z) != np.shape(y):
            raise ValueError(f"binary_cross_entropy_with_logits: input {np.shape(z)} and target {np.shape(y)} "
                             "must have one shape")
        pw = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=z.dtype)
        softplus_neg = np.maximum(-z, 0) + np.log1p(np.exp(-np.abs(z)))  # log(1 + exp(-z)), stable
        coef = 1 + (pw - 1) * y
        per = (1 - y) * z + coef * softplus_neg
        ctx.save_for_backward(z, y)
        ctx.args = (pw, coef, reduction)
        return _reduce(per, reduction).astype(z.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        z, y = ctx.saved_tensors
        pw, coef, reduction = ctx.args
        e = np.exp(-np.abs(z))
        sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        dz = (1 - y) - coef * (1 - sig)
        dy = -z + (pw - 1) * (np.maximum(-z, 0) + np.log1p(e))
        if reduction == "mean" and z.size:
            grad = grad / z.size
        return (dz * grad).astype(z.dtype, copy=False), (dy * grad).astype(y.dtype, copy=False), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        z, y = (constant_like(p, grad) for p in ctx.parents[:2])
        pw, _, reduction = ctx.args
        pw = constant_like(np.asarray(pw, z.dtype), grad)
        if reduction == "mean" and z.numel():
            grad = grad / z.numel()
        needs = ctx.needs_input_grad
        dz = ((1 - y) - (1 + (pw - 1) * y) * (1 - z.sigmoid())) * grad if needs[0] else None
        dy = (-z + (pw - 1) * (-z).softplus()) * grad if needs[1] else None
        return dz, dy, None, None

    @staticmethod
    def gradcheck_cases(rng):
        z = rng.standard_normal((3, 4)) * 3
        y = rng.uniform(0, 1, (3, 4))
        return [((z, y), {}), ((z, y), {"reduction": "sum", "pos_weight": 2.0})]


def _class_indices(t, fn):
    """The target as an int64 array of class indices, or a TypeError."""
    t = t._data if isinstance(t, TensorBase) else np.asarray(t)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold class indices (int64), got dtype {t.dtype} with shape {t.shape}")
    return t.astype(np.int64, copy=False)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Fused log-softmax + NLL over (N, C) logits and (N,) int64 targets (also (C,) with a 0-d target,
    and (N, C, d...) with (N, d...) targets, as in PyTorch). Class-probability targets are not supported."""
    target = _class_indices(target, "cross_entropy")
    w = None if weight is None else np.asarray(weight)
    if input.ndim == 1:  # one unbatched sample: (C,) logits, a 0-d target
        if target.shape != ():
            raise ValueError(f"cross_entropy: input {tuple(input.shape)} is one sample, so target must be 0-d, "
                             f"got {target.shape}")
        out = CrossEntropyFn.apply(input.reshape(1, -1), target.reshape(1), w, ignore_index, reduction,
                                 label_smoothing)
        return out.reshape(()) if reduction == "none" else out
    if input.ndim > 2:  # (N, C, d1, ...) -> (N * d1 * ..., C)
        c = input.shape[1]
        if target.shape != (input.shape[0],) + input.shape[2:]:
            raise ValueError(f"cross_entropy: target {target.shape} does not match input {input.shape}")
        perm = (0,) + tuple(range(2, input.ndim)) + (1,)
        flat = input.permute(perm).reshape(-1, c)
        out = CrossEntropyFn.apply(flat, target.reshape(-1), w, ignore_index, reduction, label_smoothing)
        return out.reshape(target.shape) if reduction == "none" else out
    if input.ndim != 2 or target.shape != (input.shape[0],):
        raise ValueError(f"cross_entropy: expected input (N, C) and target (N,), got input {tuple(input.shape)} and "
                         f"target {target.shape}")
    return CrossEntropyFn.apply(input, target, w, ignore_index, reduction, label_smoothing)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-input[i, target[i]] over (N, C) log-probabilities, with class weights and ignore_index."""
    target = _class_indices(target, "nll_loss")
    if input.ndim != 2 or target.shape != (input.shape[0],):
        raise ValueError(f"nll_loss: expected input (N, C) and target (N,), got input {tuple(input.shape)} and "
                         f"target {target.shape}")
    w = None if weight is None else np.asarray(weight)
    return NLLLossFn.apply(input, target, w, ignore_index, reduction)


def mse_loss(input, target, reduction="mean"):
    return MSELossFn.apply(input, target, reduction)


def l1_loss(input, target, reduction="mean"):
    return L1LossFn.apply(input, target, reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean", pos_weight=None):
    pw = None if pos_weight is None else np.asarray(pos_weight)
    return BCEWithLogitsFn.apply(input, target, reduction, pw)
