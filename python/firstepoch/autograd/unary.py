"""Elementwise math: exp, log, sqrt, abs, clip."""
import numpy as np

from .function import Function


def _x(rng, shape=(3, 4), positive=False):
    x = rng.standard_normal(shape)
    return np.abs(x) + 0.5 if positive else x


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return (grad * out,)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng),), {})]


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return (grad / x,)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng, positive=True),), {})]


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return (grad / (2 * out),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng, positive=True),), {})]


class Abs(Function):
    """|x|; the gradient at 0 is taken as 0 (as PyTorch does)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return (grad * np.sign(x),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng) + 0.05,), {})]


class Clip(Function):
    """clip(x, low, high); the gradient passes where low <= x <= high (PyTorch's clamp)."""

    @staticmethod
    def forward(ctx, x, low=None, high=None):
        ctx.save_for_backward(x)
        ctx.bounds = (low, high)
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        mask = np.ones(x.shape, dtype=bool)
        if low is not None:
            mask &= x >= low
        if high is not None:
            mask &= x <= high
        return grad * mask, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.uniform(-2, 2, (4, 5))
        x[np.abs(np.abs(x) - 1) < 0.05] = 0.3  # stay off the kinks
        return [((x, -1.0, 1.0), {}), ((x, None, 0.5), {})]


class Cast(Function):
    """x.astype(dtype); the gradient is cast back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype), None

    @staticmethod
    def gradcheck_cases(rng):
        # float64 -> float64 keeps the finite differences exact; the float32 round trip is in test_tensor
        return [((_x(rng), np.float64), {})]
