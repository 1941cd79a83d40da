"""Elementwise ops: arithmetic with NumPy broadcasting, math functions, activations and dtype casts.

Each Function keeps forward and backward side by side (reference/elementwise.py has the plain NumPy
formulas). A binary op's backward sums the gradient back to each input's shape (unbroadcast).

The activations of issue 17 (ELU/SELU, SiLU, Mish, Hardtanh/ReLU6, Softsign, Softplus, Hardsigmoid,
Hardswish, LeakyReLU, GELU) and PReLU run in the C++ activation kernels: `_C` entries
`activation_forward(x, y, kind, a, b)`, `activation_backward(dy, x, dx, kind, a, b)`,
`prelu_forward(x, weight, y)`, `prelu_backward(dy, x, weight, dx, dweight)`, whose twins are
reference.elementwise's functions of the same names. Each saves only x; the backward recomputes what it
needs from it. float16 (and other non-float32/64 floats) go through the float32 kernel and back.
"""
import math

import numpy as np

from .. import _C
from ..autograd.function import Function, capture_refuse, constant_like, unbroadcast, unbroadcast_graph
from .shape import WhereFn


def _shape(x):
    return x.shape if type(x) is np.ndarray else np.shape(x)


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _c_contiguous(a, dtype=None):
    """a as a C-contiguous array of dtype (a itself when it is one; 0-d stays 0-d)."""
    b = np.asarray(a, dtype=dtype)
    if b is not a and getattr(a, "dtype", None) != b.dtype or not b.flags.c_contiguous:
        capture_refuse("a strided or converted operand is copied outside the kernel")
    return b if b.flags.c_contiguous else b.copy(order="C")


def _kernel_dtype(dt):
    return dt if dt in _KERNEL_DTYPES else np.dtype(np.float32)


def _act_forward(x, kind, a=0.0, b=0.0):
    """_C.activation_forward into a new array of x's dtype."""
    x = np.asarray(x)
    xk = _c_contiguous(x, _kernel_dtype(x.dtype))
    y = np.empty(xk.shape, xk.dtype)
    _C.activation_forward(xk, y, kind, a, b)
    return y if y.dtype == x.dtype else y.astype(x.dtype)


def _act_backward(grad, x, kind, a=0.0, b=0.0):
    """_C.activation_backward: grad times the slope at x, in x's dtype."""
    x = np.asarray(x)
    kdt = _kernel_dtype(x.dtype)
    xk = _c_contiguous(x, kdt)
    g = _c_contiguous(np.broadcast_to(grad, xk.shape), kdt)
    dx = np.empty(xk.shape, kdt)
    _C.activation_backward(g, xk, dx, kind, a, b)
    return dx if dx.dtype == x.dtype else dx.astype(x.dtype)


class _Activation(Function, register=False):
    """y = activation_forward(x, kind, *options) with options fixed per call; saves x only."""

    kind = None
    capturable = True  # firstepoch.capture: the kernels only (a converted or strided operand refuses)

    @classmethod
    def kernel_options(cls, *options):
        """The kernel's (kind, a, b) for the Function's options."""
        return (cls.kind,) + tuple(float(o) for o in options)

    @classmethod
    def run(cls, ctx, x, *options):
        """The forward of a subclass (which spells out its options' names and defaults)."""
        ctx.save_for_backward(x)
        ctx.options = options
        return _act_forward(x, *cls.kernel_options(*options))

    @classmethod
    def forward(cls, ctx, x):
        return cls.run(ctx, x)

    @classmethod
    def backward(cls, ctx, grad):
        (x,) = ctx.saved_tensors
        return (_act_backward(grad, x, *cls.kernel_options(*ctx.options)),) + (None,) * len(ctx.options)


def _pair(rng, a_shape=(3, 4), b_shape=(4,)):
    return rng.standard_normal(a_shape), rng.standard_normal(b_shape)


def _off_kinks(rng, shape=(3, 5)):
    """Random values kept off 0, where ReLU, |x| and LeakyReLU have a kink finite differences trip on."""
    x = rng.standard_normal(shape)
    x[np.abs(x) < 0.05] = 0.3
    return x


def _positive(rng, shape=(3, 4)):
    return np.abs(rng.standard_normal(shape)) + 0.5


def _broadcast_cases(rng):
    return [(_pair(rng), {}), (_pair(rng, (2, 1, 3), (4, 1)), {})]


def _graph(input_grad):
    """backward_graph of a one-input op from input_grad(grad, x) on Tensors (x: the input Tensor)."""
    def backward_graph(ctx, grad):
        return (input_grad(grad, ctx.parents[0]),)
    return staticmethod(backward_graph)


def _one(grad):
    return constant_like(np.ones((), dtype=grad._data.dtype), grad)


def _select(mask, a, b):
    """where(mask, a, b) on Tensors for a backward_graph: mask (an array) is a constant."""
    return WhereFn.apply(mask, a, b)


# ---- arithmetic ------------------------------------------------------------------------------------

class AddFn(Function):
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
    def backward_graph(ctx, grad):
        sa, sb = ctx.shapes
        need_a, need_b = ctx.needs_input_grad
        return unbroadcast_graph(grad, sa) if need_a else None, unbroadcast_graph(grad, sb) if need_b else None

    gradcheck_cases = staticmethod(_broadcast_cases)


class SubFn(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        try:
            return a - b
        except TypeError:  # NumPy refuses bool - bool; torch's error class and advice
            if getattr(a, "dtype", None) == np.bool_ and getattr(b, "dtype", None) == np.bool_:
                raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                                   "Use the `^` or `logical_xor()` operator instead.") from None
            raise

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        need_a, need_b = ctx.needs_input_grad
        return unbroadcast(grad, sa) if need_a else None, unbroadcast(-grad, sb) if need_b else None

    @staticmethod
    def backward_graph(ctx, grad):
        sa, sb = ctx.shapes
        need_a, need_b = ctx.needs_input_grad
        return unbroadcast_graph(grad, sa) if need_a else None, unbroadcast_graph(-grad, sb) if need_b else None

    @staticmethod
    def gradcheck_cases(rng):
        return [(_pair(rng), {}), (_pair(rng, (1, 3), (2, 1)), {})]


class MulFn(Function):
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
    def backward_graph(ctx, grad):
        a, b = (constant_like(p, grad) for p in ctx.parents)
        da = unbroadcast_graph(grad * b, a.shape) if ctx.needs_input_grad[0] else None
        db = unbroadcast_graph(grad * a, b.shape) if ctx.needs_input_grad[1] else None
        return da, db

    gradcheck_cases = staticmethod(_broadcast_cases)


class DivFn(Function):
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
    def backward_graph(ctx, grad):
        a, b = (constant_like(p, grad) for p in ctx.parents)
        da = unbroadcast_graph(grad / b, a.shape) if ctx.needs_input_grad[0] else None
        db = unbroadcast_graph(-grad * a / (b * b), b.shape) if ctx.needs_input_grad[1] else None
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        a, b = _pair(rng)
        return [((a, np.abs(b) + 0.5), {})]


class PowFn(Function):
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
        if p == 0:  # d x**0 = 0 everywhere (x**-1 would make 0 * inf at x = 0), as PyTorch
            return np.zeros_like(x), None
        return grad * p * x ** (p - 1), None

    @staticmethod
    def backward_graph(ctx, grad):
        x, p = ctx.parents[0], ctx.p
        if p == 0:
            return grad * 0.0, None
        return grad * p * x ** (p - 1), None

    @staticmethod
    def gradcheck_cases(rng):
        x = _positive(rng)
        return [((x, 2), {}), ((x, 0.5), {}), ((x, -1.5), {}), ((x, 0.0), {})]


