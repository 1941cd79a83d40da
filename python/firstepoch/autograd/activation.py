"""Activations and (log-)softmax, each with its derivative written beside it."""
import math

import numpy as np

from .function import Function


def _x(rng, shape=(3, 5)):
    x = rng.standard_normal(shape)
    x[np.abs(x) < 0.05] = 0.3  # keep off the kink at 0 for finite differences
    return x


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return (grad * (out > 0),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng),), {})]


class LeakyReLU(Function):
    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.where(x > 0, 1.0, ctx.slope).astype(grad.dtype), None

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng), 0.1), {})]


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        # exp of a non-positive number only: no overflow at either end
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return (grad * out * (1 - out),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng) * 3,), {})]


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return (grad * (1 - out * out),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng),), {})]


class Softplus(Function):
    """log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) so it never overflows."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        e = np.exp(-np.abs(x))
        sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return (grad * sig.astype(grad.dtype, copy=False),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng) * 3,), {})]


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Function):
    """GELU. approximate='none' (PyTorch's default): x * Phi(x), Phi the normal CDF (erf to float32
    precision); approximate='tanh' (GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    @staticmethod
    def forward(ctx, x, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
            return 0.5 * x * (1 + np.tanh(inner))
        return x * _normal_cdf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
            t = np.tanh(inner)
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner), None
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad * (_normal_cdf(x) + x * pdf), None

    @staticmethod
    def gradcheck_cases(rng):
        return [((_x(rng),), {"approximate": "none"}), ((_x(rng),), {"approximate": "tanh"})]


def _erf(x):
    """erf via the Chebyshev fit of erfc in Numerical Recipes (fractional error < 1.2e-7): float32
    precision, vectorised (NumPy has no erf of its own)."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0)


def _normal_cdf(x):
    return (0.5 * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype, copy=False)
