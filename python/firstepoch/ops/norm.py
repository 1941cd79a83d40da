"""Batch normalisation over axis 1 of (N, C, ...): statistics, normalisation and the gradient fused per
channel in C++ (the input seen as (N, C, L)).

training:   mean, biased var over (N, L) per channel; y = gamma * (x - mean) * invstd + beta,
            invstd = 1 / sqrt(var + eps); running statistics updated here with momentum (unbiased var)
evaluation: the running statistics in place of the batch's
backward:   dx, dgamma, dbeta from dy; in training the statistics' own dependence on x is included

Layer norm and group norm (LayerNormFn, GroupNormFn) normalise each row by its own statistics: a sample's
last dims (layer), or a sample's group of channels (group); the same C++ row kernel does both.

`_C` entries: `batch_norm_forward` (training: the batch's statistics), `batch_norm_eval_forward` (given
statistics), `batch_norm_backward`; `layer_norm_forward/backward`, `group_norm_forward/backward`. Reference: `firstepoch.reference.norm`, the same names, the same
formulas in NumPy, arguments in the same order (x, gamma, beta, then mean, invstd).
"""
import numpy as np

from .. import _C
from ..autograd.function import Function, constant_like


def _as_ncl(x):
    if x.ndim < 2:  # torch: RuntimeError
        raise RuntimeError(f"batch_norm: input must be (N, C) or (N, C, ...), got shape {x.shape}")
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
        # torch's checks, classes and words: one value per channel in each (any shape of C elements)
        if (running_mean is None) != (running_var is None):
            raise ValueError("running_mean and running_var must either both be None or neither be None")
        if not training and running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        named = {"weight": gamma, "bias": beta, "running_mean": running_mean, "running_var": running_var}
        _check_param_dtypes(x, *named.values())  # also the running statistics (torch: before anything changes)
        for name, a in named.items():
            if a is not None and a.size != C:
                raise RuntimeError(f"{name} should contain {C} elements not {a.size} (batch_norm: input shape "
                                   f"{tuple(x.shape)}, {name} shape {tuple(a.shape)})")
        ctx.param_shapes = tuple(None if a is None else a.shape for a in (gamma, beta))  # their gradients' shapes
        gamma, beta = (None if a is None else a.reshape(C) for a in (gamma, beta))
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
        gs, bs = ctx.param_shapes
        dgamma = dgamma if dgamma is None else dgamma.reshape(gs)
        dbeta = dbeta if dbeta is None else dbeta.reshape(bs)
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
            dgamma = (g * xhat).sum(axes).reshape(ctx.param_shapes[0])
        if needs[2]:
            dbeta = g.sum(axes).reshape(ctx.param_shapes[1])
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


# ---- layer norm and group norm: per-row statistics (one kernel for both, see kernels/norm/norm.h) ----

def _dims(shape):
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def _check_param_dtypes(x, *params):
    """PyTorch's RuntimeError for a weight or bias whose dtype is not the input's (a Tensor-level check:
    the Functions' kernels refuse the mix with a TypeError naming the array)."""
    for p in params:
        if p is not None and p.dtype != x.dtype:
            if x.dtype == np.float32:
                raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def _flat_param(p, n):
    return None if p is None else np.ascontiguousarray(p).reshape(n)