class PowTensorFn(Function):
    """a ** b with both tensors (a > 0 where b is not an integer). As PyTorch's pow_backward, the
    gradient wrt a is 0 where b == 0 and the one wrt b is 0 where a == 0 and b >= 0 (the formulas give
    0 * inf or log(0) there)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        zero = np.zeros((), dtype=grad.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            da = db = None
            if ctx.needs_input_grad[0]:
                da = unbroadcast(np.where(b == 0, zero, grad * b * a ** (b - 1)), np.shape(a))
            if ctx.needs_input_grad[1]:
                db = unbroadcast(grad * np.where((a == 0) & (b >= 0), zero, out * np.log(a)), np.shape(b))
        return da, db

    @staticmethod
    def backward_graph(ctx, grad):
        a, b = (constant_like(p, grad) for p in ctx.parents)
        a_data, b_data = a._data, b._data
        zero = constant_like(np.zeros((), dtype=grad._data.dtype), grad)
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                da = unbroadcast_graph(_select(b_data == 0, zero, grad * b * a ** (b - 1)), a.shape)
            if ctx.needs_input_grad[1]:
                db = unbroadcast_graph(grad * _select((a_data == 0) & (b_data >= 0), zero, a ** b * a.log()), b.shape)
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        return [((_positive(rng), rng.standard_normal((4,))), {})]


# ---- pointwise functions of one input ----------------------------------------------------------------

class _Pointwise(Function, register=False):
    """y = compute(x), one input, no options. backward is grad times the derivative, which
    input_grad(grad, saved) computes from what forward kept: the output y if keeps_output, else x.
    sample(rng) draws an input where the derivative is smooth (for gradcheck_cases)."""

    keeps_output = True
    sample = staticmethod(_off_kinks)

    @classmethod
    def forward(cls, ctx, x):
        out = cls.compute(x)
        ctx.saved_tensors = (out if cls.keeps_output else x,)
        return out

    @classmethod
    def backward(cls, ctx, grad):
        return (cls.input_grad(grad, ctx.saved_tensors[0]),)

    @classmethod
    def gradcheck_cases(cls, rng):
        return [((cls.sample(rng),), {})]


def _sigmoid_slope(s):
    return s * (1 - s)


def _tanh_slope(t):
    return 1 - t * t


def _fast_sigmoid(x):
    """1 / (1 + exp(-x)) in three passes: exp overflows to inf for x < -88 (float32), which gives the
    right 0, so the overflow warning is silenced rather than avoided (the stable form's np.where on a
    random mask costs ~20x these passes)."""
    with np.errstate(over="ignore"):
        e = np.asarray(np.exp(-x))  # (asarray: a 0-d input gives a NumPy scalar, which out= refuses)
    e += 1
    return np.reciprocal(e, out=e)


def _negative(x):
    if x.dtype == np.bool_:  # NumPy raises TypeError here; torch raises RuntimeError with this advice
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return np.negative(x)


class NegFn(_Pointwise):
    compute = staticmethod(_negative)
    input_grad = staticmethod(lambda grad, out: -grad)
    backward_graph = _graph(lambda grad, x: -grad)


class ExpFn(_Pointwise):
    compute = staticmethod(np.exp)
    input_grad = staticmethod(lambda grad, out: grad * out)  # d exp(x) = exp(x)
    backward_graph = _graph(lambda grad, x: grad * x.exp())


class LogFn(_Pointwise):
    compute, keeps_output, sample = staticmethod(np.log), False, staticmethod(_positive)
    input_grad = staticmethod(lambda grad, x: grad / x)
    backward_graph = _graph(lambda grad, x: grad / x)


class SqrtFn(_Pointwise):
    compute, sample = staticmethod(np.sqrt), staticmethod(_positive)
    input_grad = staticmethod(lambda grad, out: grad / (2 * out))
    backward_graph = _graph(lambda grad, x: grad / (x.sqrt() * 2))


def _sgn(x):
    """torch's sgn for real x: -1, 0 or 1, and 0 at NaN (np.sign gives NaN there)."""
    s = np.sign(x)
    return np.where(np.isnan(s), 0, s).astype(s.dtype, copy=False) if s.dtype.kind == "f" else s


class AbsFn(_Pointwise):
    """|x|; the gradient is grad * sgn(x), so 0 at 0 and at NaN (as PyTorch's AbsBackward0)."""
    compute, keeps_output = staticmethod(np.abs), False
    input_grad = staticmethod(lambda grad, x: grad * _sgn(x))
    backward_graph = _graph(lambda grad, x: grad * constant_like(_sgn(x._data), grad))  # sign: constant a.e.


def _relu_mask_graph(grad, values):
    """grad where values > 0, else 0, on Tensors for a backward_graph (values: an array, so the mask is a
    constant): a where, not grad * mask, so NaN or inf in grad gives 0 where the ReLU clamped, as torch."""
    return _select(values > 0, grad, constant_like(np.zeros((), grad.dtype), grad))


def _relu_grad(grad, out):
    """grad where the output is positive, else 0: the slope at out is the slope at x (out > 0 exactly where
    x > 0; NaN gives 0 both ways), so float32/float64 take the kernel's one pass on the library's threads."""
    if out.dtype in _KERNEL_DTYPES and grad.dtype == out.dtype:
        return _act_backward(grad, out, "relu")
    capture_refuse("relu backward outside float32/float64 runs in NumPy")
    return np.where(out > 0, grad, 0).astype(grad.dtype, copy=False)  # 0 where clamped, even for NaN grad


class ReLUFn(_Pointwise):
    capturable = True  # firstepoch.capture: float32/float64 through the kernels (NumPy's path refuses)
    input_grad = staticmethod(_relu_grad)
    backward_graph = _graph(lambda grad, x: _relu_mask_graph(grad, x._data))  # the mask: constant a.e.

    @staticmethod
    def forward(ctx, x):  # _Pointwise.forward written out, no compute: the commonest activation skips two calls
        if x.dtype not in _KERNEL_DTYPES:
            capture_refuse("relu outside float32/float64 runs in NumPy")
        out = _act_forward(x, "relu") if x.dtype in _KERNEL_DTYPES else np.maximum(x, 0)
        ctx.saved_tensors = (out,)
        return out


def _sigmoid(x):
    """float32 and float64 through the activation kernel (one vectorised pass, on the library's threads: 2.2x
    the three NumPy passes at 1 thread); other dtypes (float16, ...) in NumPy."""
    return _act_forward(x, "sigmoid") if x.dtype in _KERNEL_DTYPES else _fast_sigmoid(x)


def _sigmoid_grad(grad, out):
    """grad * s * (1 - s) from the saved output s, into one new array."""
    t = np.subtract(1, out, dtype=out.dtype)
    t *= out
    t *= grad
    return t


class SigmoidFn(_Pointwise):
    compute = staticmethod(_sigmoid)
    input_grad = staticmethod(_sigmoid_grad)
    backward_graph = _graph(lambda grad, x: grad * _sigmoid_slope(x.sigmoid()))
    sample = staticmethod(lambda rng: _off_kinks(rng) * 3)


class TanhFn(_Pointwise):
    compute = staticmethod(np.tanh)
    input_grad = staticmethod(lambda grad, out: grad * (1 - out * out))
    backward_graph = _graph(lambda grad, x: grad * _tanh_slope(x.tanh()))


class SoftplusFn(_Activation):
    """softplus(x, beta, threshold) as PyTorch: log1p(exp(beta x)) / beta, and x itself where
    beta x > threshold (the two agree there to float precision); the derivative is sigmoid(beta x), and
    exactly 1 above the threshold. exp overflows to inf only when the threshold is above ~88 (float32),
    where PyTorch's result is inf too."""

    kind = "softplus"

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        return SoftplusFn.run(ctx, x, beta, threshold)

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        beta, threshold = ctx.options
        linear = ctx.saved_tensors[0] * beta > threshold
        return grad * _select(linear, _one(grad), (x * beta).sigmoid()), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = SigmoidFn.sample(rng)
        x[np.abs(2 * x - 3) < 0.2] = 0.3  # off beta x = threshold, where the value jumps by about 0.05
        return [((x,), {}), ((x, 2.0, 3.0), {})]


# ---- pointwise functions with options ----------------------------------------------------------------

class LeakyReLUFn(_Activation):
    kind = "leaky_relu"

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        return LeakyReLUFn.run(ctx, x, negative_slope)

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]._data
        return grad * constant_like(np.where(x > 0, 1.0, ctx.options[0]).astype(x.dtype), grad), None

    @staticmethod
    def gradcheck_cases(rng):
        return [((_off_kinks(rng), 0.1), {})]


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


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


