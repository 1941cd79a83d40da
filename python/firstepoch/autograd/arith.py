"""Arithmetic with NumPy broadcasting; each backward sums the gradient back to its input's shape."""
import numpy as np

from .function import Function, unbroadcast


def _shape(x):
    return x.shape if type(x) is np.ndarray else np.shape(x)


def _pair(rng, a_shape=(3, 4), b_shape=(4,)):
    return rng.standard_normal(a_shape), rng.standard_normal(b_shape)


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a + b

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        need_a, need_b = ctx.needs_input_grad
        return unbroadcast(grad, sa) if need_a else None, unbroadcast(grad, sb) if need_b else None

    @staticmethod
    def gradcheck_cases(rng):
        return [(_pair(rng), {}), (_pair(rng, (2, 1, 3), (4, 1)), {})]


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a - b

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        need_a, need_b = ctx.needs_input_grad
        return unbroadcast(grad, sa) if need_a else None, unbroadcast(-grad, sb) if need_b else None

    @staticmethod
    def gradcheck_cases(rng):
        return [(_pair(rng), {}), (_pair(rng, (1, 3), (2, 1)), {})]


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da = unbroadcast(grad * b, _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(grad * a, _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        return [(_pair(rng), {}), (_pair(rng, (2, 1, 3), (4, 1)), {})]


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da = unbroadcast(grad / b, _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(-grad * a / (b * b), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        a, b = _pair(rng)
        return [((a, np.abs(b) + 0.5), {})]


class Pow(Function):
    """x ** p for a constant exponent p (a Python number)."""

    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        return x ** p

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p = ctx.p
        return grad * p * x ** (p - 1), None

    @staticmethod
    def gradcheck_cases(rng):
        x = np.abs(rng.standard_normal((3, 4))) + 0.5
        return [((x, 2), {}), ((x, 0.5), {}), ((x, -1.5), {})]


class PowTensor(Function):
    """a ** b with both tensors (a > 0 where b is not an integer)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        da = unbroadcast(grad * b * a ** (b - 1), np.shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(grad * out * np.log(a), np.shape(b)) if ctx.needs_input_grad[1] else None
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        return [((np.abs(rng.standard_normal((3, 4))) + 0.5, rng.standard_normal((4,))), {})]


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return (-grad,)

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((2, 3)),), {})]
