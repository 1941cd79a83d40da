"""Pooling layers (NCHW, and unbatched (C, H, W) / (C, L) input) over firstepoch.ops.pool, with
PyTorch's arguments, defaults, stored attributes and reprs."""
from ..ops.pool import (adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d,
                        avg_pool2d, avg_pool3d, max_pool1d, max_pool2d, max_pool3d, max_unpool1d, max_unpool2d,
                        max_unpool3d)
from .composite import adaptive_avg_pool1d, adaptive_max_pool1d, lp_pool1d, lp_pool2d, lp_pool3d
from .module import Module


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.padding, self.dilation = kernel_size, padding, dilation
        self.stride = kernel_size if stride is None else stride
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    # nn.Sequential's fusion protocol (nn/container.py): a layer and its activation before this pool may run
    # as one op; only without return_indices (the indices are a second output)
    def epilogue_pool(self):
        return None if self.return_indices else "max"

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def forward(self, input):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices)


class MaxPool1d(MaxPool2d):
    def forward(self, input):
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices)


class MaxPool3d(MaxPool2d):
    """Over (N, C, D, H, W) or (C, D, H, W) (F.max_pool3d)."""

    def forward(self, input):
        return max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices)


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                          self.divisor_override)


class AvgPool3d(AvgPool2d):
    """Over (N, C, D, H, W) or (C, D, H, W) (F.avg_pool3d)."""

    def forward(self, input):
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                          self.divisor_override)


class AvgPool1d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        one = lambda v: v if isinstance(v, tuple) else (v,)  # noqa: E731 (stored as PyTorch: 1-tuples)
        self.kernel_size, self.padding = one(kernel_size), one(padding)
        self.stride = self.kernel_size if stride is None else one(stride)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class MaxUnpool2d(Module):
    """The partial inverse of MaxPool2d: forward(input, indices, output_size=None)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        two = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)  # noqa: E731 (pairs, as PyTorch)
        self.kernel_size, self.padding = two(kernel_size), two(padding)
        self.stride = self.kernel_size if stride is None else two(stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input, indices, output_size=None):
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool1d(Module):
    """The partial inverse of MaxPool1d: forward(input, indices, output_size=None). The arguments are
    stored as 1-tuples, as PyTorch's."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        one = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,)  # noqa: E731
        self.kernel_size, self.padding = one(kernel_size), one(padding)
        self.stride = one(kernel_size if stride is None else stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input, indices, output_size=None):
        return max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool3d(Module):
    """The partial inverse of MaxPool3d: forward(input, indices, output_size=None). The arguments are
    stored as triples, as PyTorch's."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        three = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)  # noqa: E731
        self.kernel_size, self.padding = three(kernel_size), three(padding)
        self.stride = self.kernel_size if stride is None else three(stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input, indices, output_size=None):
        return max_unpool3d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class LPPool2d(Module):
    """Power-average pooling (F.lp_pool2d); the arguments are stored as given (stride None stays None),
    as PyTorch's."""

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")

    def forward(self, input):
        return lp_pool2d(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class LPPool1d(LPPool2d):
    """Power-average pooling (F.lp_pool1d) of (N, C, L) or (C, L)."""

    def forward(self, input):
        return lp_pool1d(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class LPPool3d(LPPool2d):
    """Power-average pooling (F.lp_pool3d) of (N, C, D, H, W) or (C, D, H, W)."""

    def forward(self, input):
        return lp_pool3d(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class AdaptiveAvgPool2d(Module):
    """As torch.nn.AdaptiveAvgPool2d, but output_size defaults to 1 (torch requires it; README, "Porting
    from PyTorch")."""

    def __init__(self, output_size=1):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"

    def forward(self, input):
        return adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool2d(Module):
    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def extra_repr(self):
        return f"output_size={self.output_size}"

    def forward(self, input):
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveAvgPool1d(Module):
    """(N, C, L) or (C, L) averaged over output_size windows (F.adaptive_avg_pool1d)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"

    def forward(self, input):
        return adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """(N, C, L) or (C, L): the maximum of output_size windows (F.adaptive_max_pool1d)."""

    def forward(self, input):
        return adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveAvgPool3d(AdaptiveAvgPool1d):
    """(N, C, D, H, W) or (C, D, H, W) averaged over output_size windows (F.adaptive_avg_pool3d)."""

    def forward(self, input):
        return adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """(N, C, D, H, W) or (C, D, H, W): the maximum of output_size windows (F.adaptive_max_pool3d)."""

    def forward(self, input):
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)
