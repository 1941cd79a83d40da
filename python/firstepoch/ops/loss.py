"""Loss functions, forward and backward: cross_entropy is one fused C++ kernel (log-softmax + NLL, with
class weights, ignore_index and label smoothing); nll_loss, mse_loss, l1_loss and
binary_cross_entropy_with_logits are a few NumPy lines each, with their gradients beside them.

Issue 17 adds binary_cross_entropy, smooth_l1_loss, huber_loss and kl_div as single Functions (pointwise,
hot); they, mse_loss, l1_loss and binary_cross_entropy_with_logits run in one fused C++ kernel each way,
`_C.pointwise_loss_forward(input, target, out, kind, reduction, param, pos_weight, weight)` and
`_C.pointwise_loss_backward(grad, input, target, dinput, dtarget, kind, ...)` (sum and mean in fixed
blocks, in block order: the same bits for any thread count; twins reference.loss.pointwise_loss_forward /
_backward). Inputs broadcast with each other are expanded first; weights of the input's shape or one
per position of its last axis (pos_weight per class) go to the kernel as they are, others are expanded.
And composites of differentiable Tensor ops for the rest (cosine_similarity, pairwise_distance,
cosine_embedding_loss, margin_ranking_loss, triplet_margin_loss, cross-entropy with class-probability
targets); one_hot is a non-differentiable op.

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
import warnings

import numpy as np

from .. import _C
from ..autograd.function import (CaptureError, Function, TensorBase, capture_record, capture_refuse, capture_tape,
                                 constant_like, unbroadcast, unbroadcast_graph)
from .linalg import _torch_name

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


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _contiguous_as(a, shape, dtype):
    """a broadcast to shape, C-contiguous, in dtype (a itself when it already is)."""
    a = np.asarray(a, dtype=dtype)
    if a.shape != tuple(shape):
        return np.broadcast_to(a, shape).copy()
    return a if a.flags.c_contiguous else a.copy(order="C")


def _float_result_type(*arrays):
    """torch's promotion of a float loss's operands: the floating ones decide (an integer operand with a
    float32 one gives float32, not NumPy's float64); none floating gives torch's default, float32."""
    floats = [np.result_type(a) for a in arrays if np.result_type(a).kind == "f"]
    return np.result_type(*floats) if floats else np.dtype(np.float32)


def _refuse_non_float(fn, cls, **operands):
    """cls (torch's exception class for fn) if a named operand is not floating point: a float loss is
    never computed in integer or boolean arithmetic."""
    for name, a in operands.items():
        dt = _array(a).dtype
        if dt.kind != "f":
            raise cls(f'"{fn}" not implemented for {name} of dtype {dt} (floating point tensors only, as torch)')


def _loss_operands(x, y):
    """(x, y broadcast to one C-contiguous shape in the kernel's dtype, the result dtype): float16 and
    other floats run in float32."""
    dt = _float_result_type(x, y)
    kdt = dt if dt in _KERNEL_DTYPES else np.dtype(np.float32)
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    return _contiguous_as(x, shape, kdt), _contiguous_as(y, shape, kdt), dt


def _loss_weight(w, shape, dtype):
    """A constant weight for the kernel: the input's shape or 1-D over its last axis as it is, else
    expanded to the input's shape."""
    if w is None:
        return None
    a = np.asarray(w, dtype=dtype)
    if a.ndim == 1 and len(shape) >= 1 and a.shape[0] == shape[-1] and a.shape != tuple(shape):
        return a if a.flags.c_contiguous else a.copy()
    return _contiguous_as(a, shape, dtype)


def _kernel_loss(kind, x, y, reduction, param=0.0, pos_weight=None, weight=None):
    """_C.pointwise_loss_forward into a new array (x's shape for 'none', else 0-d)."""
    out = np.empty(x.shape if reduction == "none" else (), x.dtype)
    _C.pointwise_loss_forward(x, y, out, kind, reduction, param, pos_weight, weight)
    return out


def _kernel_loss_grads(kind, grad, x, y, needs, reduction, param=0.0, pos_weight=None, weight=None):
    """(d input, d target) from _C.pointwise_loss_backward, None where needs says so."""
    g = _contiguous_as(grad, x.shape if reduction == "none" else (), x.dtype)
    dx = np.empty(x.shape, x.dtype) if needs[0] else None
    dy = np.empty(x.shape, x.dtype) if needs[1] else None
    if dx is not None or dy is not None:
        _C.pointwise_loss_backward(g, x, y, dx, dy, kind, reduction, param, pos_weight, weight)
    return dx, dy


def _grad_as(g, shape, dtype):
    """A kernel gradient summed back to an input's shape and cast to its dtype (None stays None)."""
    if g is None:
        return None
    return unbroadcast(g, shape).astype(dtype, copy=False)


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


def _ce_reduced(loss, target, weight, ignore_index, reduction, label_smoothing, n_classes, denom_box):
    """cross_entropy's reduction of the per-row losses; the mean's divisor (the summed weight of the
    kept rows) goes into denom_box[0] for backward. A function of its arguments only, so a captured step
    (firstepoch.capture) runs it again on each replay's targets."""
    dt = loss.dtype
    denom = None
    if reduction == "mean":
        if weight is None:
            denom = len(target) - np.count_nonzero(target == ignore_index)
        elif n_classes == 0:
            denom = 0
        else:
            keep = target != ignore_index
            denom = (weight[np.where(keep, target, 0)] * keep).sum()
    denom_box[0] = denom
    if reduction == "none":
        return loss
    if denom:  # the mean of kept rows (_reduce's sum and division, without its checks)
        return np.asarray(np.add.reduce(loss) / denom).astype(dt, copy=False)
    if label_smoothing and n_classes == 0:  # torch: the smoothing sum over 0 classes / 0 is NaN
        return np.asarray(np.nan, dt)
    return _reduce(loss, reduction, denom).astype(dt, copy=False)


def _ce_reduced_into(out, *args):
    out[...] = _ce_reduced(*args)


def _ce_seed(grad, reduction, n, dt, denom_box):
    """The per-row gradient of cross_entropy's reduction, for an upstream gradient grad."""
    if reduction == "none":
        return np.ascontiguousarray(grad, dtype=dt)
    if reduction == "sum":
        return np.full(n, grad, dtype=dt)
    denom = denom_box[0]
    if denom:
        return np.full(n, grad / denom, dtype=dt)
    with np.errstate(divide="ignore", invalid="ignore"):  # no rows counted: 0 / 0, as PyTorch's nan
        return np.full(n, grad / denom, dtype=dt)


def _ce_seed_into(out, *args):
    out[...] = _ce_seed(*args)


class CrossEntropyFn(Function):
    """cross_entropy(logits (N, C), target int64 (N,)), PyTorch's semantics: class weights,
    ignore_index, label smoothing, reduction. The mean divides by the summed weight of the kept rows."""

    kernel = "cross_entropy"
    capturable = True  # firstepoch.capture: the reduction and its gradient's seed go on the tape

    @staticmethod
    def forward(ctx, logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        if reduction not in _REDUCTIONS:
            _check_reduction(reduction)
        tape = capture_tape()
        if tape is not None and not (logits.flags.c_contiguous and target.flags.c_contiguous and logits.shape[1]
                                     and (weight is None or (weight.flags.c_contiguous and weight.dtype == logits.dtype))):
            raise CaptureError("cross_entropy: strided operands, a converted weight or zero classes")
        logits = np.ascontiguousarray(logits)
        target = np.ascontiguousarray(target)
        dt = logits.dtype
        n = logits.shape[0]
        loss = np.empty(n, dt)
        stats = np.empty((2, n), dt)
        if logits.shape[1] == 0:  # no classes, so every target is ignored (cross_entropy checked): 0 a row,
            loss[:] = np.nan if label_smoothing else 0  # but torch's smoothing term divides 0 by 0 classes
            stats[:] = 0
        elif weight is None and ignore_index == -100 and label_smoothing == 0.0:
            _C.cross_entropy_forward(logits, target, loss, stats)  # the defaults: no keyword parsing
        else:
            if weight is not None:
                weight = np.ascontiguousarray(weight, dtype=dt)
            _C.cross_entropy_forward(logits, target, loss, stats, weight=weight, ignore_index=ignore_index,
                                     label_smoothing=label_smoothing)
        ctx.saved_tensors = (logits, stats, target)
        box = [None]
        ctx.args = (weight, ignore_index, reduction, label_smoothing, box)
        args = (loss, target, weight, ignore_index, reduction, label_smoothing, logits.shape[1], box)
        if tape is None or reduction == "none":
            return _ce_reduced(*args)
        out = np.empty((), dt)
        capture_record(_ce_reduced_into, out, *args)
        return out

    @staticmethod
    def backward(ctx, grad):
        logits, stats, target = ctx.saved_tensors
        weight, ignore_index, reduction, label_smoothing, box = ctx.args
        n = logits.shape[0]
        dt = logits.dtype
        if capture_tape() is None:
            g = _ce_seed(grad, reduction, n, dt, box)
        else:
            if reduction == "none" and not (grad.flags.c_contiguous and grad.dtype == dt):
                raise CaptureError("cross_entropy backward: a strided or converted output gradient")
            g = np.empty(n, dt)
            capture_record(_ce_seed_into, g, grad, reduction, n, dt, box)
        d = np.empty_like(logits)
        if d.size == 0:  # no rows or no classes: nothing to compute (the kernel refuses zero classes)
            pass
        elif weight is None and ignore_index == -100 and label_smoothing == 0.0:
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
        weight, ignore_index, reduction, eps, box = ctx.args
        denom = box[0]
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
        out_of_range = keep & ((t < 0) | (t >= c))
        if np.any(out_of_range):
            bad = int(np.flatnonzero(out_of_range)[0])
            raise IndexError(f"nll_loss: target[{bad}] = {target[bad]} is out of range for {c} classes")
        if weight is not None and np.shape(weight) != (c,):
            raise ValueError(f"nll_loss: weight must have shape ({c},) (one per class), got {np.shape(weight)}")
        if c == 0:  # no classes, so every row is ignored (checked above): each row's loss is 0, as torch
            wt = np.zeros(n, logp.dtype)
            per_row = np.zeros(n, logp.dtype)
        else:
            w = np.ones(c, logp.dtype) if weight is None else weight
            wt = np.where(keep, w[t], 0).astype(logp.dtype)
            per_row = -wt * logp[np.arange(n), t]
        denom = wt.sum() if reduction == "mean" else None
        ctx.args = (logp.shape, t, wt, keep, reduction, denom)
        return _reduce(per_row, reduction, denom).astype(logp.dtype, copy=False)

    @staticmethod
    def _picked(ctx, scale=1.0):
        """-w[t_i] * scale at (i, t_i) of each kept row, 0 elsewhere (ignored rows stay 0, as torch)."""
        shape, t, wt, keep, _, _ = ctx.args
        d = np.zeros(shape, dtype=wt.dtype)
        rows = np.flatnonzero(keep)
        with np.errstate(invalid="ignore"):
            d[rows, t[rows]] = -wt[rows] * scale
        return d

    @staticmethod
    def _mean_scale(ctx):
        """(grad's divisor, scale of _picked) of 'mean'. No weight counted: torch's -w[t] * (g / 0) is NaN
        (or +-inf) at the kept rows, which scale = inf gives."""
        denom = ctx.args[5]
        return (denom, 1.0) if denom else (1.0, np.inf)

    @staticmethod
    def backward(ctx, grad):
        shape, _, wt, _, reduction, _ = ctx.args
        if reduction == "none":
            return NLLLossFn._picked(ctx) * np.asarray(grad, wt.dtype)[:, None], None, None, None, None
        denom, scale = NLLLossFn._mean_scale(ctx) if reduction == "mean" else (1.0, 1.0)
        with np.errstate(invalid="ignore"):
            d = NLLLossFn._picked(ctx, scale) * np.asarray(grad / denom, wt.dtype)
        return d, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        shape, _, _, _, reduction, _ = ctx.args
        if reduction == "none":
            return grad.reshape(shape[0], 1) * constant_like(NLLLossFn._picked(ctx), grad), None, None, None, None
        denom, scale = NLLLossFn._mean_scale(ctx) if reduction == "mean" else (1.0, 1.0)
        g = grad / float(denom) if reduction == "mean" else grad
        return g * constant_like(NLLLossFn._picked(ctx, scale), grad), None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])), {}),
                ((rng.standard_normal((4, 3)), np.array([0, -100, 1, 2])), {"reduction": "sum"})]