class LayerNormFn(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, the statistics (biased variance) of each sample's
    last len(normalized_shape) dims; weight and bias have shape normalized_shape (or are None). The
    statistics and gradients are fused per row in C++ (x seen as (M, D)); dweight/dbias are summed over
    the rows in a fixed order."""

    kernel = "layer_norm"

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, normalized_shape=None, eps=1e-5):
        ns = tuple(int(d) for d in normalized_shape)
        if not ns:
            raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
                               "one element, but got normalized_shape = []")
        k = len(ns)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != ns:
            raise RuntimeError(f"Given normalized_shape={_dims(ns)}, expected input with shape [*, "
                               f"{', '.join(map(str, ns))}], but got input of size{_dims(x.shape)}")
        for name, p in (("weight", weight), ("bias", bias)):
            if p is not None and tuple(p.shape) != ns:
                raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                                   f"{_dims(p.shape)} and normalized_shape = {_dims(ns)}")
        D = int(np.prod(ns, dtype=np.int64))
        M = int(np.prod(x.shape[:x.ndim - k], dtype=np.int64))
        x2 = np.ascontiguousarray(x).reshape(M, D)
        gamma, beta = _flat_param(weight, D), _flat_param(bias, D)
        y = np.empty(x.shape, x.dtype)
        mean, invstd = np.empty(M, x.dtype), np.empty(M, x.dtype)
        _C.layer_norm_forward(x2, gamma, beta, y.reshape(M, D), mean, invstd, eps)
        ctx.save_for_backward(x2, gamma, mean, invstd)
        ctx.shape, ctx.ns, ctx.eps = x.shape, ns, eps
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x2, gamma, mean, invstd = ctx.saved_tensors
        needs = list(ctx.needs_input_grad) + [False] * 3  # weight/bias may not have been passed
        dy = np.ascontiguousarray(grad, dtype=x2.dtype).reshape(x2.shape)
        dx = np.empty(ctx.shape, x2.dtype) if needs[0] else None
        dgamma = np.empty(ctx.ns, x2.dtype) if gamma is not None and needs[1] else None
        dbeta = np.empty(ctx.ns, x2.dtype) if ctx.has_bias and needs[2] else None
        D = x2.shape[1]
        _C.layer_norm_backward(dy, x2, gamma, mean, invstd, None if dx is None else dx.reshape(x2.shape),
                               None if dgamma is None else dgamma.reshape(D), None if dbeta is None else dbeta.reshape(D))
        return dx, dgamma, dbeta, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # backward's formulas on Tensors, the row statistics recomputed from x (they depend on x):
        #   dx = invstd * (g - mean(g) - xhat * mean(g * xhat)), g = grad * weight; sums over each row
        x2_saved = ctx.saved_tensors[0]
        M, D = x2_saved.shape
        parents = list(ctx.parents) + [None] * 3
        needs = list(ctx.needs_input_grad) + [False] * 3
        x = constant_like(parents[0], grad).reshape(M, D)
        dy = grad.reshape(M, D)
        centered = x - x.mean(1, keepdim=True)
        invstd = ((centered * centered).mean(1, keepdim=True) + ctx.eps) ** -0.5
        xhat = centered * invstd
        weight = parents[1]
        g = dy if weight is None else dy * constant_like(weight, grad).reshape(1, D)
        dx = dgamma = dbeta = None
        if needs[0]:
            dx = (invstd * (g - g.mean(1, keepdim=True) - xhat * (g * xhat).mean(1, keepdim=True))).reshape(ctx.shape)
        if weight is not None and needs[1]:
            dgamma = (dy * xhat).sum(0).reshape(ctx.ns)
        if ctx.has_bias and needs[2]:
            dbeta = dy.sum(0).reshape(ctx.ns)
        return dx, dgamma, dbeta, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4, 5))
        return [((x, rng.standard_normal(5), rng.standard_normal(5)), {"normalized_shape": (5,)}),
                ((x, rng.standard_normal((4, 5)), None), {"normalized_shape": (4, 5)}),
                ((rng.standard_normal((2, 1)) * 3, None, rng.standard_normal(1)), {"normalized_shape": (1,)}),
                ((rng.standard_normal(7),), {"normalized_shape": (7,), "eps": 1e-3})]


class GroupNormFn(Function):
    """Group norm over (N, C, *): each sample's C channels in num_groups groups of C/num_groups, each group
    normalised by its own mean and biased variance, then weight/bias (C,) per channel (or None). The
    statistics and gradients are fused per (sample, group) in C++; dweight/dbias summed in a fixed order."""

    kernel = "group_norm"

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, num_groups=1, eps=1e-5):
        if x.ndim < 2:
            raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {x.ndim}")
        G = int(num_groups)
        if G == 0:
            raise ZeroDivisionError("integer division or modulo by zero")  # as PyTorch
        if G < 0:
            raise RuntimeError(f"Expected num groups to be greater than 0, got {G}")
        N, C = x.shape[0], x.shape[1]
        # PyTorch's F.group_norm refuses a sample-by-group view of one value (its _verify_batch_size on
        # [N*C/G, G, *spatial]: the product of all but the G), before the divisibility check
        size = [N * C // G, G] + [int(d) for d in x.shape[2:]]
        if size[0] * int(np.prod(size[2:], dtype=np.int64)) == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")
        if C % G:
            raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input "
                               f"of shape {_dims(x.shape)} and num_groups={G}")
        for name, p in (("weight", weight), ("bias", bias)):
            if p is not None and (p.ndim != 1 or p.shape[0] != C):
                raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                                   f"but got {name} of shape {_dims(p.shape)} and input of shape {_dims(x.shape)}")
        L = int(np.prod(x.shape[2:], dtype=np.int64))
        x3 = np.ascontiguousarray(x).reshape(N, C, L)
        gamma, beta = _flat_param(weight, C), _flat_param(bias, C)
        y = np.empty(x.shape, x.dtype)
        mean, invstd = np.empty((N, G), x.dtype), np.empty((N, G), x.dtype)
        _C.group_norm_forward(x3, G, gamma, beta, y.reshape(N, C, L), mean, invstd, eps)
        ctx.save_for_backward(x3, gamma, mean, invstd)
        ctx.shape, ctx.groups, ctx.eps = x.shape, G, eps
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x3, gamma, mean, invstd = ctx.saved_tensors
        needs = list(ctx.needs_input_grad) + [False] * 3
        C = x3.shape[1]
        dy = np.ascontiguousarray(grad, dtype=x3.dtype).reshape(x3.shape)
        dx = np.empty(ctx.shape, x3.dtype) if needs[0] else None
        dgamma = np.empty(C, x3.dtype) if gamma is not None and needs[1] else None
        dbeta = np.empty(C, x3.dtype) if ctx.has_bias and needs[2] else None
        _C.group_norm_backward(dy, x3, ctx.groups, gamma, mean, invstd, None if dx is None else dx.reshape(x3.shape),
                               dgamma, dbeta)
        return dx, dgamma, dbeta, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # as LayerNormFn's, over the rows (sample, group); weight and bias are per channel
        N, C, L = ctx.saved_tensors[0].shape
        G = ctx.groups
        parents = list(ctx.parents) + [None] * 3
        needs = list(ctx.needs_input_grad) + [False] * 3
        x = constant_like(parents[0], grad).reshape(N * G, (C // G) * L)
        dy = grad.reshape(N, C, L)
        centered = x - x.mean(1, keepdim=True)
        invstd = ((centered * centered).mean(1, keepdim=True) + ctx.eps) ** -0.5
        xhat = centered * invstd
        weight = parents[1]
        g = dy if weight is None else dy * constant_like(weight, grad).reshape(1, C, 1)
        g = g.reshape(N * G, (C // G) * L)
        dx = dgamma = dbeta = None
        if needs[0]:
            dx = (invstd * (g - g.mean(1, keepdim=True) - xhat * (g * xhat).mean(1, keepdim=True))).reshape(ctx.shape)
        if weight is not None and needs[1]:
            dgamma = (dy * xhat.reshape(N, C, L)).sum((0, 2))
        if ctx.has_bias and needs[2]:
            dbeta = dy.sum((0, 2))
        return dx, dgamma, dbeta, None, None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((2, 6, 5)), rng.standard_normal(6), rng.standard_normal(6)), {"num_groups": 3}),
                ((rng.standard_normal((3, 4, 2, 3)), None, rng.standard_normal(4)), {"num_groups": 2}),
                ((rng.standard_normal((2, 4)), rng.standard_normal(4), None), {"num_groups": 4}),
                ((rng.standard_normal((1, 2, 7)),), {"num_groups": 1, "eps": 1e-3})]


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """As torch.nn.functional.layer_norm: normalised over the last len(normalized_shape) dims (a tuple or
    list of ints, as PyTorch; an int is a TypeError there too)."""
    if isinstance(normalized_shape, (int, np.integer)):
        raise TypeError("layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not int")
    _check_param_dtypes(input, weight, bias)
    return LayerNormFn.apply(input, weight, bias, tuple(normalized_shape), eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """As torch.nn.functional.group_norm."""
    _check_param_dtypes(input, weight, bias)
    return GroupNormFn.apply(input, weight, bias, num_groups, eps)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """As torch.nn.functional.normalize: input / max(||input||_p along dim, eps), a composite of recorded
    ops (norm, clamp, divide) as torch's, so its gradient is theirs (1/eps-sized at an all-zero slice, as
    torch). out=, when given, receives the result (copy_) and is returned. As torch, the max, min and
    negative-p norms of an empty dim raise RuntimeError (they have no identity); the others give an empty
    result."""
    if p < 0 or np.isinf(p):
        for d in (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim):
            if input.ndim and input.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on the dimension {d} because "
                                   "this dimension is empty and the operation does not have an identity")
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    result = input / denom
    if out is None:
        return result
    return out.copy_(result)
