"""Convolution and pooling layers (NCHW, PyTorch's parameter layout and initialisation)."""
import math

import numpy as np

from ..autograd import conv as _conv
from . import init
from .module import Module, Parameter


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv.Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1):
    return _conv.MaxPool2d.apply(input, kernel_size, stride, padding, dilation)


def avg_pool2d(input, kernel_size, stride=None, padding=0):
    return _conv.AvgPool2d.apply(input, kernel_size, stride, padding)


def adaptive_avg_pool2d(input, output_size=1):
    """Average pooling to a fixed output size; output_size 1 (global average pooling) and sizes that
    divide the input evenly are supported."""
    oh, ow = _conv._pair(output_size, "output_size")
    H, W = input.shape[-2:]
    if (oh, ow) == (1, 1):
        return input.mean(dim=(2, 3), keepdim=True)
    if H % oh or W % ow:
        raise ValueError(f"adaptive_avg_pool2d: output_size {(oh, ow)} must divide the input size {(H, W)}")
    return avg_pool2d(input, (H // oh, W // ow))


class Conv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 dtype=np.float32):
        super().__init__()
        kh, kw = _conv._pair(kernel_size, "kernel_size")
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

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}")


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size=1):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return adaptive_avg_pool2d(x, self.output_size)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C, L) as a 2-D one over (N, C, 1, L), weight (OC, C/groups, k)."""
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input (N, C, L) and weight (OC, C/groups, k), got {tuple(input.shape)} "
                         f"and {tuple(weight.shape)}")
    y = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), (0, padding), (1, dilation), groups)
    return y.squeeze(2)


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