class _KernelLossFn(Function, register=False):
    """A pointwise loss of input and target (broadcast together) in the fused kernel, `kind` with no
    weights and no option: mse_loss and l1_loss. backward_graph (subclasses) is composed of Tensor ops."""

    kind = None

    @classmethod
    def forward(cls, ctx, x, y, reduction="mean"):
        _check_reduction(reduction)
        xk, yk, dt = _loss_operands(x, y)
        ctx.save_for_backward(xk, yk)
        ctx.args = (reduction, np.shape(x), np.shape(y), np.result_type(x), np.result_type(y))
        return _kernel_loss(cls.kind, xk, yk, reduction).astype(dt, copy=False)

    @classmethod
    def backward(cls, ctx, grad):
        xk, yk = ctx.saved_tensors
        reduction, xshape, yshape, xdt, ydt = ctx.args
        dx, dy = _kernel_loss_grads(cls.kind, grad, xk, yk, ctx.needs_input_grad[:2], reduction)
        return _grad_as(dx, xshape, xdt), _grad_as(dy, yshape, ydt), None


def _difference_grads_graph(ctx, g):
    """(dx, dy, None) of mse/l1 from g = d loss / d (x - y) before the reduction, on Tensors."""
    reduction, xshape, yshape, xdt, ydt = ctx.args
    if reduction == "mean":
        g = g / g.numel()
    dx, dy = unbroadcast_graph(g, xshape), unbroadcast_graph(-g, yshape)
    return (dx if dx.dtype == xdt else dx.to(xdt)), (dy if dy.dtype == ydt else dy.to(ydt)), None


class MSELossFn(_KernelLossFn):
    kind = "mse"

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = (constant_like(p, grad) for p in ctx.parents[:2])
        return _difference_grads_graph(ctx, (x - y) * grad * 2)

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {}),
                ((rng.standard_normal((5,)), rng.standard_normal((5,))), {"reduction": "none"})]


class L1LossFn(_KernelLossFn):
    kind = "l1"

    @staticmethod
    def backward_graph(ctx, grad):
        xk, yk = ctx.saved_tensors  # sign(x - y): constant almost everywhere
        d = xk - yk  # torch's sign, 0 at NaN
        return _difference_grads_graph(ctx, grad * constant_like(((d > 0) * 1 - (d < 0)).astype(d.dtype), grad))

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        return [((x, x + rng.choice([-1, 1], x.shape) * rng.uniform(0.1, 1, x.shape)), {}),
                ((x, x + 0.5), {"reduction": "sum"})]


class BCEWithLogitsFn(Function):
    """binary_cross_entropy_with_logits(z, y) = -w [pw * y log s(z) + (1 - y) log(1 - s(z))], computed
    stably as w ((1 - y) z + (1 + (pw - 1) y) * softplus(-z)). weight and pos_weight broadcast to z's shape
    (checked by the caller) and are constants, as in torch (which refuses them with requires_grad)."""

    @staticmethod
    def forward(ctx, z, y, reduction="mean", pos_weight=None, weight=None):
        _check_reduction(reduction)
        if np.shape(z) != np.shape(y):
            raise ValueError(f"binary_cross_entropy_with_logits: input {np.shape(z)} and target {np.shape(y)} "
                             "must have one shape")
        zk, yk, dt = _loss_operands(z, y)  # torch promotes input and target; the weights take that dtype
        pw = _loss_weight(pos_weight, zk.shape, zk.dtype)
        w = _loss_weight(weight, zk.shape, zk.dtype)
        ctx.save_for_backward(zk, yk)
        ctx.args = (pw, None, reduction, w, np.result_type(z), np.result_type(y))
        return _kernel_loss("binary_cross_entropy_with_logits", zk, yk, reduction, 0.0, pw, w).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        zk, yk = ctx.saved_tensors
        pw, _, reduction, w, zdt, ydt = ctx.args
        dz, dy = _kernel_loss_grads("binary_cross_entropy_with_logits", grad, zk, yk, ctx.needs_input_grad[:2],
                                    reduction, 0.0, pw, w)
        inf = np.isinf(zk)
        if dy is not None and inf.any():  # the kernel's -z + (pw - 1) softplus(-z) is inf - inf there
            dy[inf] = BCEWithLogitsFn._target_grad_at_inf(zk, grad, pw, w, reduction)[inf]
        return _grad_as(dz, zk.shape, zdt), _grad_as(dy, yk.shape, ydt), None, None, None

    @staticmethod
    def _target_grad_at_inf(z, grad, pw, w, reduction):
        """d loss / d y where z = +-inf, torch's form: g w (log sigmoid(-z) - pw log sigmoid(z)) (-z g w
        without pos_weight), whose logs are 0 or -inf there: +inf at z = -inf, -inf at z = +inf."""
        with np.errstate(invalid="ignore", divide="ignore"):
            if pw is None:
                d = -z
            else:
                d = np.where(z > 0, -np.inf, 0.0) - np.broadcast_to(pw, z.shape) * np.where(z > 0, 0.0, -np.inf)
            g = np.asarray(grad, z.dtype)
            if reduction == "mean":
                g = g / z.size
            d = d * g if w is None else d * g * np.broadcast_to(w, z.shape)
        return d.astype(z.dtype, copy=False)

    @staticmethod
    def backward_graph(ctx, grad):
        z, y = (constant_like(p, grad) for p in ctx.parents[:2])
        pw, _, reduction, w, _, _ = ctx.args
        pw = constant_like(np.asarray(1.0 if pw is None else pw, z.dtype), grad)
        if reduction == "mean" and z.numel():
            grad = grad / z.numel()
        if w is not None:
            grad = grad * constant_like(w, grad)
        needs = ctx.needs_input_grad
        dz = ((1 - y) - (1 + (pw - 1) * y) * (1 - z.sigmoid())) * grad if needs[0] else None
        dy = None
        if needs[1]:  # torch's forms, exact at z = +-inf (see _target_grad_at_inf)
            no_pw = ctx.args[0] is None
            dy = (-z if no_pw else _logsigmoid(-z) - pw * _logsigmoid(z)) * grad
        return dz, dy, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        z = rng.standard_normal((3, 4)) * 3
        y = rng.uniform(0, 1, (3, 4))
        return [((z, y), {}), ((z, y), {"reduction": "sum", "pos_weight": 2.0}),
                ((z, y), {"reduction": "none", "weight": rng.uniform(0.5, 2, (4,)),
                          "pos_weight": rng.uniform(0.5, 2, (3, 4))})]


_BCE_EPS = np.float32(1e-12)  # torch's EPSILON, a float (9.9999999600e-13 in float64 too)


