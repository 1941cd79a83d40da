"""Containers and parameter-free layers: Sequential, activations, Dropout, Flatten, Identity."""
import numpy as np

from .. import random as _random
from ..autograd import activation as _act
from ..autograd.function import Function
from ..autograd.softmax import log_softmax, softmax
from .linear import Linear, LinearFunction
from .module import Module


class Sequential(Module):
    """Calls its modules in order. A Linear followed by a ReLU runs as one fused GEMM + ReLU."""

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
            setattr(self, str(i), m)

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        setattr(self, str(len(self._modules)), module)
        return self

    def forward(self, x):
        mods = list(self._modules.values())
        i = 0
        while i < len(mods):
            m = mods[i]
            if type(m) is Linear and i + 1 < len(mods) and type(mods[i + 1]) is ReLU:
                x = LinearFunction.apply(x, m.weight, m.bias, True)  # the epilogue applies the ReLU
                i += 2
                continue
            x = m(x)
            i += 1
        return x


class Identity(Module):
    def forward(self, x):
        return x


class ReLU(Module):
    def forward(self, x):
        return _act.ReLU.apply(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return _act.LeakyReLU.apply(x, self.negative_slope)


class Sigmoid(Module):
    def forward(self, x):
        return _act.Sigmoid.apply(x)


class Tanh(Module):
    def forward(self, x):
        return _act.Tanh.apply(x)


class Softplus(Module):
    def forward(self, x):
        return _act.Softplus.apply(x)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return _act.GELU.apply(x, approximate=self.approximate)


class Softmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return softmax(x, self.dim)


class LogSoftmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return log_softmax(x, self.dim)


class DropoutFunction(Function):
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p), so the
    expected activation is unchanged and evaluation needs no rescaling. keep: the boolean mask (drawn
    from firstepoch's generator when not given)."""

    @staticmethod
    def forward(ctx, x, p, keep=None):
        if keep is None:
            keep = _random.generator().random(x.shape) >= p
        scale = keep * x.dtype.type(1.0 / (1.0 - p))
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, grad):
        (scale,) = ctx.saved_tensors
        return grad * scale, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((4, 5))
        return [((x, 0.3, rng.random((4, 5)) >= 0.3), {})]


def dropout(x, p=0.5, training=True):
    if not 0 <= p < 1:
        if p == 1 and training:
            return x * 0.0
        if not 0 <= p <= 1:
            raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    return DropoutFunction.apply(x, p)


class Dropout(Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)
