"""Elementwise ops in plain NumPy, mirroring ops/elementwise.py: `<op>_forward` takes the op's
arguments, `<op>_backward(dy, ...the same arguments)` returns the gradient of each array input
(a tuple when there are two). Written as the textbook formula, not the overflow-safe form."""
import math

import numpy as np


def unbroadcast(g, shape):
    """Sum g over the axes broadcasting added or stretched, back to `shape`."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def add_forward(a, b):
    return a + b


def add_backward(dy, a, b):
    return unbroadcast(dy, np.shape(a)), unbroadcast(dy, np.shape(b))


def sub_forward(a, b):
    return a - b


def sub_backward(dy, a, b):
    return unbroadcast(dy, np.shape(a)), unbroadcast(-dy, np.shape(b))


def mul_forward(a, b):
    return a * b


def mul_backward(dy, a, b):
    return unbroadcast(dy * b, np.shape(a)), unbroadcast(dy * a, np.shape(b))


def div_forward(a, b):
    return a / b


def div_backward(dy, a, b):
    return unbroadcast(dy / b, np.shape(a)), unbroadcast(-dy * a / b ** 2, np.shape(b))


def pow_forward(x, p):
    return x ** p


def pow_backward(dy, x, p):
    return dy * p * x ** (p - 1)


def pow_tensor_forward(a, b):
    return a ** b


def pow_tensor_backward(dy, a, b):
    return unbroadcast(dy * b * a ** (b - 1), np.shape(a)), unbroadcast(dy * a ** b * np.log(a), np.shape(b))


def neg_forward(x):
    return -x


def neg_backward(dy, x):
    return -dy


def exp_forward(x):
    return np.exp(x)


def exp_backward(dy, x):
    return dy * np.exp(x)


def log_forward(x):
    return np.log(x)


def log_backward(dy, x):
    return dy / x


def sqrt_forward(x):
    return np.sqrt(x)


def sqrt_backward(dy, x):
    return dy * 0.5 / np.sqrt(x)


def abs_forward(x):
    return np.abs(x)


def abs_backward(dy, x):
    return dy * np.nan_to_num(np.sign(x))  # sgn(NaN) is 0


def relu_forward(x):
    return np.where(x > 0, x, 0.0)


def relu_backward(dy, x):
    # not dy * (x > 0): torch's gradient is 0 where x <= 0 even where dy is NaN or inf
    return np.where(x > 0, dy, 0).astype(dy.dtype)


def leaky_relu_forward(x, negative_slope=0.01):
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_backward(dy, x, negative_slope=0.01):
    return dy * np.where(x > 0, 1.0, negative_slope)


def sigmoid_forward(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_backward(dy, x):
    s = sigmoid_forward(x)
    return dy * s * (1 - s)


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(dy, x):
    return dy * (1 - np.tanh(x) ** 2)


def softplus_forward(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, switching to x itself where beta x > threshold (as PyTorch)."""
    return np.where(beta * x > threshold, x, np.log(1 + np.exp(beta * x)) / beta)


def softplus_backward(dy, x, beta=1.0, threshold=20.0):
    return dy * np.where(beta * x > threshold, 1.0, sigmoid_forward(beta * x))


def _normal_cdf(x):
    return 0.5 * (1 + np.vectorize(math.erf, otypes=[float])(x / math.sqrt(2)))


def gelu_forward(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return x * _normal_cdf(x)


def gelu_backward(dy, x, approximate="none"):
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x ** 3))
        return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * k * (1 + 3 * 0.044715 * x ** 2))
    return dy * (_normal_cdf(x) + x * np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi))


def clip_forward(x, low=None, high=None):
    return np.clip(x, low, high)


def clip_backward(dy, x, low=None, high=None):
    inside = (x >= (-np.inf if low is None else low)) & (x <= (np.inf if high is None else high))
    return dy * inside


def cast_forward(x, dtype):
    return x.astype(dtype)


def cast_backward(dy, x, dtype):
    return dy.astype(x.dtype)


def maximum_forward(a, b):
    return np.maximum(a, b)


def maximum_backward(dy, a, b):
    # the larger input takes the gradient; a tie splits it in halves (as PyTorch)
    share_a = (a > b) + 0.5 * (a == b)
    return unbroadcast(dy * share_a, np.shape(a)), unbroadcast(dy * (1 - share_a), np.shape(b))


def minimum_forward(a, b):
    return np.minimum(a, b)


