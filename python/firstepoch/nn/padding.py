"""Padding layers (torch.nn's ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad, 1-d, 2-d
and 3-d): each stores `padding` as torch does ((left, right), (left, right, top, bottom) for 2-d, and
(left, right, top, bottom, front, back) for 3-d; an int is repeated) and its forward is F.pad with its mode."""
from ..ops.pad import pad
from .module import Module


def _ntuple(padding, n):
    """torch's _pair / _quadruple: a sequence as a tuple, anything else repeated n times."""
    if isinstance(padding, (tuple, list)):
        return tuple(padding)
    return (padding,) * n


class _PadNd(Module):
    mode = None
    sides = 2  # 2 for the 1-d layers, 4 for the 2-d ones, 6 for the 3-d ones
    input_dims = None  # the CircularPad layers check the input's rank (ValueError), as torch

    def __init__(self, padding):
        super().__init__()
        self.padding = _ntuple(padding, self.sides)

    def forward(self, input):
        if self.input_dims is not None and input.ndim not in self.input_dims:
            raise ValueError(f"expected {self.input_dims[0]}D or {self.input_dims[1]}D input (got {input.ndim}D input)")
        return pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    mode = "constant"

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with value: (left, right)."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dims with value: (left, right, top, bottom)."""
    sides = 4


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dims with value: (left, right, top, bottom, front, back)."""
    sides = 6


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros: (left, right)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last two dims with zeros: (left, right, top, bottom)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pads the last three dims with zeros: (left, right, top, bottom, front, back)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Mirrors the last dim about its edge elements."""
    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    sides = 4


class ReflectionPad3d(ReflectionPad1d):
    sides = 6


class ReplicationPad1d(_PadNd):
    """Repeats the edge elements of the last dim."""
    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    sides = 4


class ReplicationPad3d(ReplicationPad1d):
    sides = 6


class CircularPad1d(_PadNd):
    """Wraps the last dim around; input (C, L) or (N, C, L)."""
    mode, input_dims = "circular", (2, 3)


class CircularPad2d(CircularPad1d):
    """Wraps the last two dims around; input (C, H, W) or (N, C, H, W)."""
    sides, input_dims = 4, (3, 4)


class CircularPad3d(CircularPad1d):
    """Wraps the last three dims around; input (C, D, H, W) or (N, C, D, H, W)."""
    sides, input_dims = 6, (4, 5)
