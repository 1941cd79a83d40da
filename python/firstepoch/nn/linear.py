"""Linear layer: y = x @ W.T + b in one GEMM whose epilogue adds the bias (and, fused, applies ReLU)
while the output tile is still in registers."""
import math

import numpy as np

from .. import _C
from ..autograd.function import Function, product_backward_flops
from ..ops import linear as _linear_op
from . import init
from .module import Module, Parameter


def _rows(x):
    """x as a 2-D array whose rows the GEMM can read in place (copying only an unreadable layout)."""
    x2 = x.reshape(-1, x.shape[-1])
    if x2.shape[0] > 1 and x2.strides[-1] != x2.itemsize:
        x2 = np.ascontiguousarray(x2)
    if x2.shape[0] > 1 and x2.strides[0] < x2.shape[1] * x2.itemsize:
        x2 = np.ascontiguousarray(x2)
    return x2


class LinearFunction(Function):
    """linear(x (..., in), W (out, in), b (out,) or None, relu) = [relu](x @ W.T + b).

    Backward, with g the output gradient (masked by out > 0 after a fused ReLU):
        dx = g @ W,   dW = g.T @ x,   db = g.sum(0)   -- the GEMM reads the transposes in place.
    """

    kernel = "gemm"
    backward_flops = staticmethod(product_backward_flops)

    @staticmethod
    def flops(ctx, inputs, out):
        return 2 * int(out.size) * int(inputs[1].shape[1])  # (N, out) outputs, each a dot over in_features

    @staticmethod
    def forward(ctx, x, weight, bias=None, relu=False):
        if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input has {x.shape[-1] if x.ndim else 0} features (shape {x.shape}), weight "
                             f"expects {weight.shape[1]} (weight shape {weight.shape})")
        if x.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
            raise TypeError(f"linear: dtypes differ: input {x.dtype}, weight {weight.dtype}"
                            + (f", bias {bias.dtype}" if bias is not None else ""))
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},) for weight "
                             f"shape {weight.shape}")
        x2 = x if x.ndim == 2 and x.flags.c_contiguous else _rows(x)
        out = _linear_op(x2, weight, bias, relu=relu)
        ctx.save_for_backward(x2, weight, out if relu else None)
        ctx.in_shape = x.shape
        ctx.has_bias = bias is not None
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, grad):
        x2, weight, out = ctx.saved_tensors
        g = grad if grad.ndim == 2 else grad.reshape(-1, weight.shape[0])
        if not g.flags.c_contiguous:
            g = np.ascontiguousarray(g)
        if out is not None:
            g = g * (out > 0)  # the fused ReLU's gradient: zero where the output was clamped
        needs = ctx.needs_input_grad
        dx = dw = db = None
        if needs[0]:
            dx = np.empty(x2.shape, dtype=g.dtype)
            _C.gemm(g, weight, dx)                      # (N, out) @ (out, in)
            if len(ctx.in_shape) != 2:
                dx = dx.reshape(ctx.in_shape)
        if needs[1]:
            dw = np.empty(weight.shape, dtype=g.dtype)
            _C.gemm(g, x2, dw, trans_a=True)            # (N, out).T @ (N, in)
        if ctx.has_bias and needs[2]:
            db = np.add.reduce(g, axis=0)
        return dx, dw, db, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((5, 3))
        w = rng.standard_normal((4, 3))
        b = rng.standard_normal(4)
        return [((x, w, b), {}), ((x, w, None), {}), ((rng.standard_normal((2, 3, 3)), w, b), {}),
                ((x, w, b + 0.3, True), {})]


def linear(input, weight, bias=None):
    return LinearFunction.apply(input, weight, bias, False)


def linear_relu(input, weight, bias=None):
    """relu(linear(...)) in one kernel call."""
    return LinearFunction.apply(input, weight, bias, True)


class Identity(Module):
    """Returns its input (a placeholder layer, as torch.nn.Identity)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x @ W.T + b, W (out_features, in_features) as in PyTorch, initialised as PyTorch does:
    W ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), b ~ U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32):
        super().__init__()
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"Linear: dtype must be float32 or float64, got {np.dtype(dtype)}")
        if in_features < 0 or out_features < 0:  # 0 is legal, as in PyTorch
            raise ValueError(f"Linear: features must be >= 0, got in={in_features}, out={out_features}")
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

    def forward(self, x):
        return LinearFunction.apply(x, self.weight, self.bias, False)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