class BinaryCrossEntropyFn(Function):
    """binary_cross_entropy(x, y, weight) = -w [y max(log x, -100) + (1 - y) max(log(1 - x), -100)],
    torch's clamp of the logs included, so x = 0 or 1 gives a finite loss.
    backward (torch's formulas): dx = w (x - y) / max(x (1 - x), 1e-12 as a float32),  dy = w (log(1 - x) - log x)
    (the latter unclamped: +-inf at x = 0 or 1, as torch). weight (broadcast to x's shape by the
    caller) is a constant."""

    @staticmethod
    def forward(ctx, x, y, weight=None, reduction="mean"):
        _check_reduction(reduction)
        xk, yk, dt = _loss_operands(x, y)
        w = _loss_weight(weight, xk.shape, xk.dtype)
        ctx.save_for_backward(xk, yk)
        ctx.args = (w, reduction, np.result_type(x), np.result_type(y))
        return _kernel_loss("binary_cross_entropy", xk, yk, reduction, 0.0, None, w).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        xk, yk = ctx.saved_tensors
        w, reduction, xdt, ydt = ctx.args
        dx, dy = _kernel_loss_grads("binary_cross_entropy", grad, xk, yk, ctx.needs_input_grad[:2], reduction,
                                    0.0, None, w)
        return _grad_as(dx, xk.shape, xdt), _grad_as(dy, yk.shape, ydt), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = (constant_like(p, grad) for p in ctx.parents[:2])
        weight, reduction, _, _ = ctx.args
        if reduction == "mean" and x.numel():
            grad = grad / x.numel()
        if weight is not None:
            grad = grad * constant_like(weight, grad)
        needs = ctx.needs_input_grad
        dx = grad * (x - y) / ((1 - x) * x).clip(min=float(_BCE_EPS)) if needs[0] else None
        dy = grad * ((1 - x).log() - x.log()) if needs[1] else None
        return dx, dy, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.uniform(0.05, 0.95, (3, 4))
        y = rng.uniform(0, 1, (3, 4))
        return [((x, y), {}), ((x, y), {"reduction": "sum", "weight": rng.uniform(0.5, 2, (3, 4))}),
                ((x, y), {"reduction": "none"})]


class _PiecewiseQuadraticLossFn(Function, register=False):
    """Shared body of smooth_l1_loss and huber_loss: a loss of d = x - y (x and y broadcast together)
    that is quadratic for |d| < k and linear beyond, the kernel's `kind` with param k; its slope is
    d * a + b with a, b constant on each piece (so backward_graph records d * a + b). Subclasses give
    the kind and (a, b)."""

    @classmethod
    def forward(cls, ctx, x, y, reduction="mean", k=1.0):
        _check_reduction(reduction)
        xk, yk, dt = _loss_operands(x, y)
        ctx.save_for_backward(xk, yk)
        ctx.args = (reduction, k, np.shape(x), np.shape(y), np.result_type(x), np.result_type(y))
        return _kernel_loss(cls.kind, xk, yk, reduction, k).astype(dt, copy=False)

    @classmethod
    def backward(cls, ctx, grad):
        xk, yk = ctx.saved_tensors
        reduction, k, xshape, yshape, xdt, ydt = ctx.args
        dx, dy = _kernel_loss_grads(cls.kind, grad, xk, yk, ctx.needs_input_grad[:2], reduction, k)
        return _grad_as(dx, xshape, xdt), _grad_as(dy, yshape, ydt), None, None

    @classmethod
    def backward_graph(cls, ctx, grad):
        x, y = (constant_like(p, grad) for p in ctx.parents[:2])
        xk, yk = ctx.saved_tensors
        d_arr = xk - yk
        reduction, k, xshape, yshape, xdt, ydt = ctx.args
        a, b = cls.slope_pieces(d_arr, k)
        g = ((x - y) * constant_like(a, grad) + constant_like(b, grad)) * grad
        if reduction == "mean" and d_arr.size:
            g = g / d_arr.size
        dx, dy = unbroadcast_graph(g, xshape), unbroadcast_graph(-g, yshape)
        return (dx if dx.dtype == xdt else dx.to(xdt)), (dy if dy.dtype == ydt else dy.to(ydt)), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4)) * 2
        y = x + rng.choice([-1, 1], x.shape) * rng.uniform(0.1, 3, x.shape)  # both pieces, off the kinks
        y[0, :2] = x[0, :2] + np.array([0.4, -0.3])
        return [((x, y), {}), ((x, y), {"reduction": "sum", "k": 0.5}),
                ((x, rng.standard_normal((4,))), {"reduction": "none", "k": 2.0})]


class SmoothL1LossFn(_PiecewiseQuadraticLossFn):
    """smooth_l1_loss, beta = k: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0: |d|)."""

    kind = "smooth_l1"

    @staticmethod
    def slope_pieces(d, beta):
        inside = np.abs(d) < beta
        return (inside / beta if beta else inside * 0.0).astype(d.dtype), np.where(inside, 0, np.sign(d)).astype(d.dtype)