def minimum_backward(dy, a, b):
    share_a = (a < b) + 0.5 * (a == b)
    return unbroadcast(dy * share_a, np.shape(a)), unbroadcast(dy * (1 - share_a), np.shape(b))


# ---- more pointwise functions and the remainder (ported code, issue 16) --------------------------------

def sin_forward(x):
    return np.sin(x)


def sin_backward(dy, x):
    return dy * np.cos(x)


def cos_forward(x):
    return np.cos(x)


def cos_backward(dy, x):
    return -dy * np.sin(x)


def log1p_forward(x):
    return np.log(1 + x)


def log1p_backward(dy, x):
    return dy / (1 + x)


def expm1_forward(x):
    return np.exp(x) - 1


def expm1_backward(dy, x):
    return dy * np.exp(x)


def remainder_forward(a, b):
    """a - floor(a / b) * b: the sign of b, as Python's %."""
    return a - np.floor(a / b) * b


def remainder_backward(dy, a, b):
    return unbroadcast(dy, np.shape(a)), unbroadcast(-dy * np.floor(a / b), np.shape(b))


def gelu_slope_forward(x, approximate="none"):
    """d gelu / dx (GeluSlopeFn: GELU's backward as an op, for second derivatives)."""
    return gelu_backward(np.ones_like(x), x, approximate)


def gelu_slope_backward(dy, x, approximate="none"):
    """dy times d^2 gelu / dx^2."""
    if approximate == "tanh":
        k, c = math.sqrt(2 / math.pi), 0.044715
        t = np.tanh(k * (x + c * x ** 3))
        du, ddu = k * (1 + 3 * c * x ** 2), k * 6 * c * x
        return dy * (1 - t ** 2) * (du + 0.5 * x * (ddu - 2 * t * du ** 2))
    return dy * np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi) * (2 - x ** 2)


# ---- activations of PyTorch's nn (issue 17) ------------------------------------------------------------

