"""Batch normalisation over axis 1 of (N, C, ...): statistics, normalisation and the gradient fused per
channel in C++ (the input seen as (N, C, L)).

training:   mean, biased var over (N, L) per channel; y = gamma * (x - mean) * invstd + beta,
            invstd = 1 / sqrt(var + eps); running statistics updated here with momentum (unbiased var)
evaluation: the running statistics in place of the batch's
backward:   dx, dgamma, dbeta from dy; in training the statistics' own dependence on x is included

`_C` entries: `batch_norm_forward` (training: the batch's statistics), `batch_norm_eval_forward` (given
statistics), `batch_norm_backward`. Reference: `firstepoch.reference.norm`, the same names, the same
formulas in NumPy, arguments in the same order (x, gamma, beta, then mean, invstd).
"""
import numpy as np

from .. import _C
from ..autograd.function import Function, constant_like


def _as_ncl(x):
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C) or (N, C, ...), got shape {x.shape}")
    # L spelled out: reshape(N, C, -1) cannot infer it for an empty input
    return np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], int(np.prod(x.shape[2:], dtype=np.int64)))


class BatchNormFn(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta per channel (axis 1). In training the batch's
    statistics are used (and, given, running_mean/running_var are updated in place with `momentum`,
    the variance unbiased, as in PyTorch); in evaluation the running statistics are. An empty input
    gives an empty output in both modes and leaves the running statistics alone, as in PyTorch; a
    single value per channel in training is a ValueError, as in PyTorch."""

    kernel = "batch_norm"

    @staticmethod
    def forward(ctx, x, gamma=None, beta=None, running_mean=None, running_var=None, training=True, momentum=0.1,
                eps=1e-5):
        x3 = _as_ncl(x)
        N, C, L = x3.shape
        y_out = np.empty(x.shape, x.dtype)  # the output owns its memory (see backward)
        y = y_out.reshape(x3.shape)
        if training and N * L == 1:
            raise ValueError(f"batch_norm: Expected more than 1 value per channel when training, got input size "
                             f"{tuple(x.shape)}")
        if training and N * L == 0:
            # no statistics to take (PyTorch returns the empty output and leaves the running ones); the
            # backward's sums over no values give zero parameter gradients
            mean = np.zeros(C, x.dtype)
            invstd = np.ones(C, x.dtype)
        elif training:
            mean = np.empty(C, x.dtype)
            invstd = np.empty(C, x.dtype)
            var = np.empty(C, x.dtype)
            _C.batch_norm_forward(x3, gamma, beta, y, mean, invstd, var, eps)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += (momentum * var.astype(np.float64) * (N * L) / (N * L - 1)).astype(running_var.dtype)
        else:
            if running_mean is None:
                raise ValueError("batch_norm: evaluation needs running statistics")
            mean = np.ascontiguousarray(running_mean, dtype=x.dtype)
            invstd = (1.0 / np.sqrt(running_var + eps)).astype(x.dtype)
            _C.batch_norm_eval_forward(x3, gamma, beta, mean, invstd, y)
        ctx.save_for_backward(x3, gamma, mean, invstd)
        ctx.training = training
        ctx.eps = eps
        ctx.shape = x.shape
        return y_out

    @staticmethod
    def backward(ctx, grad):
        x3, gamma, mean, invstd = ctx.saved_tensors
        dy = np.ascontiguousarray(grad).reshape(x3.shape)
        C = x3.shape[1]
        # dx allocated in the input's shape and handed out as itself: a reshaped view would be copied by
        # the engine before it lands in a leaf's .grad (a whole extra pass over the gradient)
        dx = np.empty(ctx.shape, x3.dtype) if ctx.needs_input_grad[0] else None
        dgamma = np.empty(C, x3.dtype) if gamma is not None and ctx.needs_input_grad[1] else None
        dbeta = np.empty(C, x3.dtype) if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2] else None
        _C.batch_norm_backward(dy, x3, gamma, mean, invstd, None if dx is None else dx.reshape(x3.shape), dgamma,
                               dbeta, ctx.training)
        return dx, dgamma, dbeta, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # backward's formulas on Tensors, the batch statistics recomputed from x (in training they
        # depend on x); per channel, with sums over (N, L):
        #   dx = gamma * invstd * (g - mean(g) - xhat * mean(g * xhat)),  dgamma = sum(g * xhat),  dbeta = sum(g)
        # (in evaluation: dx = gamma * invstd * g, the running statistics constants)
        x3_saved, _, mean_saved, invstd_saved = ctx.saved_tensors
        n, c, length = x3_saved.shape
        parents = ctx.parents
        needs = list(ctx.needs_input_grad) + [False] * 3
        x3 = constant_like(parents[0], grad).reshape(n, c, length)
        g = grad.reshape(n, c, length)
        axes = (0, 2)
        if ctx.training and n * length:
            centered = x3 - x3.mean(axes, keepdim=True)
            invstd = ((centered * centered).mean(axes, keepdim=True) + ctx.eps) ** -0.5
            xhat = centered * invstd
        else:  # evaluation (or an empty batch): constant statistics
            invstd = constant_like(invstd_saved.reshape(1, c, 1), grad)
            xhat = (x3 - constant_like(mean_saved.reshape(1, c, 1), grad)) * invstd
        gamma = parents[1] if len(parents) > 1 else None
        scale = invstd if gamma is None else constant_like(gamma, grad).reshape(1, c, 1) * invstd
        dx = dgamma = dbeta = None
        if needs[0]:
            if ctx.training and n * length:
                dx = scale * (g - g.mean(axes, keepdim=True) - xhat * (g * xhat).mean(axes, keepdim=True))
            else:
                dx = scale * g
            dx = dx.reshape(ctx.shape)
        if gamma is not None and needs[1]:
            dgamma = (g * xhat).sum(axes)
        if needs[2]:
            dbeta = g.sum(axes)
        return dx, dgamma, dbeta, None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((4, 3, 5))
        g, b = rng.standard_normal(3), rng.standard_normal(3)
        rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
        return [((x, g, b), {}), ((rng.standard_normal((6, 4)),), {}),
                ((x, g, b), {"running_mean": rm, "running_var": rv, "training": False})]


def batch_norm(input, running_mean=None, running_var=None, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """As torch.nn.functional.batch_norm (its argument order)."""
    return BatchNormFn.apply(input, weight, bias, running_mean, running_var, training, momentum, eps)
