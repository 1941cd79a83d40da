"""Convolution layers (NCHW, PyTorch's parameter layout and initialisation) over firstepoch.ops.conv."""
import math

import numpy as np

from ..ops import conv as _conv
from ..ops.conv import conv1d, conv2d, pair
from . import init
from .module import Module, Parameter


class Conv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 dtype=np.float32):
        super().__init__()
        kh, kw = pair(kernel_size, "kernel_size")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        if min(kh, kw) < 1:
            raise ValueError(f"Conv2d: kernel_size must be >= 1, got {(kh, kw)}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), stride, padding
        self.dilation, self.groups = dilation, groups
        self.weight = Parameter(np.empty((out_channels, in_channels // groups, kh, kw), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # PyTorch's default
        if self.bias is not None:
            fan_in = in_channels // groups * kh * kw
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0  # as PyTorch
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    # nn.Sequential's fusion hook: this layer can apply the activation that follows it in its kernel
    def absorbs_activation(self, activation):
        """Whether forward_with_activation(x, activation) is one kernel call (ops.conv decides)."""
        return _conv.fusable(activation)

    def forward_with_activation(self, x, activation):
        """activation(self(x)), the activation applied by the convolution kernel to each output tile."""
        return _conv.Conv2dFn.apply(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                                    dilation=self.dilation, groups=self.groups, activation=activation)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


class Conv1d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 dtype=np.float32):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv1d: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.weight = Parameter(np.empty((out_channels, in_channels // groups, kernel_size), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = in_channels // groups * kernel_size
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0  # as PyTorch
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