def elu_forward(x, alpha=1.0, scale=1.0):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)); SELU is alpha = 1.6732632..., scale = 1.0507009..."""
    return scale * np.where(x > 0, x, alpha * (np.exp(x) - 1))


def elu_backward(dy, x, alpha=1.0, scale=1.0):
    return dy * scale * np.where(x > 0, 1.0, alpha * np.exp(x))


def silu_forward(x):
    return x * sigmoid_forward(x)


def silu_backward(dy, x):
    s = sigmoid_forward(x)
    return dy * (s + x * s * (1 - s))


def mish_forward(x):
    return x * np.tanh(np.log(1 + np.exp(x)))


def mish_backward(dy, x):
    t = np.tanh(np.log(1 + np.exp(x)))
    return dy * (t + x * sigmoid_forward(x) * (1 - t ** 2))


def hardtanh_forward(x, min_val=-1.0, max_val=1.0):
    return np.minimum(np.maximum(x, min_val), max_val)


def hardtanh_backward(dy, x, min_val=-1.0, max_val=1.0):
    """The gradient passes strictly between the bounds only (0 at the bounds, unlike clip)."""
    return dy * ((x > min_val) & (x < max_val))


def softsign_forward(x):
    return x / (1 + np.abs(x))


def softsign_backward(dy, x):
    return dy / (1 + np.abs(x)) ** 2


def prelu_forward(x, weight):
    """weight: one slope, or one per channel (dim 1 of x)."""
    w = weight.reshape(()) if weight.size == 1 else weight.reshape((1, -1) + (1,) * (x.ndim - 2))
    return np.where(x > 0, x, w * x)


def prelu_backward(dy, x, weight):
    """(dx, dweight): dweight sums x * dy where x <= 0 over every dim but the channel."""
    w = weight.reshape(()) if weight.size == 1 else weight.reshape((1, -1) + (1,) * (x.ndim - 2))
    dx = dy * np.where(x > 0, 1.0, w)
    dw = unbroadcast(np.where(x > 0, 0.0, x * dy), np.shape(w)).reshape(weight.shape)
    return dx, dw


def hardsigmoid_forward(x):
    return np.minimum(np.maximum(x + 3, 0), 6) / 6


def hardsigmoid_backward(dy, x):
    return dy * ((x > -3) & (x < 3)) / 6


def hardswish_forward(x):
    return x * hardsigmoid_forward(x)


def hardswish_backward(dy, x):
    return dy * np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, x / 3 + 0.5))


# ---- the activation kernels' twins: _C.activation_forward / _backward (the kind names one of the above) --

def _activation(kind, a, b):
    """(forward, backward) of activation `kind` with its options a, b bound (see activation_forward)."""
    table = {
        "relu": (relu_forward, relu_backward, ()),
        "sigmoid": (sigmoid_forward, sigmoid_backward, ()),
        "tanh": (tanh_forward, tanh_backward, ()),
        "elu": (elu_forward, elu_backward, (a, b)),
        "silu": (silu_forward, silu_backward, ()),
        "mish": (mish_forward, mish_backward, ()),
        "hardtanh": (hardtanh_forward, hardtanh_backward, (a, b)),
        "softsign": (softsign_forward, softsign_backward, ()),
        "softplus": (softplus_forward, softplus_backward, (a, b)),
        "hardsigmoid": (hardsigmoid_forward, hardsigmoid_backward, ()),
        "hardswish": (hardswish_forward, hardswish_backward, ()),
        "leaky_relu": (leaky_relu_forward, leaky_relu_backward, (a,)),
        "gelu": (gelu_forward, gelu_backward, ("none",)),
        "gelu_tanh": (gelu_forward, gelu_backward, ("tanh",)),
    }
    if kind not in table:
        raise ValueError(f"kind must be one of {', '.join(table)}, got {kind!r}")
    return table[kind]


def activation_forward(x, kind, a=0.0, b=0.0):
    """The activation `kind` of x; a, b are its options: elu (alpha, scale), hardtanh (min_val, max_val),
    softplus (beta, threshold), leaky_relu (negative_slope); gelu_tanh is gelu(approximate='tanh')."""
    forward, _, options = _activation(kind, a, b)
    return forward(x, *options)


def activation_backward(dy, x, kind, a=0.0, b=0.0):
    """dy times the derivative of activation_forward(x, kind, a, b)."""
    _, backward, options = _activation(kind, a, b)
    return backward(dy, x, *options)


# ---- the rest of torch's pointwise math -----------------------------------------------------------------

def sinh_forward(x):
    return (np.exp(x) - np.exp(-x)) / 2


def sinh_backward(dy, x):
    return dy * (np.exp(x) + np.exp(-x)) / 2


def cosh_forward(x):
    return (np.exp(x) + np.exp(-x)) / 2


def cosh_backward(dy, x):
    return dy * (np.exp(x) - np.exp(-x)) / 2


def asin_forward(x):
    return np.arcsin(x)


def asin_backward(dy, x):
    return dy / np.sqrt(1 - x * x)


def acos_forward(x):
    return np.arccos(x)


def acos_backward(dy, x):
    return -dy / np.sqrt(1 - x * x)


def atan_forward(x):
    return np.arctan(x)


def atan_backward(dy, x):
    return dy / (1 + x * x)


def _step_backward(dy, x):
    """floor, ceil, trunc, round, sign: piecewise constant, so the gradient is 0 (as PyTorch)."""
    return np.zeros_like(x) * dy


def floor_forward(x):
    return np.floor(x)


def ceil_forward(x):
    return np.ceil(x)


def trunc_forward(x):
    return np.trunc(x)


def round_forward(x):
    """Half to even, as torch.round."""
    return np.round(x)


def sign_forward(x):
    """NaN gives 0, as torch.sign."""
    return np.nan_to_num(np.sign(x), nan=0.0)


floor_backward = ceil_backward = trunc_backward = round_backward = sign_backward = _step_backward


def atan2_forward(a, b):
    return np.arctan2(a, b)


def atan2_backward(dy, a, b):
    r2 = a * a + b * b
    return unbroadcast(dy * b / r2, np.shape(a)), unbroadcast(-dy * a / r2, np.shape(b))


def fmod_forward(a, b):
    """a - trunc(a / b) * b: the sign of a, as C's fmod."""
    return a - np.trunc(a / b) * b


def fmod_backward(dy, a, b):
    return unbroadcast(dy, np.shape(a)), unbroadcast(-dy * np.trunc(a / b), np.shape(b))


def erf_forward(x):
    return np.vectorize(math.erf)(x)


def erf_backward(dy, x):
    return dy * 2 / math.sqrt(math.pi) * np.exp(-x * x)


def erfc_forward(x):
    return np.vectorize(math.erfc)(x)


def erfc_backward(dy, x):
    return -erf_backward(dy, x)


