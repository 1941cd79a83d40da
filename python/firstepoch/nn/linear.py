"""Linear layers. Linear: y = x @ W.T + b in one GEMM whose epilogue adds the bias (and, when nn.Sequential
puts a ReLU after it, applies the ReLU) while the output tile is still in registers (firstepoch.ops.linalg).
Bilinear: x1^T A x2 + b (F.bilinear). LazyLinear: a Linear whose in_features the first input sets."""
import math

import numpy as np

from ..ops import linalg as _linalg
from . import init
from .composite import bilinear
from .module import factory_dtype, Module, Parameter


class Identity(Module):
    """Returns its input (a placeholder layer, as torch.nn.Identity)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x @ W.T + b, W (out_features, in_features) as in PyTorch, initialised as PyTorch does:
    W ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), b ~ U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        super().__init__()
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"Linear: dtype must be float32 or float64, got {np.dtype(dtype)}")
        if in_features < 0 or out_features < 0:  # 0 is legal, as in PyTorch; a negative size is its RuntimeError
            raise RuntimeError(f"Trying to create tensor with negative dimension: Linear: features must be >= 0, "
                               f"got in={in_features}, out={out_features}")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0  # as PyTorch
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return _linalg.LinearFn.apply(input, self.weight, self.bias, None)

    # nn.Sequential's fusion hook: this layer can apply the activation that follows it in its kernel
    def absorbs_activation(self, activation):
        """Whether forward_with_activation(x, activation) is one kernel call (ops.linalg decides)."""
        return _linalg.fusable(activation)

    def forward_with_activation(self, x, activation):
        """activation(self(x)), the activation applied in the GEMM epilogue."""
        return _linalg.LinearFn.apply(x, self.weight, self.bias, activation)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """y = x1^T A x2 + b per output feature: weight (out_features, in1_features, in2_features), bias
    (out_features,), both U(-1/sqrt(in1_features), 1/sqrt(in1_features)) as torch."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={self.in1_features})")
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(Linear):
    """As torch.nn.LazyLinear: in_features is the last dim of the first input; at that first forward the
    weight (out_features, in_features) and bias are made and initialised as Linear's, and the module
    becomes a Linear (torch's cls_to_become). Deliberate difference: until then weight and bias are None
    (torch: UninitializedParameter), so parameters() and state_dict() leave them out: build the optimizer
    and load a state dict after a first forward (a dry run, as torch's documentation advises)."""

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self._lazy = (bias, dtype)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)

    def has_uninitialized_params(self):
        return self.weight is None

    def initialize_parameters(self, input):
        """Makes and initialises weight and bias for an input whose last dim is in_features."""
        if self.weight is not None:
            return
        bias, dtype = self._lazy
        self.in_features = int(input.shape[-1])
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        self.reset_parameters()
        del self._lazy
        self.__class__ = Linear

    def reset_parameters(self):
        if self.weight is not None:
            Linear.reset_parameters(self)

    def forward(self, input):
        self.initialize_parameters(input)
        return Linear.forward(self, input)

    def forward_with_activation(self, x, activation):  # nn.Sequential's fusion may call this one first
        self.initialize_parameters(x)
        return Linear.forward_with_activation(self, x, activation)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self._lazy[0]}"
