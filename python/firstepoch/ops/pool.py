"""2-D max and average pooling (NCHW) on the C++ pooling kernels, forward and backward.

max_pool2d:  y = max over each (dilated) window, padding counting as -inf; argmax keeps the flat index
             (in the input plane) of each window's first maximum, and backward adds dy there.
avg_pool2d:  y = mean over each window, padding counted as zeros (PyTorch's count_include_pad=True);
             backward spreads dy / (kh * kw) over the window.

`_C` entries and their NumPy twins in `firstepoch.reference.pool`, the same names and argument order:
`max_pool2d_forward`, `max_pool2d_backward`, `avg_pool2d_forward`, `avg_pool2d_backward`. The kernel
checks the window (sizes, padding at most half the kernel, a window that fits); Python only works out
the output shape to allocate.
"""
import numpy as np

from .. import _C
from ..autograd.function import Function
from .conv import out_size, pair
from .shape import GetItemGradFn


def _pool_args(x_shape, kernel_size, stride, padding, dilation, name):
    if len(x_shape) != 4:
        raise ValueError(f"{name}: input must be (N, C, H, W), got shape {x_shape}")
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None else pair(stride, "stride")
    p, d = pair(padding, "padding"), pair(dilation, "dilation")
    return k, s, p, d


def _out_shape(x_shape, k, s, p, d):
    N, C, H, W = x_shape
    if min(s) < 1:  # the kernel names the bad stride; no division by it here
        return N, C, 0, 0
    return N, C, max(out_size(H, k[0], s[0], p[0], d[0]), 0), max(out_size(W, k[1], s[1], p[1], d[1]), 0)


class MaxPool2dFn(Function):
    kernel = "pool"

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0, dilation=1):
        k, s, p, d = _pool_args(x.shape, kernel_size, stride, padding, dilation, "max_pool2d")
        x = np.ascontiguousarray(x)
        y = np.empty(_out_shape(x.shape, k, s, p, d), dtype=x.dtype)
        argmax = np.empty(y.shape, dtype=np.int64)
        _C.max_pool2d_forward(x, y, argmax, k, s, p, d)
        ctx.save_for_backward(argmax)
        ctx.args = (x.shape, k, s, p, d)
        return y

    @staticmethod
    def backward(ctx, grad):
        (argmax,) = ctx.saved_tensors
        shape, k, s, p, d = ctx.args
        dx = np.empty(shape, dtype=grad.dtype)  # the kernel overwrites every element
        _C.max_pool2d_backward(np.ascontiguousarray(grad), argmax, dx, k, s, p, d)
        return dx, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # backward is a scatter-add of dy at the argmax positions (constant almost everywhere)
        (argmax,) = ctx.saved_tensors
        shape = ctx.args[0]
        planes, hw = shape[0] * shape[1], shape[2] * shape[3]
        a = argmax.reshape(planes, -1)
        keep = (a >= 0).reshape(-1)
        to = (np.arange(planes)[:, None] * hw + a).reshape(-1)[keep]
        return _scatter_graph(grad, np.flatnonzero(keep), to, shape), None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6).astype(np.float64) * 0.01  # distinct: no ties
        return [((x, 2), {}), ((x, 3), {"stride": 2, "padding": 1}), ((x, (2, 3)), {"stride": 1, "dilation": (2, 1)})]


class AvgPool2dFn(Function):
    kernel = "pool"

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0):
        k, s, p, _ = _pool_args(x.shape, kernel_size, stride, padding, 1, "avg_pool2d")
        x = np.ascontiguousarray(x)
        y = np.empty(_out_shape(x.shape, k, s, p, (1, 1)), dtype=x.dtype)
        _C.avg_pool2d_forward(x, y, k, s, p)
        ctx.args = (x.shape, k, s, p)
        return y

    @staticmethod
    def backward(ctx, grad):
        shape, k, s, p = ctx.args
        dx = np.empty(shape, dtype=grad.dtype)  # the kernel overwrites every element
        _C.avg_pool2d_backward(np.ascontiguousarray(grad), dx, k, s, p)
        return dx, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # backward adds dy / (kh * kw) to each input of the window (padding taking its share): a
        # scatter-add over the (output, input) pairs of the windows
        shape, k, s, p = ctx.args
        N, C, H, W = shape
        OH, OW = grad.shape[2:]
        oh, ow, i, j = np.meshgrid(np.arange(OH), np.arange(OW), np.arange(k[0]), np.arange(k[1]), indexing="ij")
        h, w = oh * s[0] + i - p[0], ow * s[1] + j - p[1]
        inside = (h >= 0) & (h < H) & (w >= 0) & (w < W)
        planes = np.arange(N * C)[:, None]
        frm = (planes * (OH * OW) + (oh * OW + ow)[inside][None, :]).reshape(-1)
        to = (planes * (H * W) + (h * W + w)[inside][None, :]).reshape(-1)
        return _scatter_graph(grad / (k[0] * k[1]), frm, to, shape), None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 3, 7, 6))
        return [((x, 2), {}), ((x, 3), {"stride": 2, "padding": 1})]


def _scatter_graph(grad, frm, to, shape):
    """dx (of `shape`) with grad's flat entries frm added at dx's flat entries to, as recorded ops
    (indexing, and its gradient op GetItemGradFn): the backward of a pooling on Tensors."""
    picked = grad.reshape(-1)[frm]
    return GetItemGradFn.apply(picked, (int(np.prod(shape)),), (to,)).reshape(shape)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1):
    """As torch.nn.functional.max_pool2d (without return_indices and ceil_mode)."""
    return MaxPool2dFn.apply(input, kernel_size, stride, padding, dilation)


def avg_pool2d(input, kernel_size, stride=None, padding=0):
    """As torch.nn.functional.avg_pool2d (count_include_pad=True, no ceil_mode)."""
    return AvgPool2dFn.apply(input, kernel_size, stride, padding)


def adaptive_avg_pool2d(input, output_size=1):
    """Average pooling to a fixed output size; output_size 1 (global average pooling) and sizes that
    divide the input evenly are supported."""
    oh, ow = pair(output_size, "output_size")
    H, W = input.shape[-2:]
    if (oh, ow) == (1, 1):
        return input.mean(dim=(2, 3), keepdim=True)
    if H % oh or W % ow:
        raise ValueError(f"adaptive_avg_pool2d: output_size {(oh, ow)} must divide the input size {(H, W)}")
    return avg_pool2d(input, (H // oh, W // ow))