def _erfinv_scalar(y):
    """erf's inverse at y in (-1, 1) by bisection on math.erf."""
    lo, hi = -6.0, 6.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erf(mid) < y else (lo, mid)
    return (lo + hi) / 2


def erfinv_forward(x):
    return np.vectorize(_erfinv_scalar)(x)


def erfinv_backward(dy, x):
    y = erfinv_forward(x)
    return dy * math.sqrt(math.pi) / 2 * np.exp(y * y)


def tan_forward(x):
    return np.tan(x)


def tan_backward(dy, x):
    return dy / np.cos(x) ** 2


def asinh_forward(x):
    return np.arcsinh(x)


def asinh_backward(dy, x):
    return dy / np.sqrt(x ** 2 + 1)


def acosh_forward(x):
    return np.arccosh(x)


def acosh_backward(dy, x):
    return dy / np.sqrt(x ** 2 - 1)


def atanh_forward(x):
    return np.arctanh(x)


def atanh_backward(dy, x):
    return dy / (1 - x ** 2)


def sinc_forward(x):
    return np.sinc(x)  # NumPy's sinc is the normalised one, torch's


def sinc_backward(dy, x):
    t = np.pi * np.where(x == 0, 1.0, x)
    return dy * np.where(x == 0, 0.0, (np.cos(t) - np.sin(t) / t) / np.where(x == 0, 1.0, x))


def fmax_forward(a, b):
    return np.fmax(a, b)


def fmax_backward(dy, a, b):
    a_wins = (a >= b) | np.isnan(b)
    return unbroadcast(dy * a_wins, np.shape(a)), unbroadcast(dy * ~a_wins, np.shape(b))


def fmin_forward(a, b):
    return np.fmin(a, b)


def fmin_backward(dy, a, b):
    a_wins = (a <= b) | np.isnan(b)
    return unbroadcast(dy * a_wins, np.shape(a)), unbroadcast(dy * ~a_wins, np.shape(b))


def logaddexp2_forward(a, b):
    return np.logaddexp2(a, b)


def logaddexp2_backward(dy, a, b):
    return (unbroadcast(dy / (1 + 2.0 ** (b - a)), np.shape(a)),
            unbroadcast(dy / (1 + 2.0 ** (a - b)), np.shape(b)))


def logaddexp_forward(a, b):
    return np.logaddexp(a, b)


def logaddexp_backward(dy, a, b):
    return (unbroadcast(dy / (1 + np.exp(b - a)), np.shape(a)),
            unbroadcast(dy / (1 + np.exp(a - b)), np.shape(b)))


def nextafter_forward(a, b):
    return np.nextafter(a, b)


def nextafter_backward(dy, a, b):
    return unbroadcast(dy * (a != b), np.shape(a)), np.zeros(np.shape(b))


def lgamma_forward(x):
    return np.vectorize(math.lgamma, otypes=[np.float64])(x)


def lgamma_backward(dy, x):
    return dy * digamma_forward(x)


_TERMS = 1000  # the sums below run over x, x + 1, ..., x + 999, then the asymptotic tail from x + 1000


def digamma_forward(x):
    """psi(x) = psi(x + N) - sum_{k < N} 1 / (x + k), psi(y) ~ log y - 1/(2y) - 1/(12y²) + 1/(120y⁴) - 1/(252y⁶)."""
    k = np.arange(_TERMS).reshape((-1,) + (1,) * np.ndim(x))
    y = x + _TERMS
    return (np.log(y) - 1 / (2 * y) - 1 / (12 * y ** 2) + 1 / (120 * y ** 4) - 1 / (252 * y ** 6)
            - (1 / (x + k)).sum(axis=0))


def digamma_backward(dy, x):
    return dy * polygamma_forward(1, x)


def polygamma_forward(n, x):
    """(-1)^(n+1) n! sum_k (x + k)^-(n+1) for n >= 1: N terms, then the Euler-Maclaurin tail."""
    if n == 0:
        return digamma_forward(x)
    k = np.arange(_TERMS).reshape((-1,) + (1,) * np.ndim(x))
    y = x + _TERMS
    tail = 1 / (n * y ** n) + 1 / (2 * y ** (n + 1)) + (n + 1) / (12 * y ** (n + 2))
    return (-1) ** (n + 1) * math.factorial(n) * ((x + k) ** -(n + 1.0)).sum(axis=0) + (-1) ** (n + 1) * \
        math.factorial(n) * tail


def polygamma_backward(dy, n, x):
    return dy * polygamma_forward(n + 1, x)