class GELUFn(_Activation):
    """GELU. approximate='none' (PyTorch's default): x * Phi(x), Phi the normal CDF (erf to float32
    precision); approximate='tanh' (GPT-2's): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    @staticmethod
    def kernel_options(approximate):
        return ("gelu_tanh" if approximate == "tanh" else "gelu",)

    @staticmethod
    def forward(ctx, x, approximate="none"):
        if approximate not in ("none", "tanh"):
            # torch: RuntimeError "approximate argument must be either none or tanh."
            raise RuntimeError(f"gelu: approximate argument must be either none or tanh, got {approximate!r}")
        ctx.approximate = approximate
        return GELUFn.run(ctx, x, approximate)

    @staticmethod
    def backward_graph(ctx, grad):
        return grad * GeluSlopeFn.apply(ctx.parents[0], ctx.approximate), None

    @staticmethod
    def gradcheck_cases(rng):
        return [((_off_kinks(rng),), {"approximate": "none"}), ((_off_kinks(rng),), {"approximate": "tanh"})]


def _gelu_slope(x, approximate):
    """d gelu / dx."""
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = np.tanh(inner)
        d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return _normal_cdf(x) + x * pdf


class GeluSlopeFn(Function):
    """d gelu / dx as an op of its own, so GELU has a second derivative (create_graph=True) and more."""

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return _gelu_slope(x, approximate)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            k = 0.044715
            t = np.tanh(_SQRT_2_OVER_PI * (x + k * x ** 3))
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * k * x * x)
            dd_inner = _SQRT_2_OVER_PI * 6 * k * x
            return grad * (1 - t * t) * (d_inner + 0.5 * x * (dd_inner - 2 * t * d_inner * d_inner)), None
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad * pdf * (2 - x * x), None

    @staticmethod
    def backward_graph(ctx, grad):
        # backward's formulas with Tensor ops: no erf left, so every further derivative exists
        x = ctx.parents[0]
        if ctx.approximate == "tanh":
            k = 0.044715
            t = ((x + x * x * x * k) * _SQRT_2_OVER_PI).tanh()
            d_inner = (x * x * (3 * k) + 1) * _SQRT_2_OVER_PI
            dd_inner = x * (_SQRT_2_OVER_PI * 6 * k)
            return grad * (1 - t * t) * (d_inner + x * 0.5 * (dd_inner - t * d_inner * d_inner * 2)), None
        pdf = (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
        return grad * pdf * (2 - x * x), None

    gradcheck_cases = GELUFn.gradcheck_cases


def _clip_mask(x, low, high):
    """Where clip passes x through (low <= x <= high, a missing bound passing all): its gradient's mask."""
    mask = np.ones(x.shape, dtype=bool)
    if low is not None:
        mask &= x >= low
    if high is not None:
        mask &= x <= high
    return mask


class ClipFn(Function):
    """clip(x, low, high); the gradient passes where low <= x <= high (PyTorch's clamp)."""

    @staticmethod
    def forward(ctx, x, low=None, high=None):
        ctx.save_for_backward(x)
        ctx.bounds = (low, high)
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * _clip_mask(x, *ctx.bounds), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        mask = _clip_mask(ctx.parents[0]._data, *ctx.bounds)
        return grad * constant_like(mask, grad), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.uniform(-2, 2, (4, 5))
        x[np.abs(np.abs(x) - 1) < 0.05] = 0.3  # stay off the kinks
        return [((x, -1.0, 1.0), {}), ((x, None, 0.5), {})]


class CastFn(Function):
    """x.astype(dtype); the gradient is cast back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype), None

    @staticmethod
    def backward_graph(ctx, grad):
        return CastFn.apply(grad, ctx.dtype), None

    @staticmethod
    def gradcheck_cases(rng):
        # float64 -> float64 keeps the finite differences exact; the float32 round trip is in test_tensor
        return [((rng.standard_normal((3, 4)), np.float64), {})]


# ---- elementwise extremes ---------------------------------------------------------------------------

class _Extremum(Function, register=False):
    """max or min of two broadcast arrays (pick(a, b) is np.maximum or np.minimum; NaN propagates). The
    gradient goes to the input that was picked; where a == b it is split evenly, as PyTorch does."""

    pick = None

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.pick(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        share_a = np.where(a == b, 0.5, (cls.pick(a, b) == a).astype(grad.dtype)).astype(grad.dtype, copy=False)
        ga = unbroadcast(grad * share_a, _shape(a)) if need_a else None
        gb = unbroadcast(grad * (1 - share_a), _shape(b)) if need_b else None
        return ga, gb

    @classmethod
    def backward_graph(cls, ctx, grad):
        # which input was picked (and the even split of a tie) is constant almost everywhere
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        share_a = np.where(a == b, 0.5, (cls.pick(a, b) == a)).astype(grad.dtype, copy=False)
        ga = unbroadcast_graph(grad * constant_like(share_a, grad), _shape(a)) if need_a else None
        gb = unbroadcast_graph(grad * constant_like(1 - share_a, grad), _shape(b)) if need_b else None
        return ga, gb

    @staticmethod
    def gradcheck_cases(rng):
        a, b = _pair(rng, (3, 4), (3, 4))
        b[np.abs(a - b) < 0.05] += 0.3  # off the kink where a == b
        c, d = _pair(rng, (2, 1, 3), (4, 1))
        return [((a, b), {}), ((c, d + 5.0), {})]


class MaximumFn(_Extremum):
    pick = staticmethod(np.maximum)


class MinimumFn(_Extremum):
    pick = staticmethod(np.minimum)


# ---- more pointwise functions and the remainder (ported code, issue 16) --------------------------------

class SinFn(_Pointwise):
    compute, keeps_output = staticmethod(np.sin), False
    input_grad = staticmethod(lambda grad, x: grad * np.cos(x))
    backward_graph = _graph(lambda grad, x: grad * x.cos())


class CosFn(_Pointwise):
    compute, keeps_output = staticmethod(np.cos), False
    input_grad = staticmethod(lambda grad, x: -grad * np.sin(x))
    backward_graph = _graph(lambda grad, x: -grad * x.sin())


class Log1pFn(_Pointwise):
    """log(1 + x), accurate for small x."""
    compute, keeps_output, sample = staticmethod(np.log1p), False, staticmethod(_positive)
    input_grad = staticmethod(lambda grad, x: grad / (1 + x))
    backward_graph = _graph(lambda grad, x: grad / (x + 1))


class Expm1Fn(_Pointwise):
    """exp(x) - 1, accurate for small x; its derivative exp(x) is out + 1."""
    compute = staticmethod(np.expm1)
    input_grad = staticmethod(lambda grad, out: grad * (out + 1))
    backward_graph = _graph(lambda grad, x: grad * x.exp())


def _no_integer_zero(who, a, b):
    """torch's RuntimeError for an integer division by zero (remainder, fmod); a float one gives nan."""
    if a.dtype.kind in "iub" and not np.all(b):
        raise RuntimeError(f"{who}: integer division by zero (ZeroDivisionError; divisor of shape {np.shape(b)})")