class HuberLossFn(_PiecewiseQuadraticLossFn):
    """huber_loss, delta = k: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""

    kind = "huber"

    @staticmethod
    def slope_pieces(d, delta):
        inside = np.abs(d) < delta
        return inside.astype(d.dtype), np.where(inside, 0, delta * np.sign(d)).astype(d.dtype)


class KLDivFn(Function):
    """kl_div(x, y) pointwise, x the log-probabilities (broadcast with y):
    log_target=False: y (log y - x), 0 where y = 0 (torch's xlogy(y, y) - y x)
                      dx = -y,  dy = log y + 1 - x (NaN where y = 0, as torch)
    log_target=True:  exp(y) (y - x);  dx = -exp(y),  dy = exp(y) (y - x + 1)
    reduction 'batchmean' divides the sum by x.shape[0] (by 1 for a 0-d x)."""

    @staticmethod
    def forward(ctx, x, y, reduction="mean", log_target=False):
        if reduction not in _REDUCTIONS + ("batchmean",):
            raise ValueError(f"kl_div: reduction must be one of {_REDUCTIONS + ('batchmean',)}, got {reduction!r}")
        xk, yk, dt = _loss_operands(x, y)
        denom = xk.size
        if reduction == "batchmean":
            denom = np.shape(x)[0] if np.ndim(x) else 1
        ctx.save_for_backward(xk, yk)
        ctx.args = (reduction, log_target, denom, xk.shape, np.shape(x), np.shape(y), np.result_type(x),
                    np.result_type(y))
        kind = "kl_div_log_target" if log_target else "kl_div"
        out = _kernel_loss(kind, xk, yk, "sum" if reduction == "batchmean" else reduction).astype(dt, copy=False)
        if reduction == "batchmean":
            with np.errstate(divide="ignore", invalid="ignore"):  # nothing to divide by: NaN, as torch
                out = np.asarray(out / denom if denom else np.nan, dt)
        return out

    @staticmethod
    def backward(ctx, grad):
        xk, yk = ctx.saved_tensors
        reduction, log_target, denom, _, xshape, yshape, xdt, ydt = ctx.args
        if reduction == "batchmean":
            with np.errstate(divide="ignore", invalid="ignore"):
                grad = np.asarray(grad / denom if denom else grad * np.nan, xk.dtype)
            reduction = "sum"
        kind = "kl_div_log_target" if log_target else "kl_div"
        dx, dy = _kernel_loss_grads(kind, grad, xk, yk, ctx.needs_input_grad[:2], reduction)
        return _grad_as(dx, xshape, xdt), _grad_as(dy, yshape, ydt), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        x, y = (constant_like(p, grad) for p in ctx.parents[:2])
        reduction, log_target, denom, shape = ctx.args[:4]
        if reduction in ("mean", "batchmean"):
            grad = grad / float(denom) if denom else grad * float("nan")
        needs = ctx.needs_input_grad
        dx = dy = None
        if log_target:
            ey = y.exp()
            dx = -ey * grad if needs[0] else None
            dy = ey * (y - x + 1) * grad if needs[1] else None
        else:
            dx = -y * grad if needs[0] else None
            if needs[1]:
                y_arr = np.asarray(ctx.saved_tensors[1])
                nan_at_zero = constant_like(np.where(y_arr == 0, np.nan, 0).astype(y_arr.dtype), grad)
                dy = (y.log() + 1 - x + nan_at_zero) * grad
        dx = None if dx is None else _to_shape_graph(dx, shape, np.shape(x))
        dy = None if dy is None else _to_shape_graph(dy, shape, np.shape(y))
        return dx, dy, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = np.log(rng.uniform(0.1, 1, (3, 4)))
        y = rng.uniform(0.1, 1, (3, 4))
        return [((x, y), {}), ((x, y), {"reduction": "batchmean"}),
                ((x, np.log(y)), {"reduction": "sum", "log_target": True}),
                ((x, y[0]), {"reduction": "none"})]


def _logaddexp3(a, b, c):
    """log(exp(a) + exp(b) + exp(c)) elementwise, torch's CTC form: shifted by the max (by 0 where all are
    -inf, so the result is -inf without a NaN)."""
    m = np.maximum(np.maximum(a, b), c)
    shift = np.where(m == -np.inf, 0, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.exp(a - shift) + np.exp(b - shift) + np.exp(c - shift)) + shift


def _shifted(a, k, fill):
    """a moved k places along its last axis (k > 0: towards higher index), the vacated places `fill`."""
    out = np.full_like(a, fill)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


class CTCLossFn(Function):
    """ctc_loss per sample (reduction 'none') of log_probs (T, N, C), padded int64 targets (N, S) (checked
    by ctc_loss), int64 input_lengths and target_lengths (N,): -log of the summed probability of every
    alignment (Graves et al. 2006), by the alpha-beta recursion in log space, vectorised over the batch
    and the extended label positions (blank, l1, blank, ..., lL, blank), a loop over time.
    zero_infinity=True makes an infinite loss (no alignment fits) 0, and its gradient 0.
    backward is the true derivative: d nll_b / d lp[t, b, c] = -gamma[t, b, c] = -exp(log sum_{s: l'_s = c}
    alpha_t(s) beta_t(s) + nll_b - lp[t, b, c]) for t < input_lengths[b], 0 beyond (torch's formula
    without its exp(lp) term, which ctc_loss adds, see there)."""

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank=0, zero_infinity=False):
        lp = log_probs
        T, N, C = lp.shape
        il, tl = input_lengths, target_lengths
        width = 2 * targets.shape[1] + 1
        s_idx = np.arange(width)
        ext = np.full((N, width), blank, np.int64)  # the extended labels l', blank-interleaved
        ext[:, 1::2] = np.where(np.arange(targets.shape[1]) < tl[:, None], targets, blank)
        valid = s_idx < (2 * tl + 1)[:, None]
        skip = (s_idx >= 2) & (ext != _shifted(ext, 2, -1))  # alpha may come from s - 2
        emit = np.take_along_axis(lp, np.broadcast_to(ext, (T, N, width)), axis=2)  # lp[t, n, l'_s]
        ninf = np.asarray(-np.inf, lp.dtype)
        alpha = np.full((T, N, width), ninf)
        if T:
            alpha[0, :, 0] = emit[0, :, 0]
            if width > 1:
                alpha[0, :, 1] = np.where(tl > 0, emit[0, :, 1], ninf)
        for t in range(1, T):
            prev = alpha[t - 1]
            step = _logaddexp3(prev, _shifted(prev, 1, ninf), np.where(skip, _shifted(prev, 2, ninf), ninf))
            alpha[t] = np.where(valid, step + emit[t], ninf)
        rows = np.arange(N)
        last = np.maximum(il - 1, 0)
        end = alpha[last, rows, 2 * tl]
        before = np.where(tl > 0, alpha[last, rows, np.maximum(2 * tl - 1, 0)], ninf)
        nll = -_logaddexp3(end, before, ninf)
        nll = np.where(il > 0, nll, np.where(tl > 0, np.inf, -0.0)).astype(lp.dtype)  # no frames: -log 1 or impossible
        ctx.save_for_backward(lp, ext, valid, skip, emit, alpha, nll)
        ctx.args = (il, tl, zero_infinity)
        if zero_infinity:
            return np.where(nll == np.inf, 0, nll).astype(lp.dtype)
        return nll

    @staticmethod
    def backward(ctx, grad):
        lp, ext, valid, skip, emit, alpha, nll = ctx.saved_tensors
        il, tl, zero_infinity = ctx.args
        T, N, C = lp.shape
        width = ext.shape[1]
        ninf = np.asarray(-np.inf, lp.dtype)
        rows = np.arange(N)
        skip_next = _shifted(skip, -2, False)  # beta may come from s + 2
        beta = np.full((T, N, width), ninf)
        first = np.full((N, width), ninf)  # beta at t = input_length - 1: the two end states
        first[rows, 2 * tl] = emit[np.maximum(il - 1, 0), rows, 2 * tl]
        has_label = tl > 0
        k = np.maximum(2 * tl - 1, 0)
        first[rows[has_label], k[has_label]] = emit[np.maximum(il - 1, 0), rows, k][has_label]
        for t in range(T - 1, -1, -1):
            if t + 1 < T:
                nxt = beta[t + 1]
                two = np.where(skip_next, _shifted(nxt, -2, ninf), ninf)
                step = _logaddexp3(nxt, _shifted(nxt, -1, ninf), two) + emit[t]
            else:
                step = np.full((N, width), ninf)
            beta[t] = np.where((il - 1 == t)[:, None], first, np.where((t < il - 1)[:, None] & valid, step, ninf))
        # log sum over the positions s with l'_s = c of alpha + beta, per (t, n, c): the largest term of
        # each class first, then the sum of exp(term - largest), so no class underflows for another's sake
        ab = alpha + beta
        t_i, n_i = np.meshgrid(np.arange(T), rows, indexing="ij")
        flat = ((t_i[..., None] * N + n_i[..., None]) * C + ext[None]).ravel()
        top = np.full(T * N * C, -np.inf, lp.dtype)
        np.maximum.at(top, flat, ab.ravel())
        top_shift = np.where(top == -np.inf, 0, top)
        with np.errstate(invalid="ignore", over="ignore"):
            total = np.bincount(flat, weights=np.exp(ab.ravel() - top_shift[flat]), minlength=T * N * C)
        with np.errstate(divide="ignore"):
            log_ab = (np.log(total) + top_shift).astype(lp.dtype).reshape(T, N, C)
        g = np.asarray(grad, lp.dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            d = -np.exp(log_ab + nll[None, :, None] - lp) * g[None, :, None]
        keep = np.arange(T)[:, None] < il[None, :]  # frames past a sample's input length get 0
        if zero_infinity:
            keep = keep & (nll != np.inf)[None, :]
        d = np.where(keep[..., None], d, 0).astype(lp.dtype)
        return d, None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        def logp(shape):
            x = rng.standard_normal(shape)
            return x - np.log(np.exp(x).sum(-1, keepdims=True))
        targets = np.array([[1, 2, 2], [2, 1, 0]])
        il, tl = np.array([6, 4]), np.array([3, 2])
        return [((logp((6, 2, 3)), targets, il, tl), {}),
                ((logp((5, 2, 4)), np.array([[3, 3], [1, 0]]), np.array([5, 3]), np.array([2, 1])), {"blank": 0}),
                ((logp((4, 2, 3)), targets, np.array([2, 4]), tl), {"zero_infinity": True}),  # first: impossible
                ((logp((3, 1, 3)), np.zeros((1, 0), np.int64), np.array([3]), np.array([0])), {"blank": 2})]


def _to_shape_graph(g, full, shape):
    """A gradient Tensor made full-shape (expanded where it is smaller), then summed down to `shape`."""
    if tuple(g.shape) != tuple(full):
        g = g.expand(*full)
    return unbroadcast_graph(g, shape)


class OneHotFn(Function):
    """one_hot(t, num_classes): int64 (..., num_classes) with a 1 at each index; not differentiable."""

    differentiable = False

    @staticmethod
    def forward(ctx, t, num_classes):
        return (t[..., None] == np.arange(num_classes)).astype(np.int64)


# ---- the functional forms (torch.nn.functional's signatures) ------------------------------------------

def _legacy_reduction(size_average, reduce, reduction):
    """torch's deprecated size_average / reduce arguments mapped to a reduction, with torch's warning."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                  stacklevel=3)
    return ret


def _array(x):
    return x._data if isinstance(x, TensorBase) else np.asarray(x)


def _broadcast_shape(shapes, fn):
    """np.broadcast_shapes with torch's error (RuntimeError naming the sizes)."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"{fn}: the sizes {', '.join(str(tuple(s)) for s in shapes)} do not broadcast "
                           "to one shape") from None


def _warn_if_sizes_differ(input, target):
    """torch's warning for a pointwise loss whose target is broadcast against the input."""
    if tuple(np.shape(input)) != tuple(np.shape(target)):
        warnings.warn(f"Using a target size ({tuple(np.shape(target))}) that is different to the input size "
                      f"({tuple(np.shape(input))}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


def _as_float_operand(x, like):
    """A float target stays as it is (torch's promotion applies); an integer or boolean one (a number, an
    array or a Tensor, which cannot require grad) becomes an array of the input's dtype, as torch
    promotes float32 with int64 to float32."""
    if isinstance(x, TensorBase) and x._data.dtype.kind == "f":
        return x
    arr = _array(x)
    return arr if arr.dtype.kind == "f" else arr.astype(_array(like).dtype)


def _weight_for(weight, shape, dtype, fn, name="weight"):
    """A constant per-element weight that broadcasts to the input's shape (torch: RuntimeError otherwise):
    kept 1-D when it holds one value per position of the input's last axis (the kernel reads it so),
    else expanded to the input's shape."""
    if weight is None:
        return None
    w = _array(weight)
    try:
        if np.broadcast_shapes(w.shape, tuple(shape)) != tuple(shape):
            raise ValueError
    except ValueError:
        raise RuntimeError(f"{fn}: {name} {w.shape} does not broadcast to the input's shape {tuple(shape)}") from None
    return _loss_weight(w, shape, dtype)


def _reduce_tensor(per, reduction):
    _check_reduction(reduction)
    if reduction == "none":
        return per
    return per.sum() if reduction == "sum" else per.mean()


def _class_indices(input, t, fn):
    """The target (an array) as int64 class indices. As torch, a target of another dtype is checked as class
    indices first, so a shape they cannot have raises that error (_rows_for_classes), then RuntimeError."""
    if t.dtype.kind not in "iu":
        _rows_for_classes(input, t, fn)
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_torch_name(t.dtype)} ({fn}: target {t.dtype} {t.shape}, "
                           f"input {tuple(input.shape)}; class probabilities need a float target of the input's shape)")
    if t.dtype != np.int64:
        capture_refuse(f"{fn}: a {t.dtype} target is converted to int64 outside the kernel")
    return t.astype(np.int64, copy=False)


def _rows_for_classes(input, target, fn):
    """(N, C) rows and (N,) targets for a class-index loss, from PyTorch's three layouts: (N, C) with (N,),
    one unbatched sample (C,) with a 0-d or (1,) target, and (N, C, d1, ...) with (N, d1, ...) (class axis moved
    last). Returns (rows, targets, shape of the per-element result)."""
    if input.ndim == 0:
        raise ValueError(f"{fn}: Expected 1 or more dimensions (got 0)")
    if input.ndim == 1:  # one unbatched sample: (C,) logits, a 0-d target (or (1,), as torch); a 0-d result
        if target.shape not in ((), (1,)):
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.size} ({fn}: "
                             f"input {tuple(input.shape)}, target {target.shape})")
        return input.reshape(1, -1), target.reshape(1), ()
    if target.ndim == 0 or target.shape[0] != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 0}). ({fn}: input {tuple(input.shape)}, target "
                         f"{target.shape})")
    if input.ndim == 2:
        if target.ndim != 1:  # torch's RuntimeError
            raise RuntimeError(f"0D or 1D target tensor expected, multi-target not supported ({fn}: input "
                               f"{tuple(input.shape)}, target {target.shape})")
        return input, target, target.shape
    want = (input.shape[0],) + tuple(input.shape[2:])
    if target.shape != want:
        raise RuntimeError(f"{fn}: Expected target size {list(want)}, got {list(target.shape)} "
                           f"(input {tuple(input.shape)})")
    c = input.shape[1]
    perm = (0,) + tuple(range(2, input.ndim)) + (1,)  # (N, C, d1, ...) -> (N * d1 * ..., C)
    return input.permute(perm).reshape(-1, c), target.reshape(-1), target.shape


