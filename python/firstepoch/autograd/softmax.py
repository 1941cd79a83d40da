"""Softmax and log-softmax over the fused C++ kernels (see firstepoch.reference.softmax for the math)."""
from ..ops import softmax as _ops
from .function import Function


class Softmax(Function):
    kernel = "softmax"

    @staticmethod
    def forward(ctx, x, dim=-1):
        y = _ops.softmax(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return _ops.softmax_backward(y, grad, ctx.dim), None  # y * (g - sum(g * y))

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 5)),), {"dim": -1}), ((rng.standard_normal((4, 3, 2)),), {"dim": 1})]


class LogSoftmax(Function):
    kernel = "softmax"

    @staticmethod
    def forward(ctx, x, dim=-1):
        y = _ops.softmax(x, dim, log=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return _ops.softmax_backward(y, grad, ctx.dim, log=True), None  # g - softmax * sum(g)

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 5)),), {"dim": -1}), ((rng.standard_normal((4, 3, 2)),), {"dim": 0})]


def softmax(x, dim=-1):
    return Softmax.apply(x, dim)


def log_softmax(x, dim=-1):
    return LogSoftmax.apply(x, dim)