class RemainderFn(Function):
    """a % b as Python and torch.remainder: the result takes the sign of b (a - floor(a / b) * b).
    Gradients as PyTorch: grad wrt a, -floor(a / b) * grad wrt b. Integer division by zero raises
    RuntimeError (as PyTorch); a float one gives nan."""

    @staticmethod
    def forward(ctx, a, b):
        _no_integer_zero("remainder", a, b)
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.remainder(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da = unbroadcast(grad, _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(-grad * np.floor_divide(a, b), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db

    @staticmethod
    def backward_graph(ctx, grad):
        # floor(a / b) is piecewise constant: a constant; only grad carries a graph
        a, b = ctx.saved_tensors
        da = unbroadcast_graph(grad, _shape(a)) if ctx.needs_input_grad[0] else None
        db = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                q = np.floor_divide(a, b)
            db = unbroadcast_graph(-grad * constant_like(np.asarray(q, dtype=grad.dtype), grad), _shape(b))
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        b = rng.uniform(0.8, 2.0, (4,)) * rng.choice([-1.0, 1.0], (4,))
        a = rng.uniform(-4, 4, (3, 4))
        q = a / b  # keep a / b off the integers, where the remainder jumps
        a = np.where(np.abs(q - np.round(q)) < 0.1, a + 0.3 * np.abs(b), a)
        return [((a, b), {})]


# ---- activations of PyTorch's nn (issue 17) ------------------------------------------------------------
# One NumPy pass forward, the mask or values backward needs saved, and the edge values PyTorch gives
# (the slope at 0 and at the clamp points, NaN and the infinities) written as its kernels compute them.
# At a NaN input PyTorch's gradient depends on the tensor's size (its scalar tail and vectorised body
# disagree for ELU and Hardtanh); ours is the vectorised body's, what tensors of 16+ elements get.

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class ELUFn(_Activation):
    """scale * (x where x > 0, alpha (exp(x) - 1) elsewhere); scale=1 is ELU, SELU is
    (SELU_ALPHA, SELU_SCALE). Slope: scale where x > 0, alpha scale exp(x) elsewhere (alpha scale at 0;
    NaN at NaN, as PyTorch's vectorised kernel)."""

    kind = "elu"

    @staticmethod
    def forward(ctx, x, alpha=1.0, scale=1.0):
        return ELUFn.run(ctx, x, alpha, scale)

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        alpha, scale = ctx.options
        negative = x.clip(max=0).exp() * (alpha * scale)
        return grad * _select(x._data > 0, _one(grad) * scale, negative), None, None

    @staticmethod
    def gradcheck_cases(rng):
        return [((_off_kinks(rng),), {}), ((_off_kinks(rng), 0.5), {}), ((_off_kinks(rng), SELU_ALPHA, SELU_SCALE), {})]


class SiluFn(_Activation):
    """x sigmoid(x) (swish); slope s (1 + x (1 - s)) with s = sigmoid(x). (Spelled as PyTorch's
    SiluBackward0, so that its reference is reference.elementwise.silu_forward; PreluFn too.)"""

    kind = "silu"

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        s = x.sigmoid()
        return (grad * (s * (x * (1 - s) + 1)),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((SigmoidFn.sample(rng),), {})]


class MishFn(_Activation):
    """x tanh(softplus(x)); slope t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x))."""

    kind = "mish"

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        t = x.softplus(1.0, math.inf).tanh()  # no threshold: the exact derivative everywhere
        return (grad * (t + x * x.sigmoid() * (1 - t * t)),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((SigmoidFn.sample(rng),), {})]


def _hardtanh_mask(x, min_val, max_val):
    """Where hardtanh passes the gradient: strictly inside (min_val, max_val) (not at NaN)."""
    return (x > min_val) & (x < max_val)


class HardtanhFn(_Activation):
    """clamp(x, min_val, max_val) (ReLU6 is (0, 6)); unlike clamp, the gradient is 0 at the two bounds
    themselves, as PyTorch's hardtanh_backward. Integer tensors stay in NumPy (np.clip, their dtype)."""

    kind = "hardtanh"

    @staticmethod
    def forward(ctx, x, min_val=-1.0, max_val=1.0):
        ctx.bounds = (min_val, max_val)
        if np.asarray(x).dtype.kind != "f":
            capture_refuse("hardtanh of integers runs in NumPy")
            ctx.save_for_backward(x)
            ctx.options = (min_val, max_val)
            return np.clip(x, min_val, max_val).astype(x.dtype, copy=False)
        return HardtanhFn.run(ctx, x, min_val, max_val)

    @classmethod
    def backward(cls, ctx, grad):
        (x,) = ctx.saved_tensors
        if np.asarray(x).dtype.kind != "f":
            return grad * _hardtanh_mask(x, *ctx.bounds), None, None
        return super().backward(ctx, grad)

    @staticmethod
    def backward_graph(ctx, grad):
        mask = _hardtanh_mask(ctx.parents[0]._data, *ctx.bounds)
        return grad * constant_like(mask, grad), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.uniform(-2, 7, (4, 5))
        for kink in (-1, 1, 0, 6):
            x[np.abs(x - kink) < 0.05] = 0.5
        return [((x,), {}), ((x, 0.0, 6.0), {})]


class SoftsignFn(_Activation):
    """x / (1 + |x|); slope r (1 - |x| r), r = 1 / (1 + |x|): 1 / (1 + |x|)^2, and NaN at +-inf as
    PyTorch's composite (inf / inf)."""

    kind = "softsign"

    @staticmethod
    def backward_graph(ctx, grad):
        r = 1 / (ctx.parents[0].abs() + 1)
        return (grad * (r * r),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_off_kinks(rng) * 3,), {})]


def _prelu_shape(x, weight):
    """The shape weight takes to broadcast over x: one slope for all, or one per channel (dim 1)."""
    if weight.size == 1:
        return ()
    return (1, weight.size) + (1,) * (x.ndim - 2)


class PreluFn(Function):
    """x where x > 0, weight * x elsewhere; weight: one slope, or one per channel (dim 1). The slope at
    0 (and NaN) is weight, as PyTorch; dweight sums x * grad where x <= 0 over all but the channel, in a
    fixed order (the kernel's units, whatever the thread count)."""

    @staticmethod
    def forward(ctx, x, weight):
        x, w = np.asarray(x), np.asarray(weight)
        kdt = _kernel_dtype(x.dtype)
        xk, wk = _c_contiguous(x, kdt), _c_contiguous(w, kdt)
        ctx.save_for_backward(xk, wk)
        ctx.dtypes = (x.dtype, w.dtype)
        y = np.empty(xk.shape, kdt)
        _C.prelu_forward(xk, wk, y)
        return y if y.dtype == x.dtype else y.astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad
        g = _c_contiguous(np.broadcast_to(grad, x.shape), x.dtype)
        dx = np.empty(x.shape, x.dtype) if need_x else None
        dw = np.empty(w.shape, w.dtype) if need_w else None
        _C.prelu_backward(g, x, w, dx, dw)
        xdt, wdt = ctx.dtypes
        dx = None if dx is None else dx.astype(xdt, copy=False)
        return dx, (None if dw is None else dw.astype(wdt, copy=False))

    @staticmethod
    def backward_graph(ctx, grad):
        x, weight = ctx.parents
        positive = x._data > 0
        w = weight.reshape(_prelu_shape(x._data, weight._data))
        dx = grad * _select(positive, _one(grad), w) if ctx.needs_input_grad[0] else None
        dw = None
        if ctx.needs_input_grad[1]:
            dw = unbroadcast_graph(grad * _select(positive, _one(grad) * 0, x), w.shape).reshape(weight.shape)
        return dx, dw

    @staticmethod
    def gradcheck_cases(rng):
        return [((_off_kinks(rng, (2, 3, 4)), rng.uniform(0, 0.5, (3,))), {}),
                ((_off_kinks(rng, (3, 5)), np.array([0.25])), {}),
                ((_off_kinks(rng, (6,)), np.array(0.1)), {})]


def _hard_kinks_away(rng):
    x = rng.uniform(-5, 5, (4, 5))
    x[np.abs(np.abs(x) - 3) < 0.05] = 0.5  # off the kinks at -3 and 3
    return x


class HardsigmoidFn(_Activation):
    """min(max(x + 3, 0), 6) / 6; slope 1/6 strictly inside (-3, 3), else 0 (NaN too), as PyTorch."""

    kind = "hardsigmoid"

    @staticmethod
    def _slope(x, dtype):
        return ((x > -3) & (x < 3)) * np.dtype(dtype).type(1 / 6)

    @staticmethod
    def backward_graph(ctx, grad):
        return (grad * constant_like(HardsigmoidFn._slope(ctx.parents[0]._data, grad._data.dtype), grad),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_hard_kinks_away(rng),), {})]


class HardswishFn(_Activation):
    """x min(max(x + 3, 0), 6) / 6; slope 0 for x <= -3, x/3 + 1/2 inside (NaN at NaN), 1 for x >= 3, as
    PyTorch's hardswish_backward."""

    kind = "hardswish"

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        high = x._data >= 3
        middle = ~((x._data <= -3) | high)
        return (grad * (constant_like(middle, grad) * (x / 3 + 0.5) + constant_like(high, grad)),)

    @staticmethod
    def gradcheck_cases(rng):
        return [((_hard_kinks_away(rng),), {})]


