"""Activation modules: each forward is the nn.functional form of the same name. `inplace=True` (where
PyTorch has it) writes the result into the input through Tensor's in-place machinery and returns it."""
import warnings

import numpy as np

from .._device import check_device
from ..ops import elementwise as _E
from ..ops.softmax import implicit_dim
from . import functional as F
from .module import Module, Parameter


def _inplace_repr(inplace, first=False):
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class ReLU(Module):
    epilogue_activation = "relu"  # a layer before it may apply it in its own kernel (see nn.Sequential)

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _E.relu(input, self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace, first=True)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return _E.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace_repr(self.inplace)}"


class Sigmoid(Module):
    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return _E.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate  # checked where torch checks it: at forward (RuntimeError)

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class _AlongDim(Module):
    """A module applying `function(x, dim)` for a fixed dim (Softmax, LogSoftmax). dim=None (the
    default, as PyTorch) picks the dim by PyTorch's legacy rule, with its deprecation warning."""

    function = None
    name = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = self.dim if self.dim is not None else implicit_dim(self.name, input.ndim, 3)
        return self.function(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    function, name = staticmethod(F.softmax), "softmax"


class LogSoftmax(_AlongDim):
    function, name = staticmethod(F.log_softmax), "log_softmax"


# ---- issue 17: the rest of PyTorch's common activations ---------------------------------------------------

class _InplaceActivation(Module):
    """An activation whose only option is inplace (SELU, SiLU, Mish, Hardsigmoid, Hardswish)."""

    function = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self).function(input, self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace, first=True)


class ELU(Module):
    """x where x > 0, alpha (exp(x) - 1) elsewhere."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return _E.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_repr(self.inplace)}"


class SELU(_InplaceActivation):
    """scale * ELU(x, alpha) with PyTorch's constants (self-normalising networks; see AlphaDropout)."""
    function = staticmethod(_E.selu)


class SiLU(_InplaceActivation):
    """x * sigmoid(x) (swish)."""
    function = staticmethod(_E.silu)


class Mish(_InplaceActivation):
    """x * tanh(softplus(x))."""
    function = staticmethod(_E.mish)


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6."""
    function = staticmethod(_E.hardsigmoid)

    def extra_repr(self):  # PyTorch's repr leaves inplace out here
        return ""


class Hardswish(Hardsigmoid):
    """x * relu6(x + 3) / 6."""
    function = staticmethod(_E.hardswish)


class Hardtanh(Module):
    """clamp(x, min_val, max_val), with a zero gradient at the bounds. min_value/max_value are PyTorch's
    deprecated spellings (accepted with its warning)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None):
        super().__init__()
        if min_value is not None:
            warnings.warn("keyword argument `min_value` is deprecated and rename to `min_val`", FutureWarning,
                          stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and rename to `max_val`", FutureWarning,
                          stacklevel=2)
            max_val = max_value
        if not max_val > min_val:  # AssertionError, as PyTorch's assert
            raise AssertionError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input):
        return _E.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_repr(self.inplace)}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6): Hardtanh(0, 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace, first=True)


class Softsign(Module):
    """x / (1 + |x|)."""

    def __init__(self, *args, **kwargs):  # PyTorch's Softsign takes and ignores any arguments
        super().__init__()

    def forward(self, input):
        return _E.softsign(input)


class PReLU(Module):
    """x where x > 0, weight * x elsewhere; weight (num_parameters,) is learned: one slope for all
    channels (num_parameters=1) or one per channel (dim 1 of the input), initialised to `init`."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        check_device(device, "PReLU")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"PReLU: dtype must be float32 or float64, got {dtype}")
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(np.empty(num_parameters, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        self.weight._data.fill(self.init)

    def forward(self, input):
        return _E.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


# ---- the rest of torch.nn's activations, over the nn.functional forms of nn/composite.py -------------------

class LogSigmoid(Module):
    """log(sigmoid(x)), computed as -softplus(-x) (no overflow for any x)."""

    def forward(self, input):
        return F.logsigmoid(input)


class Softmin(_AlongDim):
    """softmax(-x) along dim."""
    function, name = staticmethod(F.softmin), "softmin"


class Softmax2d(Module):
    """softmax over the channels of (N, C, H, W) or (C, H, W) (dim -3)."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return F.softmax(input, -3)


class Hardshrink(Module):
    """x where |x| > lambd, else 0."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""

    def forward(self, input):
        return F.softshrink(input, self.lambd)


class Tanhshrink(Module):
    """x - tanh(x)."""

    def forward(self, input):
        return F.tanhshrink(input)


class Threshold(Module):
    """x where x > threshold, else value."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{_inplace_repr(self.inplace)}"


class CELU(Module):
    """x where x > 0, alpha * (exp(x / alpha) - 1) elsewhere."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_repr(self.inplace)}"


class GLU(Module):
    """Gated linear unit: a * sigmoid(b), a and b the halves of the input along dim."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class RReLU(Module):
    """Randomised leaky ReLU: random slopes in [lower, upper) while training, their mean in evaluation.
    Deliberate difference: the slopes come from firstepoch's generator, not torch's (F.rrelu)."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}{_inplace_repr(self.inplace)}"