def _class_weight(weight, input, fn):
    """The class weights as an array (None stays None): one per class (input's axis 1, or 0 for an
    unbatched (C,) input), else torch's RuntimeError."""
    if weight is None:
        return None
    w = _array(weight)
    c = input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim else 1)
    if w.shape != (c,):
        raise RuntimeError(f"{fn}: weight tensor should be defined either for all {c} classes or no classes but "
                           f"got weight tensor of shape: {list(w.shape)}")
    return w


def _check_weight_dtype(weight, input, fn):
    """torch's class-index kernels read the class weights in the input's dtype and refuse another one
    (RuntimeError) rather than convert it."""
    wdt, xdt = _array(weight).dtype, _array(input).dtype
    if wdt != xdt:
        raise RuntimeError(f"expected scalar type {_torch_name(xdt)} but found {_torch_name(wdt)} ({fn}: weight "
                           f"{wdt}, input {xdt}; give the weight the input's dtype)")


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing):
    """Cross-entropy against class probabilities (target of the input's shape, floating point), composed
    of log_softmax and Tensor ops: loss = -sum_c w_c t_c log_softmax(input)_c along the class axis (1, or
    0 for an unbatched (C,) input), t smoothed as t (1 - eps) + eps / C; 'mean' divides by the number of
    samples (N * d1 * ...), not by the weights, as torch. The target is differentiable, as in torch."""
    from .softmax import log_softmax
    if ignore_index != -100:
        raise RuntimeError("cross_entropy: ignore_index is not supported for floating point target")
    _check_reduction(reduction)
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    logp = log_softmax(input, cdim)
    t = target if isinstance(target, TensorBase) else _as_float_operand(target, input)
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / c
    prod = logp * t
    if weight is not None:
        w = _class_weight(weight, input, "cross_entropy").astype(prod.dtype)
        w = w.reshape((c,) + (1,) * (input.ndim - cdim - 1))
        prod = prod * constant_like(w, prod)
    per = -prod.sum(cdim)
    return _reduce_tensor(per, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """As torch.nn.functional.cross_entropy. Class indices: the fused log-softmax + NLL kernel over (N, C)
    logits and (N,) int64 targets, also (C,) with a 0-d target and (N, C, d1, ...) with (N, d1, ...).
    Class probabilities: a float target of the input's shape (composed of log_softmax and Tensor ops).
    Deliberate difference: integer targets of any integer dtype are accepted (torch: int64 or uint8 only).
    Any other target raises torch's errors: its shape checked as class indices first, then RuntimeError."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    label_smoothing = float(label_smoothing)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if not label_smoothing > 0.0:  # torch's kernels smooth only when it is > 0: a negative value (or NaN) is 0
        label_smoothing = 0.0
    _refuse_non_float("log_softmax", NotImplementedError, input=input)  # torch's log_softmax refuses it
    t = target._data if isinstance(target, TensorBase) else np.asarray(target)
    if t.dtype.kind == "f" and t.shape == tuple(input.shape):
        if input.ndim == 0:  # torch's log_softmax over dim 1 of a 0-d tensor fails the same way
            raise IndexError("cross_entropy: Dimension specified as 1 but tensor has no dimensions")
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing)
    if input.ndim == 0:  # torch: RuntimeError (nll_loss's is a ValueError)
        raise RuntimeError("cross_entropy: Expected 1 or more dimensions (got 0) for class-index targets")
    t = _class_indices(input, t, "cross_entropy")
    w = _class_weight(weight, input, "cross_entropy")
    if w is not None:
        _check_weight_dtype(w, input, "cross_entropy")
    if input.shape[1 if input.ndim >= 2 else 0] == 0:  # no classes: any kept target is out of range
        kept = t[t != ignore_index]
        if kept.size:
            raise IndexError(f"Target {kept.flat[0]} is out of bounds. (cross_entropy: input {tuple(input.shape)} "
                             "has no classes)")
    if input.ndim == 2 and t.shape == (input.shape[0],):  # the common case: straight to the kernel
        if w is not None:
            capture_refuse("cross_entropy: class weights are converted outside the kernel")
        return CrossEntropyFn.apply(input, t, w, ignore_index, reduction, label_smoothing)
    capture_refuse("cross_entropy: inputs other than (N, C) rows are rearranged outside the kernel")
    rows, flat, shape = _rows_for_classes(input, t, "cross_entropy")
    out = CrossEntropyFn.apply(rows, flat, w, ignore_index, reduction, label_smoothing)
    return out.reshape(shape) if reduction == "none" else out


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """As torch.nn.functional.nll_loss: -w[t] input[t] over log-probabilities (N, C) with (N,) targets,
    (C,) with a 0-d target, or (N, C, d1, ...) with (N, d1, ...); class weights and ignore_index; 'mean'
    divides by the summed weight of the kept targets (NaN when none is kept, as torch).
    Deliberate difference: integer targets of any integer dtype are accepted (torch: int64 or uint8). A (C,)
    input takes a 0-d or (1,) target (a 0-d result), and a float target raises torch's errors, as torch."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    _refuse_non_float("nll_loss", NotImplementedError, input=input)
    t = _class_indices(input, _array(target), "nll_loss")
    w = _class_weight(weight, input, "nll_loss")
    if w is not None:
        _check_weight_dtype(w, input, "nll_loss")
    rows, flat, shape = _rows_for_classes(input, t, "nll_loss")
    out = NLLLossFn.apply(rows, flat, w, ignore_index, reduction)
    return out.reshape(shape) if reduction == "none" and out.shape != shape else out


def _weighted_loss(per, weight, input, reduction, mean_by_weight):
    """torch's weighted form of mse_loss, l1_loss and huber_loss, composed of Tensor ops (so weight gets a
    gradient too, as in torch): per-element losses times weight (of the input's size exactly, else
    ValueError), then the reduction; 'mean' divides by the summed weight (mse, l1) or the count (huber)."""
    if tuple(np.shape(weight)) != tuple(np.shape(input)):
        raise ValueError("Weights and input must have the same size.")
    weighted = per * _as_tensor(weight, per)
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean":
        return weighted.sum() / _as_tensor(weight, per).sum() if mean_by_weight else weighted.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """As torch.nn.functional.mse_loss: (input - target)^2, broadcast with torch's size warning; weight
    (the input's size) scales each element and 'mean' then divides by its sum."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    _refuse_integer_pair(input, target, "mse_loss")
    input, target = _pointwise_operands(input, target, "mse_loss")
    if weight is not None:
        return _weighted_loss(MSELossFn.apply(input, target, "none"), weight, input, reduction, True)
    return MSELossFn.apply(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """As torch.nn.functional.l1_loss: |input - target|, broadcast with torch's size warning; weight as
    mse_loss's. Two integer operands give torch's exact int64 |input - target| for 'none' and 'sum'
    (RuntimeError for 'mean', as torch); a boolean one is refused (RuntimeError, as torch)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    for name, a in (("input", input), ("target", target)):
        if _array(a).dtype == np.bool_:
            raise RuntimeError(f"l1_loss: {name} has dtype bool; subtracting bool tensors is not supported")
    if _array(input).dtype.kind != "f" and _array(target).dtype.kind != "f":
        return _integer_l1_loss(input, target, reduction, weight)
    input, target = _pointwise_operands(input, target, "l1_loss")
    if weight is not None:
        return _weighted_loss(L1LossFn.apply(input, target, "none"), weight, input, reduction, True)
    return L1LossFn.apply(input, target, reduction)


def _integer_l1_loss(input, target, reduction, weight):
    """l1_loss of two integer operands, exact in int64 (torch's 'none' and 'sum'; its 'mean' fails)."""
    _check_reduction(reduction)
    if reduction == "mean" or weight is not None:
        raise RuntimeError(f"l1_loss: reduction='mean' (or a weight) of integer input {_array(input).dtype} and "
                           f"target {_array(target).dtype} needs a floating point dtype (torch: mean() could not "
                           "infer output dtype)")
    _pointwise_operands(input, target, "l1_loss")
    per = np.abs(_array(input).astype(np.int64) - _array(target).astype(np.int64))
    from ..tensor import Tensor
    return Tensor._wrap(per if reduction == "none" else np.asarray(per.sum()), False)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """As torch.nn.functional.binary_cross_entropy_with_logits: weight (any shape that broadcasts to the
    input's) rescales each element, pos_weight (broadcast likewise, typically one per class along the
    last axis) the positive term. Target size must equal the input's (ValueError, as torch); input and
    target are floating point (integer or boolean input: NotImplementedError, target: RuntimeError)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    if tuple(np.shape(target)) != tuple(np.shape(input)):
        raise ValueError(f"binary_cross_entropy_with_logits: Target size ({tuple(np.shape(target))}) must be the "
                         f"same as input size ({tuple(np.shape(input))}); input and target must have one shape")
    _refuse_non_float("log_sigmoid", NotImplementedError, input=input)  # as torch's log_sigmoid
    # torch writes the loss into a tensor of the target's dtype, so an integer one fails the cast
    _refuse_non_float("binary_cross_entropy_with_logits", RuntimeError, target=target)
    dt = np.result_type(_array(input), _array(target))
    w = _weight_for(weight, np.shape(input), dt, "binary_cross_entropy_with_logits")
    pw = _weight_for(pos_weight, np.shape(input), dt, "binary_cross_entropy_with_logits", "pos_weight")
    return BCEWithLogitsFn.apply(input, target, reduction, pw, w)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """As torch.nn.functional.binary_cross_entropy: input probabilities in [0, 1] (RuntimeError otherwise,
    NaN included, as torch), target of the input's size (ValueError otherwise) and dtype (RuntimeError),
    values in [0, 1]; the logs are clamped to >= -100 as in torch; weight broadcasts to the input."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(np.shape(target)) != tuple(np.shape(input)):
        raise ValueError(f"Using a target size ({tuple(np.shape(target))}) that is different to the input size "
                         f"({tuple(np.shape(input))}) is deprecated. Please ensure they have the same size.")
    x, y = _array(input), _array(target)
    if not isinstance(target, TensorBase):  # an array or list: taken in the input's dtype
        y = y.astype(x.dtype, copy=False)
    if x.dtype != y.dtype:
        raise RuntimeError(f"binary_cross_entropy: Found dtype {y.dtype} (target) but expected {x.dtype} (input)")
    _refuse_non_float("binary_cross_entropy", NotImplementedError, input=x)
    if not np.all((x >= 0) & (x <= 1)):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
    if not np.all((y >= 0) & (y <= 1)):
        raise RuntimeError("binary_cross_entropy: all elements of target should be between 0 and 1")
    w = _weight_for(weight, x.shape, x.dtype, "binary_cross_entropy")
    return BinaryCrossEntropyFn.apply(input, target if isinstance(target, TensorBase) else y, w, reduction)


def _refuse_integer_pair(input, target, fn):
    """torch's NotImplementedError for a float loss of two integer or boolean operands (one float operand
    sets the dtype, as torch promotes)."""
    if _array(input).dtype.kind != "f" and _array(target).dtype.kind != "f":
        _refuse_non_float(fn, NotImplementedError, input=input)


def _pointwise_operands(input, target, fn):
    """(input, target) of a broadcasting pointwise loss: torch's size warning, a checked broadcast."""
    _warn_if_sizes_differ(input, target)
    _broadcast_shape((np.shape(input), np.shape(target)), fn)
    return input, _as_float_operand(target, input)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """As torch.nn.functional.smooth_l1_loss: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta
    (d = input - target, broadcast with torch's warning); beta = 0 is the L1 loss."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _refuse_integer_pair(input, target, "smooth_l1_loss")
    input, target = _pointwise_operands(input, target, "smooth_l1_loss")
    return SmoothL1LossFn.apply(input, target, reduction, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """As torch.nn.functional.huber_loss: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); weight
    (the input's size) scales each element, 'mean' stays the mean over the elements (torch's)."""
    if weight is None:
        _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _refuse_integer_pair(input, target, "huber_loss")
    # torch's result takes the input's dtype, so an integer input with a float target fails the cast
    _refuse_non_float("huber_loss", RuntimeError, input=input)
    input, target = _pointwise_operands(input, target, "huber_loss")
    if weight is not None:
        return _weighted_loss(HuberLossFn.apply(input, target, "none", float(delta)), weight, input, reduction, False)
    return HuberLossFn.apply(input, target, reduction, float(delta))


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """As torch.nn.functional.kl_div: input log-probabilities, target probabilities (log-probabilities
    with log_target=True), broadcast together; 'batchmean' is the KL divergence per sample, 'mean'
    divides by every element (with torch's warning that it is not the KL divergence)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if any(_array(a).dtype.kind in "biu" for a in (input, target)):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    _broadcast_shape((np.shape(input), np.shape(target)), "kl_div")
    return KLDivFn.apply(input, _as_float_operand(target, input), reduction, bool(log_target))


def _check_dim(dim, ndim, fn):
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"{fn}: Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return dim % max(ndim, 1)


def _as_tensor(x, like=None):
    if isinstance(x, TensorBase):
        return x
    from ..tensor import Tensor
    arr = np.asarray(x)
    if like is not None and arr.dtype.kind != "f":
        arr = arr.astype(_array(like).dtype)
    return Tensor._wrap(arr, False)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """As torch.nn.functional.cosine_similarity: x1 and x2 broadcast together, each divided by its
    2-norm along dim clamped to >= eps (the clamp passes the norm's gradient through, as torch's
    in-place clamp under no_grad does), then the dot product along dim."""
    x1, x2 = _as_tensor(x1), _as_tensor(x2)
    shape = _broadcast_shape((x1.shape, x2.shape), "cosine_similarity")
    dim = _check_dim(dim, len(shape), "cosine_similarity")
    if len(shape) == 0:  # two numbers: vectors of one entry
        return cosine_similarity(x1.reshape(1), x2.reshape(1), 0, eps).reshape(())
    if tuple(x1.shape) != shape:
        x1 = x1.expand(*shape)
    if tuple(x2.shape) != shape:
        x2 = x2.expand(*shape)

    def clamped_norm(x):
        n = x.norm(dim=dim, keepdim=True)
        lift = np.maximum(n._data, eps) - n._data  # 0 except where the norm is below eps
        return n + constant_like(lift, n) if np.any(lift) else n

    return ((x1 / clamped_norm(x1)) * (x2 / clamped_norm(x2))).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """As torch.nn.functional.pairwise_distance: the p-norm of x1 - x2 + eps along the last axis."""
    x1, x2 = _as_tensor(x1), _as_tensor(x2)
    shape = _broadcast_shape((x1.shape, x2.shape), "pairwise_distance")
    diff = x1 - x2 + eps
    if len(shape) == 0:
        return diff.reshape(1).norm(p, 0, keepdim=False).reshape(())
    return diff.norm(p, len(shape) - 1, keepdim=keepdim)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """As torch.nn.functional.cosine_embedding_loss: 1 - cos where target = 1, max(0, cos - margin) where
    target = -1 (0 elsewhere), cos over dim 1 of (N, D) inputs with an (N,) target, or over a (D,) pair
    with a 0-d target; cos = x1.x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12)), torch's formula."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    x1, x2 = _as_tensor(input1), _as_tensor(input2)
    _broadcast_shape((x1.shape, x2.shape), "cosine_embedding_loss")
    t = _array(target)
    if t.ndim == 0 and x1.ndim != 1:
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with sizes "
                           f"{list(x1.shape)} and {list(x2.shape)}.")
    if t.ndim == 1 and x1.ndim != 2:
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(x1.shape)} and {list(x2.shape)}.")
    if t.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    d = 1 if x1.ndim == 2 else 0
    prod = (x1 * x2).sum(d)
    mag1 = (x1 * x1).sum(d) + 1e-12
    mag2 = (x2 * x2).sum(d) + 1e-12
    cos = prod / (mag1 * mag2).sqrt()
    _broadcast_shape((t.shape, tuple(cos.shape)), "cosine_embedding_loss")
    from ..tensor import where
    zero = cos * 0.0  # torch's zeros_like(cos)
    per = where(t == 1, 1 - cos, zero) + where(t == -1, (cos - margin).clip(min=0), zero)
    return _reduce_tensor(per, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """As torch.nn.functional.margin_ranking_loss: max(0, -target (input1 - input2) + margin), the three
    broadcast together (they must have one number of dimensions, RuntimeError otherwise, as torch);
    integer operands are promoted to a float dtype (float32 when none is floating), as torch."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    shapes = [tuple(np.shape(a)) for a in (input1, input2, target)]
    if len({len(s) for s in shapes}) != 1:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {shapes[0]}, input2: {shapes[1]}, target: {shapes[2]} ")
    _broadcast_shape(shapes, "margin_ranking_loss")
    # torch's promotion with the float margin: integer operands take the floating ones' dtype (float32
    # when none is floating), never integer arithmetic
    dt = _float_result_type(*(_array(a) for a in (input1, input2, target)))
    x1, x2, t = (_as_tensor(_array(a).astype(dt)) if _array(a).dtype.kind != "f" else _as_tensor(a)
                 for a in (input1, input2, target))
    per = (-t * (x1 - x2) + margin).clip(min=0)
    return _reduce_tensor(per, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """As torch.nn.functional.triplet_margin_loss: max(0, margin + d(a, p) - d(a, n)) with d the
    pairwise_distance (p-norm of the difference + eps along the last axis); swap=True uses
    min(d(a, n), d(p, n)) for the negative distance."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    dims = [len(np.shape(a)) for a in (anchor, positive, negative)]
    if len(set(dims)) != 1:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative {dims[2]}D "
                           "inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    per = (d_pos - d_neg + margin).clip(min=0)
    return _reduce_tensor(per, reduction)


def one_hot(tensor, num_classes=-1):
    """As torch.nn.functional.one_hot: an int64 tensor of shape (*tensor.shape, num_classes) (num_classes
    -1: max + 1), from int64 class indices; RuntimeError for other dtypes, negative or too large
    indices, and an empty tensor without num_classes, as torch."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot(): argument 'num_classes' must be int, not {type(num_classes).__name__}")
    t = _array(tensor)
    if t.dtype != np.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor (int64), got {t.dtype}")
    if t.size == 0 and num_classes <= 0:  # torch's check: also for num_classes=0 (or below -1)
        raise RuntimeError(f"Can not infer total number of classes from empty tensor (one_hot: tensor of shape "
                           f"{tuple(t.shape)}, num_classes={num_classes}).")
    if num_classes == -1:
        num_classes = int(t.max()) + 1
    if t.size and t.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes < 0 or (t.size and t.max() >= num_classes):
        raise RuntimeError(f"Class values must be smaller than num_classes ({num_classes}).")
    return OneHotFn.apply(t, int(num_classes))


# ---- porting losses: composites of differentiable Tensor ops (autograd gives their gradients) ---------

def _legacy_or_checked(size_average, reduce, reduction):
    """The reduction from torch's legacy arguments, or the given one checked (ValueError, as torch)."""
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce, reduction)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _softplus_exact(z):
    """log(1 + exp(z)) to the last bit in float32 and float64 and finite for every z: softplus's
    linear branch starts at z = 40, where log1p(exp(-z)) < 5e-18 z (below a float64 ulp)."""
    from .elementwise import softplus
    return softplus(z, 1.0, 40.0)