# ---- their nn.functional forms (on Tensors; firstepoch.nn.functional re-exports them) -------------------
# inplace=True writes the result into the input's memory through Tensor's in-place machinery (versions,
# the leaf rule, history moved onto the input) and returns the input, as PyTorch; deliberate difference:
# the result is computed into a new array first and then copied in (same values, one temporary).

def _floating_only(x, name):
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f'"{name}" not implemented for {x._data.dtype} input (floating tensors only, '
                                  f"as PyTorch)")


def _apply(x, inplace, name, compute):
    if inplace:
        return x._inplace(lambda old, _: compute(old), None, name + "_")
    return compute(x)


def relu(input, inplace=False):
    if input._data.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for relu (as torch)")
    return _apply(input, inplace, "relu", ReLUFn.apply)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _floating_only(input, "leaky_relu")
    return _apply(input, inplace, "leaky_relu", lambda x: LeakyReLUFn.apply(x, negative_slope))


def elu(input, alpha=1.0, inplace=False):
    _floating_only(input, "elu")
    return _apply(input, inplace, "elu", lambda x: ELUFn.apply(x, alpha))


def selu(input, inplace=False):
    """SELU(x) = SELU_SCALE * ELU(x, SELU_ALPHA), PyTorch's constants, in one pass."""
    _floating_only(input, "selu")
    return _apply(input, inplace, "selu", lambda x: ELUFn.apply(x, SELU_ALPHA, SELU_SCALE))


def silu(input, inplace=False):
    _floating_only(input, "silu")
    return _apply(input, inplace, "silu", SiluFn.apply)


def mish(input, inplace=False):
    _floating_only(input, "mish")
    return _apply(input, inplace, "mish", MishFn.apply)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp to [min_val, max_val] with a zero gradient at the bounds; integer tensors keep their dtype."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    kind = input._data.dtype.kind
    if kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh (as torch)")
    if kind == "u" and (min_val < 0 or max_val < 0):
        raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
    return _apply(input, inplace, "hardtanh", lambda x: HardtanhFn.apply(x, min_val, max_val))


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def softsign(input):
    if input._data.dtype == np.bool_:  # torch's x / (|x| + 1) fails at abs
        raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool' (softsign)")
    if input._data.dtype.kind != "f":  # integers divide into float32, as PyTorch's x / (|x| + 1)
        input = input.float()
    return SoftsignFn.apply(input)


def softplus(input, beta=1.0, threshold=20.0):
    _floating_only(input, "softplus")
    return SoftplusFn.apply(input, beta, threshold)


def hardsigmoid(input, inplace=False):
    _floating_only(input, "hardsigmoid")
    return _apply(input, inplace, "hardsigmoid", HardsigmoidFn.apply)


def hardswish(input, inplace=False):
    _floating_only(input, "hardswish")
    return _apply(input, inplace, "hardswish", HardswishFn.apply)


def prelu(input, weight):
    """x where x > 0, weight * x elsewhere; weight holds one slope or one per channel (dim 1 of input)."""
    _floating_only(input, "prelu")
    x, w = input._data, weight._data
    if w.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {w.ndim}")
    if x.dtype != w.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got input {x.dtype} and weight {w.dtype}")
    if w.size != 1:
        if x.ndim == 0:
            raise RuntimeError("prelu: Not allow zero-dim input tensor.")
        channels = x.shape[1] if x.ndim >= 2 else 1
        if w.size != channels:
            raise RuntimeError(f"prelu: Mismatch of parameter numbers and input channel size. Found parameter "
                               f"numbers = {w.size} and channel size = {channels}.")
    return PreluFn.apply(input, weight)


# ---- the rest of torch's pointwise math (ported code: torch names) --------------------------------------

class SinhFn(_Pointwise):
    compute, keeps_output = staticmethod(np.sinh), False
    input_grad = staticmethod(lambda grad, x: grad * np.cosh(x))
    backward_graph = _graph(lambda grad, x: grad * CoshFn.apply(x))


class CoshFn(_Pointwise):
    compute, keeps_output = staticmethod(np.cosh), False
    input_grad = staticmethod(lambda grad, x: grad * np.sinh(x))
    backward_graph = _graph(lambda grad, x: grad * SinhFn.apply(x))


def _inside_unit(rng, shape=(3, 4)):
    return rng.uniform(-0.9, 0.9, shape)


class AsinFn(_Pointwise):
    compute, keeps_output, sample = staticmethod(np.arcsin), False, staticmethod(_inside_unit)
    input_grad = staticmethod(lambda grad, x: grad / np.sqrt(1 - x * x))
    backward_graph = _graph(lambda grad, x: grad / (1 - x * x).sqrt())


class AcosFn(_Pointwise):
    compute, keeps_output, sample = staticmethod(np.arccos), False, staticmethod(_inside_unit)
    input_grad = staticmethod(lambda grad, x: -grad / np.sqrt(1 - x * x))
    backward_graph = _graph(lambda grad, x: -grad / (1 - x * x).sqrt())


class AtanFn(_Pointwise):
    compute, keeps_output = staticmethod(np.arctan), False
    input_grad = staticmethod(lambda grad, x: grad / (1 + x * x))
    backward_graph = _graph(lambda grad, x: grad / (x * x + 1))


class _Step(_Pointwise, register=False):
    """A piecewise-constant function (floor, ceil, trunc, round, sign): its gradient is 0 everywhere,
    as PyTorch's (the jumps are ignored). sample keeps away from the jumps, for gradcheck."""
    keeps_output = False
    input_grad = staticmethod(lambda grad, x: np.zeros(np.shape(x), dtype=grad.dtype))
    backward_graph = _graph(lambda grad, x: grad * constant_like(np.zeros((), dtype=grad._data.dtype), grad))
    sample = staticmethod(lambda rng: np.floor(rng.uniform(-4, 4, (3, 4))) + rng.uniform(0.1, 0.4, (3, 4)))


class FloorFn(_Step):
    compute = staticmethod(np.floor)


class CeilFn(_Step):
    compute = staticmethod(np.ceil)


class TruncFn(_Step):
    compute = staticmethod(np.trunc)


class RoundFn(_Step):
    """Round half to even (np.rint), as torch.round."""
    compute = staticmethod(np.rint)


def _sign(x):
    """-1, 0 or 1; NaN gives 0, as torch.sign."""
    out = np.sign(x)
    return np.where(np.isnan(out), 0, out).astype(out.dtype) if out.dtype.kind == "f" else out


class SignFn(_Step):
    compute = staticmethod(_sign)


def _numeric_operands(who, *arrays):
    """TypeError for an operand NumPy would hand to Python objects' methods (an object array: np.fmod and
    np.arctan2 then look for a .fmod / .arctan2 method on each element)."""
    for a in arrays:
        kind = np.asarray(a).dtype.kind
        if kind not in "biuf":
            raise TypeError(f"{who}: operands must be numbers (bool, integer or floating), got dtype "
                            f"{np.asarray(a).dtype}")


