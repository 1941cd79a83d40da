"""Activation modules: thin wrappers over the differentiable ops in firstepoch.autograd."""
from ..autograd import activation as _act
from ..ops.softmax import log_softmax, softmax
from .module import Module


class ReLU(Module):
    epilogue_activation = "relu"  # a layer before it may apply it in its own kernel (see nn.Sequential)

    def forward(self, x):
        return _act.ReLU.apply(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return _act.LeakyReLU.apply(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


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
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return _act.GELU.apply(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return log_softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