def _logsigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable at both ends (torch's logsigmoid)."""
    return -_softplus_exact(-x)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """As torch.nn.functional.poisson_nll_loss: exp(input) - target input (log_input=True), else
    input - target log(input + eps); full=True adds Stirling's target log(target) - target
    + 0.5 log(2 pi target) where target > 1. input and target broadcast together. Deliberate difference
    (README): with full=True the target's gradient is finite where target = 0 (torch's is NaN there, from
    0 * log(0) under its mask)."""
    if not isinstance(reduction, str):  # torch's message concatenates it with a str
        raise TypeError(f"poisson_nll_loss: reduction must be a str, not {type(reduction).__name__}")
    reduction = _legacy_or_checked(size_average, reduce, reduction)
    x = _as_tensor(input)
    t = _as_tensor(target, x)
    _broadcast_shape((x.shape, t.shape), "poisson_nll_loss")
    if log_input:
        per = x.exp() - t * x
    else:
        per = x - t * (x + eps).log()
    if full:
        from ..tensor import where
        big = t._data > 1  # the term is 0 elsewhere (and log(t) would be -inf or NaN there)
        safe = where(big, t, t * 0.0 + 1.0)  # the masked entries see t = 1: finite, gradient 0
        stirling = safe * safe.log() - safe + 0.5 * (2 * np.pi * safe).log()
        per = per + where(big, stirling, stirling * 0.0)
    return _reduce_tensor(per, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """As torch.nn.functional.gaussian_nll_loss: 0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps)),
    + 0.5 log(2 pi) with full=True. var is a float, a tensor of the input's size, of its size without the
    last axis (homoscedastic), or of its size with one axis of size 1; else ValueError, as is a negative
    var; a var tensor is floating point (RuntimeError otherwise, as torch). The clamp passes var's gradient through (torch clamps in place under no_grad)."""
    x = _as_tensor(input)
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        v = _as_tensor(np.full(x.shape, var, dtype=x._data.dtype))
    else:
        if not isinstance(var, (TensorBase, np.ndarray)):
            raise TypeError(f"gaussian_nll_loss: var must be a Tensor or a float, not {type(var).__name__}")
        # torch clamps var in place, so an integer var cannot hold eps: RuntimeError
        _refuse_non_float("gaussian_nll_loss", RuntimeError, var=var)
        v = _as_tensor(var, x)
        if np.any(v._data < 0):
            raise ValueError("var has negative entry/entries")
    xs, vs = tuple(x.shape), tuple(v.shape)
    if vs != xs:
        if xs[:-1] == vs:
            v = v.unsqueeze(-1)
        elif not (len(xs) == len(vs) and sum(b for a, b in zip(xs, vs) if a != b) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    lift = np.maximum(v._data, eps) - v._data  # 0 except where var < eps
    if np.any(lift):
        v = v + constant_like(lift.astype(v._data.dtype, copy=False), v)
    t = _as_tensor(target, x)
    per = 0.5 * (v.log() + (x - t) ** 2 / v)
    if full:
        per = per + 0.5 * np.log(2 * np.pi)
    return _reduce_tensor(per, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """As torch.nn.functional.hinge_embedding_loss: input where target != -1, plus max(0, margin - input)
    where target != 1 (so a target of 1 or -1 picks one term), input and target broadcast together.
    Deliberate difference (README): an integer or boolean input is refused (RuntimeError); torch's 'none'
    and 'sum' compute int64 there, truncating margin - input, and its 'mean' fails."""
    reduction = _legacy_or_checked(size_average, reduce, reduction)
    _refuse_non_float("hinge_embedding_loss", RuntimeError, input=input)
    from ..tensor import where
    x = _as_tensor(input)
    t = _array(target)
    _broadcast_shape((x.shape, t.shape), "hinge_embedding_loss")
    zero = x * 0.0
    per = where(t != 1, (margin - x).clip(min=0), zero) + where(t != -1, x, zero)
    return _reduce_tensor(per, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """As torch.nn.functional.soft_margin_loss: log(1 + exp(-target input)) in the input's dtype and shape
    (the target broadcasts to it; RuntimeError otherwise, and for a non-float input, as torch). Deliberate difference (README): computed as softplus, so it stays finite (and its gradient
    -target) where -target input > ~88 (float32) or ~709 (float64); torch's log1p(exp()) gives inf (and
    a NaN gradient) there."""
    reduction = _legacy_or_checked(size_average, reduce, reduction)
    if isinstance(target, TensorBase) and target.requires_grad:
        raise RuntimeError("The function 'soft_margin_loss' is not differentiable with respect to argument "
                           "'target'. This input cannot have requires_grad True.")
    # torch writes the loss into a tensor of the input's dtype and shape: an integer input fails the cast,
    # a float64 target with a float32 input gives float32, and the target may not broadcast past the input
    _refuse_non_float("soft_margin_loss", RuntimeError, input=input)
    x = _as_tensor(input)
    t = _array(target)
    shape = _broadcast_shape((tuple(x.shape), t.shape), "soft_margin_loss")
    if shape != tuple(x.shape):
        raise RuntimeError(f"output with shape {list(x.shape)} doesn't match the broadcast shape {list(shape)} "
                           f"(soft_margin_loss: target {t.shape} must broadcast to the input's shape)")
    t = constant_like(t.astype(x._data.dtype, copy=False), x)
    return _reduce_tensor(_softplus_exact(-(t * x)), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """As torch.nn.functional.multilabel_soft_margin_loss: per sample, the mean over the classes (the last
    axis) of -(y logsigmoid(x) + (1 - y) logsigmoid(-x)), each class scaled by weight (broadcast, and
    differentiable, as torch's); then the reduction over the samples."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    _refuse_non_float("log_sigmoid", NotImplementedError, input=input)  # as torch's log_sigmoid
    x = _as_tensor(input)
    t = _as_tensor(target, x)
    per = -(t * _logsigmoid(x) + (1 - t) * _logsigmoid(-x))
    if weight is not None:
        per = per * _as_tensor(weight, x)
    cdim = x.ndim - 1
    per = per.sum(cdim) / x.shape[cdim]
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    return _reduce_tensor(per, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """As torch.nn.functional.multi_margin_loss: per sample, sum over the classes j != y of
    w[y] max(0, margin - x[y] + x[j])^p / C (p 1 or 2), for (N, C) input with (N,) targets or a (C,)
    input with a 0-d or (1,) target; weight is one per class of the input's dtype (not differentiable,
    as torch's). A term with margin - x[y] + x[j] = 0 (or NaN) adds nothing, gradient included, as torch."""
    reduction = _legacy_or_checked(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and np.ndim(_array(weight)) != 1:
        raise ValueError("weight must be one-dimensional")
    _refuse_non_float("multi_margin_loss", NotImplementedError, input=input)
    x = _as_tensor(input)
    t = _array(target)
    if t.dtype.kind not in "iu":  # torch: RuntimeError (expected scalar type Long)
        raise RuntimeError(f"multi_margin_loss: target must hold class indices (int64), got dtype {t.dtype}")
    t = t.astype(np.int64, copy=False)
    if not ((x.ndim == 1 and x.shape[0] != 0) or (x.ndim == 2 and x.shape[1] != 0)):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(x.shape)}")
    rows = x.reshape(1, -1) if x.ndim == 1 else x
    n, c = rows.shape
    if t.ndim > 1 or t.size != n:
        raise RuntimeError(f"inconsistent target size, expected {n} but got {list(t.shape)}")
    flat = t.reshape(n)
    if flat.size and (flat.min() < 0 or flat.max() >= c):
        raise RuntimeError("target out of range")
    if weight is not None and _array(weight).shape != (c,):
        raise RuntimeError(f"inconsistent weight size, expected {c} but got {list(_array(weight).shape)}")
    if weight is not None:
        _check_weight_dtype(weight, x, "multi_margin_loss")
    from ..tensor import Tensor, where
    picked = rows.gather(1, Tensor._wrap(flat.reshape(n, 1), False))  # x[y] per row, (N, 1)
    z = margin - picked + rows
    # torch adds a term only where z > 0: at z = 0 (and NaN) it is inactive, its gradient 0 (clip's is 1)
    hinge = where(z._data > 0, z, 0.0)
    if p == 2:
        hinge = hinge * hinge
    scale = np.ones((n, c), dtype=rows._data.dtype)
    scale[np.arange(n), flat] = 0  # j == y is left out
    if weight is not None:
        scale *= _array(weight).astype(scale.dtype)[flat][:, None]
    per = (hinge * constant_like(scale, hinge)).sum(1) / c
    if reduction == "none" and t.ndim == 0:
        per = per.reshape(())
    return _reduce_tensor(per, reduction)


def _ctc_lengths(lengths, name):
    """CTC lengths as an int64 array: a Tensor (or array) of an integer dtype (RuntimeError otherwise, as
    torch), any shape, flattened; or a list or tuple of ints."""
    if isinstance(lengths, (TensorBase, np.ndarray)):
        a = _array(lengths)
        if a.dtype.kind not in "iu":
            raise RuntimeError(f"{name} must be integral (ctc_loss: {name} has dtype {a.dtype})")
        return a.astype(np.int64).reshape(-1)
    return np.array([int(v) for v in lengths], dtype=np.int64).reshape(-1)


def _is_length_sequence(x):
    return isinstance(x, (list, tuple)) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                for v in x)


def _ctc_check(what, ok, message):
    if not ok:
        raise RuntimeError(f"{message} (while checking arguments for ctc_loss: {what})")


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """As torch.nn.functional.ctc_loss: the connectionist temporal classification loss of log_probs (T, N, C)
    (or one unbatched sample (T, C)) against targets padded (N, S) (or (1, S) unbatched), or concatenated
    1-D (of size sum(target_lengths)); input_lengths and target_lengths both integer Tensors (any shape,
    N values) or both lists or tuples of ints (TypeError otherwise, as torch). 'mean' divides each
    sample's loss by its target length (at least 1), then averages; zero_infinity=True makes an infinite
    loss (no alignment fits the input length) and its gradient 0. Targets are cast to int64, as torch.
    log_probs.grad is torch's: the derivative of the loss plus exp(log_probs) for t < input_length (its
    formula assumes log_probs from log_softmax, whose backward removes that term; so logits.grad
    before a log_softmax is the true derivative). Deliberate difference (README): a used target (within
    its target length) outside [0, C) or equal to blank raises RuntimeError; torch reads out of bounds
    for the first, and for the second (which its documentation forbids) computes a gradient that drops
    a term at the last frame."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    tensors = [isinstance(x, (TensorBase, np.ndarray)) for x in (input_lengths, target_lengths)]
    if not (all(tensors) or all(_is_length_sequence(x) for x in (input_lengths, target_lengths))):
        raise TypeError(f"ctc_loss(): input_lengths and target_lengths must both be Tensors or both tuples of "
                        f"ints, got {type(input_lengths).__name__} and {type(target_lengths).__name__}")
    il = _ctc_lengths(input_lengths, "input_lengths")
    tl = _ctc_lengths(target_lengths, "target_lengths")
    lp_arr = _array(log_probs)
    if lp_arr.dtype not in _KERNEL_DTYPES:
        raise NotImplementedError(f'"ctc_loss_cpu" not implemented for \'{_torch_name(lp_arr.dtype)}\' '
                                  "(log_probs must be float32 or float64)")
    x = _as_tensor(log_probs)
    batched = x.ndim == 3
    if not batched:
        x = x.unsqueeze(1)
    if x._data.size == 0:
        raise RuntimeError(f"log_probs tensor must not be empty (ctc_loss: log_probs of shape {tuple(lp_arr.shape)})")
    _ctc_check("ctc_loss", x.ndim == 3, f"Expected 3-dimensional tensor, but got {x.ndim}-dimensional tensor "
               f"for argument #1 'log_probs'")
    t = _array(targets)
    _ctc_check("ctc_loss", 1 <= t.ndim <= 2, f"Expected 1 to 2 dimensions, but got {t.ndim}-dimensional tensor "
               "for argument #2 'targets'")
    t = t.astype(np.int64)
    T, N, C = x.shape
    if not 0 <= blank < C:
        raise RuntimeError(f"blank must be in label range (ctc_loss: blank {blank}, {C} classes)")
    if il.size != N:
        raise RuntimeError(f"input_lengths must be of size batch_size (ctc_loss: {il.size} lengths, batch {N})")
    if tl.size != N:
        raise RuntimeError(f"target_lengths must be of size batch_size (ctc_loss: {tl.size} lengths, batch {N})")
    for v in tl:
        _ctc_check("target_lengths", v >= 0, f"Expected target_lengths to have value at least 0, but got value {v}")
    width = int(tl.max()) if N else 0
    if t.ndim == 1:  # concatenated: sample n's labels start after the earlier samples' target lengths
        total = int(tl.sum())
        _ctc_check("targets", t.shape[0] == total, f"Expected tensor to have size {total} at dimension 0, but "
                   f"got size {t.shape[0]} for argument #2 'targets'")
        starts = np.cumsum(tl) - tl
        pos = starts[:, None] + np.arange(width)
        used = np.arange(width) < tl[:, None]
        padded = np.where(used, t[np.minimum(pos, max(total - 1, 0))] if total else 0, 0)
    else:
        _ctc_check("targets", t.shape[0] == N, f"Expected tensor to have size {N} at dimension 0, but got size "
                   f"{t.shape[0]} for argument #2 'targets'")
        _ctc_check("targets", t.shape[1] >= width, f"Expected tensor to have size at least {width} at dimension 1, "
                   f"but got size {t.shape[1]} for argument #2 'targets'")
        used = np.arange(t.shape[1]) < tl[:, None]
        padded = np.where(used, t, 0)
    for v in il:
        _ctc_check("input_lengths", v >= 0, f"Expected input_lengths to have value at least 0, but got value {v}")
        _ctc_check("input_lengths", v <= T, f"Expected input_lengths to have value at most {T}, but got value {v}")
    bad = used & ((padded < 0) | (padded >= C) | (padded == blank))
    if bad.any():
        n, k = np.argwhere(bad)[0]
        raise RuntimeError(f"ctc_loss: target {padded[n, k]} (sample {n}, position {k}) must be a class in [0, {C}) "
                           f"other than blank ({blank})")
    per = CTCLossFn.apply(x, padded, il, tl, int(blank), bool(zero_infinity))
    if per._ctx is not None:  # recorded: add torch's extra gradient term; its forward's nll marks the inf ones
        per = per + _ctc_torch_gradient_term(x, il, per._ctx.saved_tensors[-1], zero_infinity)
    if reduction == "mean":
        return (per / constant_like(np.maximum(tl, 1).astype(per.dtype), per)).mean()
    if reduction == "sum":
        return per.sum()
    return per if batched else per.reshape(())


def _ctc_torch_gradient_term(x, il, nll, zero_infinity):
    """0 per sample, with the gradient exp(lp[t, n, c]) for t < input_lengths[n] (not for a sample whose
    infinite nll zero_infinity zeroed): torch's CTC gradient is the derivative plus this term (ctc_loss)."""
    T, N, _ = x.shape
    keep = np.arange(T)[:, None] < il[None, :]
    if zero_infinity:
        keep = keep & (nll != np.inf)[None, :]
    mass = (x.exp() * constant_like(keep[..., None].astype(x.dtype), x)).sum(2).sum(0)
    value = mass._data
    finite = np.isfinite(value)
    from ..tensor import where
    return where(finite, mass - constant_like(np.where(finite, value, 0).astype(value.dtype), mass), 0.0)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """As torch.nn.functional.multilabel_margin_loss: per sample, sum over its target classes j (the
    target's entries up to the first -1, a repeated one counted again) and the classes i not among them
    of max(0, 1 - (x[j] - x[i])) / C, for (N, C) input with an int64 (N, C) target, (C,) with (C,), or a
    0-d input with one target; a term at exactly 0 (or NaN) adds nothing, gradient included, as torch.
    Deliberate difference (README): over N = 0 samples 'mean' is NaN and 'sum' 0 (torch returns
    uninitialised memory)."""
    reduction = _legacy_or_checked(size_average, reduce, reduction)
    _refuse_non_float("multilabel_margin_loss_forward_out_frame", NotImplementedError, input=input)
    x = _as_tensor(input)
    t = _array(target)
    if not ((x.ndim == 2 and x.shape[1] != 0) or (x.ndim == 1 and x.shape[0] != 0) or x.ndim == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(x.shape)}")
    if x.ndim <= 1:
        c = 1 if x.ndim == 0 else x.shape[0]
        ok = t.ndim <= 1 and t.size == c
    else:
        c = x.shape[1]
        ok = t.shape == tuple(x.shape)
    if not ok:
        raise RuntimeError(f"inconsistent target size: {list(t.shape)} for input of size: {list(x.shape)}")
    if t.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found {_torch_name(t.dtype)} (multilabel_margin_loss: "
                           "target holds int64 class indices)")
    rows = x.reshape(-1, c)
    t = t.reshape(-1, c)
    n = rows.shape[0]
    if t.size and (t.min() < -1 or t.max() >= c):  # torch checks every entry, those after a -1 too
        raise RuntimeError(f"argument #2 'target' is out of range (multilabel_margin_loss: values in [-1, {c}))")
    listed = np.cumsum(t < 0, axis=1) == 0  # each row's targets: its entries before the first -1
    idx = np.where(listed, t, 0)
    is_target = np.zeros((n, c), bool)
    r, k = np.nonzero(listed)
    is_target[r, idx[r, k]] = True
    from ..tensor import Tensor, where
    picked = rows.gather(1, Tensor._wrap(idx, False))  # x[y_k] per slot k, (N, C)
    z = 1 - picked.unsqueeze(2) + rows.unsqueeze(1)  # (N, slot k, class i)
    active = listed[:, :, None] & ~is_target[:, None, :] & (z._data > 0)
    per = where(active, z, 0.0).sum(2).sum(1) / c
    if reduction == "none" and x.ndim <= 1:
        per = per.reshape(())
    return _reduce_tensor(per, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """As torch.nn.functional.triplet_margin_with_distance_loss: max(0, margin + d(a, p) - d(a, n)) with d
    the given callable (pairwise_distance by default); swap=True takes min(d(a, n), d(p, n)) for the
    negative distance. Composed of Tensor ops, so any differentiable distance_function gets gradients."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    dims = [_array(a).ndim for a in (anchor, positive, negative)]
    if len(set(dims)) != 1:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative {dims[2]}D "
                           "inputs")
    if distance_function is None:
        distance_function = pairwise_distance
    d_pos = distance_function(anchor, positive)
    d_neg = distance_function(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance_function(positive, negative))
    per = (d_pos - d_neg + margin).clip(min=0)
    return _reduce_tensor(per, reduction)