class Atan2Fn(Function):
    """atan2(a, b), the angle of the point (b, a); d/da = b / (a² + b²), d/db = -a / (a² + b²)."""

    @staticmethod
    def forward(ctx, a, b):
        _numeric_operands("atan2", a, b)
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        da = unbroadcast(grad * b / r2, _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(-grad * a / r2, _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db

    @staticmethod
    def backward_graph(ctx, grad):
        a, b = ctx.parents
        r2 = a * a + b * b
        da = unbroadcast_graph(grad * b / r2, _shape(a._data)) if ctx.needs_input_grad[0] else None
        db = unbroadcast_graph(-grad * a / r2, _shape(b._data)) if ctx.needs_input_grad[1] else None
        return da, db

    gradcheck_cases = staticmethod(_broadcast_cases)


class FmodFn(Function):
    """C's fmod: a - trunc(a / b) * b, the sign of a (torch.fmod). Gradients as PyTorch: grad wrt a,
    -trunc(a / b) * grad wrt b. Integer division by zero raises RuntimeError, as PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        _numeric_operands("fmod", a, b)
        _no_integer_zero("fmod", a, b)
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.fmod(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da = unbroadcast(grad, _shape(a)) if ctx.needs_input_grad[0] else None
        db = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                db = unbroadcast(-grad * np.trunc(a / b), _shape(b))
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        b = rng.uniform(0.8, 2.0, (4,)) * rng.choice([-1.0, 1.0], (4,))
        a = rng.uniform(-4, 4, (3, 4))
        q = a / b  # keep a / b off the integers, where fmod jumps
        a = np.where(np.abs(q - np.round(q)) < 0.1, a + 0.3 * np.abs(b), a)
        return [((a, b), {})]


# ---- erf, erfc, erfinv in NumPy (no SciPy): series, continued fraction, Newton -------------------------

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_series(a):
    """erf(a) = 2/sqrt(pi) exp(-a²) sum_n 2^n a^(2n+1) / (1·3···(2n+1)): positive terms (no
    cancellation); 80 terms reach float64 precision for a < 2.5."""
    a2 = a * a
    term, total = a.copy(), a.copy()
    for n in range(1, 80):
        term = term * (2 * a2) / (2 * n + 1)
        total += term
    return _TWO_OVER_SQRT_PI * np.exp(-a2) * total


def _erfc_fraction(a):
    """erfc(a) for a >= 1 from the continued fraction exp(-a²)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))),
    evaluated from depth 400 back to the front (a few ulp against libm's erfc over [1, 27])."""
    t = a.copy()
    for k in range(400, 0, -1):
        t = a + (k / 2) / t
    hi = np.floor(a * 4096) / 4096  # exp(-a²) as exp(-hi²) exp((hi - a)(hi + a)): hi² is exact, so a large
    return np.exp(-hi * hi) * np.exp((hi - a) * (hi + a)) / (math.sqrt(math.pi) * t)  # a loses no digits


def _erf_parts(x):
    """(erf(|x|), erfc(|x|)) in float64, each from the side where it is accurate."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    erf_a, erfc_a = np.empty_like(a), np.empty_like(a)
    near = ~(a >= 1.0)  # (NaN goes here and stays NaN)
    erf_a[near] = _erf_series(a[near])
    erfc_a[near] = 1.0 - erf_a[near]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        erfc_a[~near] = _erfc_fraction(a[~near])
    erfc_a[a == np.inf] = 0.0
    erf_a[~near] = 1.0 - erfc_a[~near]
    return a, erf_a, erfc_a


def erf(x):
    x = np.asarray(x)
    _, erf_a, _ = _erf_parts(x)
    return np.copysign(erf_a, x).astype(x.dtype)


def erfc(x):
    x = np.asarray(x)
    _, erf_a, erfc_a = _erf_parts(x)
    return np.where(x < 0, 1.0 + erf_a, erfc_a).astype(x.dtype)


def erfinv(y):
    """The inverse of erf on [-1, 1] (±inf at ±1, NaN outside): Giles's single-precision polynomial
    ("Approximating the erfinv function", 2010), then Newton steps on erf (or, near ±1, on log erfc,
    whose 1 - |y| is exact) to float64 precision."""
    y = np.asarray(y)
    t = np.abs(y.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1.0 - t) * (1.0 + t))
        central, s = w - 2.5, np.sqrt(w) - 3.0
    p = np.where(w < 5.0, _giles(central, _GILES_CENTRAL), _giles(s, _GILES_TAIL)) * t
    inside = t < 1.0
    tail = t > 0.5
    with np.errstate(divide="ignore"):
        log_c = np.log(np.where(inside & tail, 1.0 - t, 1.0))  # 1 - t: exact for t in [0.5, 1]
    for _ in range(4):
        q = np.where(inside, p, 0.0)
        _, erf_q, erfc_q = _erf_parts(q)
        slope = _TWO_OVER_SQRT_PI * np.exp(-q * q)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            # near ±1 Newton on log(erfc(q)) = log(1 - t), which the steep tail does not throw off
            step = np.where(tail, (np.log(erfc_q) - log_c) * erfc_q / slope, -(erf_q - t) / slope)
        p = np.where(inside, q + step, p)
    p = np.where(t == 1.0, np.inf, np.where(t > 1.0, np.nan, p))
    return np.copysign(p, y).astype(y.dtype if y.dtype.kind == "f" else np.float32)


_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
               0.00943887047, 1.00167406, 2.83297682)


def _giles(w, coefficients):
    p = np.full(np.shape(w), coefficients[0])
    for c in coefficients[1:]:
        p = c + p * w
    return p


class ErfFn(_Pointwise):
    compute, keeps_output = staticmethod(erf), False
    input_grad = staticmethod(lambda grad, x: grad * (_TWO_OVER_SQRT_PI * np.exp(-x * x)).astype(grad.dtype))
    backward_graph = _graph(lambda grad, x: grad * (-(x * x)).exp() * _TWO_OVER_SQRT_PI)


class ErfcFn(_Pointwise):
    compute, keeps_output = staticmethod(erfc), False
    input_grad = staticmethod(lambda grad, x: -grad * (_TWO_OVER_SQRT_PI * np.exp(-x * x)).astype(grad.dtype))
    backward_graph = _graph(lambda grad, x: -grad * (-(x * x)).exp() * _TWO_OVER_SQRT_PI)


class ErfinvFn(_Pointwise):
    """d erfinv(y) = sqrt(pi)/2 exp(erfinv(y)²), from the saved output."""
    compute, sample = staticmethod(erfinv), staticmethod(_inside_unit)
    input_grad = staticmethod(lambda grad, out: grad * (np.exp(out * out) / _TWO_OVER_SQRT_PI).astype(grad.dtype))
    backward_graph = _graph(lambda grad, x: grad * (ErfinvFn.apply(x) ** 2).exp() / _TWO_OVER_SQRT_PI)


# ---- tan, the inverse hyperbolics, sinc, fmax/fmin, nextafter (ported code: torch names) -----------------

def _quiet(f):
    """f with NumPy's warnings off: NaN outside the domain and inf at its edge are the answer, as torch's."""
    def compute(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return f(x)
    return staticmethod(compute)


class TanFn(_Pointwise):
    """tan(x); its derivative 1 + tan(x)² from the saved output."""
    compute, sample = staticmethod(np.tan), staticmethod(_inside_unit)
    input_grad = staticmethod(lambda grad, out: grad * (1 + out * out))
    backward_graph = _graph(lambda grad, x: grad * (TanFn.apply(x) ** 2 + 1))


class AsinhFn(_Pointwise):
    compute, keeps_output = staticmethod(np.arcsinh), False
    input_grad = staticmethod(lambda grad, x: grad / np.sqrt(x * x + 1))
    backward_graph = _graph(lambda grad, x: grad / (x * x + 1).sqrt())


class AcoshFn(_Pointwise):
    """acosh(x) (NaN below 1); the derivative 1 / sqrt(x² - 1) is inf at 1, as torch's."""
    compute, keeps_output = _quiet(np.arccosh), False
    sample = staticmethod(lambda rng: _positive(rng) + 1.0)
    input_grad = staticmethod(lambda grad, x: grad / np.sqrt(x * x - 1))
    backward_graph = _graph(lambda grad, x: grad / (x * x - 1).sqrt())


class AtanhFn(_Pointwise):
    """atanh(x) (±inf at ±1, NaN outside); the derivative 1 / (1 - x²) is inf at ±1, as torch's."""
    compute, keeps_output, sample = _quiet(np.arctanh), False, staticmethod(_inside_unit)
    input_grad = staticmethod(lambda grad, x: grad / (1 - x * x))
    backward_graph = _graph(lambda grad, x: grad / (1 - x * x))


def _sinc(x):
    """sin(pi x) / (pi x), 1 at 0, as torch's kernel (pi in x's dtype; inf gives NaN)."""
    product = x * x.dtype.type(math.pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sin(product) / product
    return np.where(x == 0, x.dtype.type(1), out).astype(x.dtype, copy=False)


def _sinc_slope(x):
    """d sinc / dx = (pi x cos(pi x) - sin(pi x)) / (pi x²), 0 where pi x² is 0 (x = 0, and a tiny x whose
    square underflows: torch's sinc_backward, where 0/0 would give NaN)."""
    product = x * x.dtype.type(math.pi)
    denominator = product * x
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        slope = (product * np.cos(product) - np.sin(product)) / denominator
    return np.where(denominator == 0, x.dtype.type(0), slope).astype(x.dtype, copy=False)


class SincFn(_Pointwise):
    compute, keeps_output = staticmethod(_sinc), False
    sample = staticmethod(lambda rng: _off_kinks(rng) * 2)
    input_grad = staticmethod(lambda grad, x: grad * _sinc_slope(x))

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        with np.errstate(under="ignore"):
            zero = x._data * x._data.dtype.type(math.pi) * x._data == 0  # pi x² is 0: the slope is 0, as torch
        safe = _select(zero, _one(grad), x)  # no 0/0 there to poison the graph
        product = safe * math.pi
        slope = (product * product.cos() - product.sin()) / (product * safe)
        return (grad * _select(zero, _one(grad) * 0, slope),)


class _FmaxFmin(_Extremum, register=False):
    """fmax / fmin: the larger / smaller of two broadcast arrays, where a NaN loses to a number (NaN only
    when both are). The forward is _Extremum's with pick np.fmax / np.fmin; the gradient goes to a where
    a wins, ties and a NaN b included, else to b, as torch (no even split at ties, unlike maximum)."""

    @classmethod
    def _a_wins(cls, a, b):
        return (a >= b if cls.pick is np.fmax else a <= b) | np.isnan(b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        wins = cls._a_wins(a, b)
        zero = np.zeros((), dtype=grad.dtype)
        da = unbroadcast(np.where(wins, grad, zero), _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(np.where(wins, zero, grad), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db

    @classmethod
    def backward_graph(cls, ctx, grad):
        a, b = ctx.saved_tensors
        wins = np.broadcast_to(cls._a_wins(a, b), grad.shape)
        zero = constant_like(np.zeros((), dtype=grad._data.dtype), grad)
        da = unbroadcast_graph(_select(wins, grad, zero), _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast_graph(_select(wins, zero, grad), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class FmaxFn(_FmaxFmin):
    pick = staticmethod(np.fmax)


class FminFn(_FmaxFmin):
    pick = staticmethod(np.fmin)


class _LogAddExp(Function, register=False):
    """log_base(base**a + base**b) as torch's kernels: max(a, b) + log1p(base**-|a - b|) / ln(base) (a small
    result keeps its digits), and a where a and b are the same infinity. The gradient is torch's:
    grad / (1 + base**(b - a)) to a, grad / (1 + base**(a - b)) to b, so an infinite operand takes all of
    it (NaN where both are). A subclass names its power (the NumPy function and the Tensor method) and
    1 / ln(base)."""

    power = None  # np.exp or np.exp2
    method = None  # "exp" or "exp2"
    inv_log_base = 1.0

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(invalid="ignore", over="ignore"):
            m = np.maximum(a, b)
            out = m + np.log1p(cls.power(-np.abs(a - b))) * cls.inv_log_base
            return np.where(np.isinf(a) & (a == b), a, out).astype(out.dtype, copy=False)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        with np.errstate(invalid="ignore", over="ignore"):
            da = unbroadcast(grad / (1 + cls.power(b - a)), _shape(a)) if ctx.needs_input_grad[0] else None
            db = unbroadcast(grad / (1 + cls.power(a - b)), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db

    @classmethod
    def backward_graph(cls, ctx, grad):
        a, b = ctx.parents
        up = lambda t: getattr(t, cls.method)() + 1  # noqa: E731
        da = unbroadcast_graph(grad / up(b - a), _shape(a._data)) if ctx.needs_input_grad[0] else None
        db = unbroadcast_graph(grad / up(a - b), _shape(b._data)) if ctx.needs_input_grad[1] else None
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        return [(_pair(rng), {})]


class Logaddexp2Fn(_LogAddExp):
    """log2(2**a + 2**b) (_LogAddExp with base 2)."""
    power, method, inv_log_base = staticmethod(np.exp2), "exp2", 1.0 / math.log(2)


class LogaddexpFn(_LogAddExp):
    """log(exp(a) + exp(b)) (_LogAddExp with base e)."""
    power, method, inv_log_base = staticmethod(np.exp), "exp", 1.0


class NextafterFn(Function):
    """The next representable value after a towards b. The gradient is torch's NextafterBackward0's: grad
    for a where a != b (0 where they are equal: the result is then b), and 0 for b (the step itself is
    below any finite difference)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.nextafter(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        da = unbroadcast(np.where(a != b, grad, 0).astype(grad.dtype, copy=False), _shape(a)) \
            if ctx.needs_input_grad[0] else None
        db = np.zeros(_shape(b), dtype=grad.dtype) if ctx.needs_input_grad[1] else None
        return da, db

    @staticmethod
    def backward_graph(ctx, grad):
        a, b = ctx.saved_tensors
        zero = constant_like(np.zeros((), dtype=grad._data.dtype), grad)
        moves = np.broadcast_to(a != b, grad.shape)
        da = unbroadcast_graph(_select(moves, grad, zero), _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast_graph(grad * 0, _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        return [(_pair(rng), {})]


# ---- lgamma, digamma, polygamma in NumPy (no SciPy): torch's own algorithms, vectorised -----------------
# digamma and trigamma are ATen's calc_digamma / calc_trigamma, polygamma(n >= 2) its Cephes zeta, so the
# values at the poles and infinities are torch's. Computed in float64 (ATen's accumulation type) and
# cast back to the input's dtype.

_DIGAMMA_ASYMPTOTIC = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
                       -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
                       8.33333333333333333333e-2)
_PSI_10 = 2.25175258906672110764
_LGAMMA_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _float64(x):
    return np.asarray(x, dtype=np.float64)


def _lgamma_positive(x):
    """lgamma for x > 0 (float64): shifted up past 15 by lgamma(x) = lgamma(x + k) - log(x (x+1) ... (x+k-1)),
    then Stirling's series (8 terms: float64 precision from 15 on)."""
    shift = np.zeros_like(x)
    product = np.ones_like(x)
    y = x.copy()
    for _ in range(15):
        low = y < 15
        if not low.any():
            break
        product = np.where(low, product * y, product)
        y = np.where(low, y + 1, y)
        if _ % 5 == 4:  # fold the product into a log every few steps: no overflow, no underflow
            shift -= np.log(product)
            product = np.ones_like(x)
    shift -= np.log(product)
    with np.errstate(over="ignore", invalid="ignore"):
        z = 1 / (y * y)
        series = np.zeros_like(y)
        for c in reversed(_LGAMMA_STIRLING):
            series = series * z + c
        return (y - 0.5) * np.log(y) - y + _HALF_LOG_2PI + series / y + shift


_EULER_GAMMA = 0.57721566490153286061
_ZETA_MINUS_ONE = []  # zeta(k) - 1 for k = 2, 3, ...: filled on first use (from _hurwitz_zeta(k, 2))


def _lgamma_near_roots(x):
    """lgamma on [0.5, 2.5], where it passes through 0 at 1 and 2, with a small relative error there: the
    Taylor series about 2, lgamma(2 + z) = (1 - gamma) z + sum_k (-1)^k (zeta(k) - 1) / k z^k (|z| <= 1/2:
    terms below 4^-k), and lgamma(1 + z) = lgamma(2 + z) - log1p(z)."""
    if not _ZETA_MINUS_ONE:
        _ZETA_MINUS_ONE.extend(float(_hurwitz_zeta(k, np.array([2.0]))[0]) for k in range(2, 32))
    upper = x >= 1.5
    z = np.where(upper, x - 2, x - 1)
    series = np.zeros_like(z)
    for k in range(31, 1, -1):  # Horner from the smallest term
        series = (series + (-1) ** k * _ZETA_MINUS_ONE[k - 2] / k) * z
    series = (series + (1 - _EULER_GAMMA)) * z
    return np.where(upper, series, series - np.log1p(z))


def lgamma(x):
    """log|Gamma(x)|: inf at 0, the negative integers and ±inf, as std::lgamma (torch's). Below 0 by the
    reflection log(pi / |sin(pi x)|) - lgamma(1 - x), the sine taken of x's distance to the nearest integer."""
    x = np.asarray(x)
    v = _float64(x)
    out = np.full(v.shape, np.inf)
    finite = np.isfinite(v)
    positive = finite & (v > 0)
    near = positive & (v >= 0.5) & (v <= 2.5)
    out[positive & ~near] = _lgamma_positive(v[positive & ~near])
    out[near] = _lgamma_near_roots(v[near])
    negative = finite & (v < 0) & (v != np.floor(v))
    if negative.any():
        r = v[negative]
        with np.errstate(divide="ignore"):
            out[negative] = (np.log(math.pi / np.abs(np.sin(math.pi * (r - np.round(r)))))
                             - _lgamma_positive(1 - r))
    out[np.isnan(v)] = np.nan
    return out.astype(x.dtype, copy=False)


def _digamma_nonnegative(x):
    """calc_digamma for x > 0 (float64): shifted past 10 by psi(x) = psi(x + 1) - 1 / x, then the asymptotic
    series (exactly PSI_10 at 10, as ATen)."""
    result = np.zeros_like(x)
    for _ in range(10):
        low = x < 10
        if not low.any():
            break
        result = np.where(low, result - 1 / np.where(low, x, 1), result)
        x = np.where(low, x + 1, x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = 1 / (x * x)
        poly = np.zeros_like(x)
        for c in _DIGAMMA_ASYMPTOTIC:
            poly = poly * z + c
        y = np.where(x < 1e17, z * poly, 0.0)
        out = result + np.log(x) - 0.5 / x - y
    return np.where(x == 10, result + _PSI_10, out)


def digamma(x):
    """psi(x) = d lgamma / dx, as torch: -inf at +0 and +inf at -0, NaN at the negative integers and -inf."""
    x = np.asarray(x)
    v = _float64(x)
    out = np.full(v.shape, np.nan)
    positive = v > 0
    out[positive] = _digamma_nonnegative(v[positive])
    zero = v == 0
    out[zero] = np.copysign(np.inf, -v[zero])
    negative = (v < 0) & (v != np.trunc(v))
    if negative.any():
        r = v[negative]
        out[negative] = _digamma_nonnegative(1 - r) - math.pi / np.tan(math.pi * (r - np.trunc(r)))
    return out.astype(x.dtype, copy=False)


def _trigamma(v):
    """ATen's calc_trigamma (float64): reflection below 1/2, six recurrence steps, the asymptotic series."""
    sign = np.where(v < 0.5, -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = np.sin(math.pi * v)
        result = np.where(v < 0.5, -(math.pi * math.pi) / (s * s), 0.0)
        x = np.where(v < 0.5, 1 - v, v)
        for _ in range(6):
            result = result + 1 / (x * x)
            x = x + 1
        ixx = 1 / (x * x)
        result = result + (1 + 1 / (2 * x) + ixx * (1 / 6 - ixx * (1 / 30 - ixx * (1 / 42)))) / x
    return sign * result


_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18)
_MACHEP = 1.11022302462515654042e-16


def _hurwitz_zeta(s, q):
    """sum_k (q + k)^-s for an integer s >= 2 (float64 q), Cephes' zeta as ATen runs it: the sum over
    the first terms until q + k > 9 (at least 9 terms), then Euler-Maclaurin with Bernoulli terms; inf
    where q is 0, a negative integer or -inf."""
    q = np.asarray(q, dtype=np.float64)
    out = np.empty(q.shape)
    pole = (q <= 0) & (q == np.floor(q))
    out[pole] = np.inf
    q = q[~pole]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        total = q ** -s
        a = q.copy()
        done = np.zeros(q.shape, dtype=bool)
        i = 0
        while True:  # the plain sum: each entry stops once a term is below MACHEP of the sum, or after 9 terms past 9
            active = ~done & ((i < 9) | (a <= 9.0))
            if not active.any():
                break
            i += 1
            a = np.where(active, a + 1, a)
            b_new = a ** -s
            total = np.where(active, total + b_new, total)
            done |= active & (np.abs(b_new) < _MACHEP * total)
        b = a ** -s
        w = a
        tail = b * w / (s - 1) - 0.5 * b
        fac, k = 1.0, 0.0
        bw = b
        converged = np.zeros(q.shape, dtype=bool)
        for coefficient in _ZETA_A:
            fac *= s + k
            bw = bw / w
            t = fac * bw / coefficient
            tail = np.where(converged, tail, tail + t)
            converged |= np.abs(t / (total + tail)) < _MACHEP
            fac *= s + k + 1
            bw = bw / w
            k += 2
        out[~pole] = np.where(done, total, total + tail)
    return out


def polygamma(n, x):
    """The n-th derivative of digamma (n = 0: digamma), as torch: trigamma for n = 1, and
    (-1)^(n+1) n! zeta(n + 1, x) beyond."""
    x = np.asarray(x)
    if n == 0:
        return digamma(x)
    v = _float64(x)
    if n == 1:
        out = _trigamma(v)
    else:
        out = np.empty(v.shape)
        left = (v < 0) & (v != np.floor(v))  # reflected: the plain sum would take -x terms
        out[~left] = (1.0 if n % 2 else -1.0) * math.factorial(n) * _hurwitz_zeta(n + 1, v[~left])
        out[left] = _polygamma_reflected(n, v[left])
    return out.astype(x.dtype, copy=False)


def _polygamma_reflected(n, x):
    """polygamma(n, x) for x < 0 (not an integer), n >= 2, from psi(1 - x) - psi(x) = pi cot(pi x) differentiated
    n times: (-1)^n psi^(n)(1 - x) - pi (d/dx)^n cot(pi x). The derivatives of cot are polynomials in c = cot(pi x)
    (dc/dx = -pi (1 + c²)); cot is taken of x's fractional part, where pi x loses no digits."""
    p = np.polynomial.Polynomial([0.0, 1.0])
    for _ in range(n):
        p = p.deriv() * np.polynomial.Polynomial([-math.pi, 0.0, -math.pi])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = 1 / np.tan(math.pi * (x - np.trunc(x)))
        mirrored = (1.0 if n % 2 else -1.0) * math.factorial(n) * _hurwitz_zeta(n + 1, 1 - x)
        return (-1.0) ** n * mirrored - math.pi * p(c)


def _gamma_sample(rng, shape=(3, 4)):
    """Points on both sides of 0, away from the poles at 0, -1, -2, ..."""
    x = rng.uniform(-3, 5, shape)
    return np.where(np.abs(x - np.round(x)) < 0.15, x + 0.4, x)


class LgammaFn(_Pointwise):
    compute, keeps_output, sample = staticmethod(lgamma), False, staticmethod(_gamma_sample)
    input_grad = staticmethod(lambda grad, x: grad * digamma(x))
    backward_graph = _graph(lambda grad, x: grad * DigammaFn.apply(x))


class DigammaFn(_Pointwise):
    compute, keeps_output, sample = staticmethod(digamma), False, staticmethod(_gamma_sample)
    input_grad = staticmethod(lambda grad, x: grad * polygamma(1, x))
    backward_graph = _graph(lambda grad, x: grad * PolygammaFn.apply(1, x))


class PolygammaFn(Function):
    """polygamma(n, x) (n >= 0, torch's argument order); its derivative is polygamma(n + 1, x)."""

    @staticmethod
    def forward(ctx, n, x):
        ctx.save_for_backward(x)
        ctx.n = n
        return polygamma(n, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return None, grad * polygamma(ctx.n + 1, x)

    @staticmethod
    def backward_graph(ctx, grad):
        return None, grad * PolygammaFn.apply(ctx.n + 1, ctx.parents[1])

    @staticmethod
    def gradcheck_cases(rng):
        x = _gamma_sample(rng)
        return [((1, x), {}), ((2, x), {}), ((3, np.abs(x) + 0.5), {})]
