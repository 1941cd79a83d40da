"""Convolution (im2col + GEMM, one image at a time, in C++) and pooling, NCHW, forward and backward.

conv2d forward, per image n and group g:   col = im2col(x[n]);  y[n, g] = W[g] @ col[g]  (+ bias)
backward:  dW[g] = sum_n dy[n, g] @ col[n, g].T   (images in fixed chunks, in order)
           dcol[g] = W[g].T @ dy[n, g];   dx[n] = col2im(dcol)
A 1x1 convolution with stride 1 and no padding needs no im2col: the image itself is the column matrix.
firstepoch.reference.conv has the same steps in NumPy.
"""
import numpy as np

from .. import _C
from .function import Function, product_backward_flops


def _pair(v, name):
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) for i in t):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(t[0]), int(t[1])


def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv_geometry(x_shape, w_shape, stride, padding, dilation, groups):
    """Checks a convolution's arguments; returns (stride, padding, dilation, OH, OW) as pairs/ints."""
    if len(x_shape) != 4:
        raise ValueError(f"conv2d: input must be (N, C, H, W), got shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"conv2d: weight must be (out_channels, in_channels/groups, kh, kw), got {w_shape}")
    s, p, d = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    if min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"conv2d: stride {s} and dilation {d} must be >= 1, padding {p} >= 0")
    N, C, H, W = x_shape
    OC, Cg, kh, kw = w_shape
    if groups < 1 or C % groups or OC % groups:
        raise ValueError(f"conv2d: groups={groups} must divide in_channels={C} and out_channels={OC}")
    if Cg * groups != C:
        raise ValueError(f"conv2d: input has {C} channels (shape {x_shape}), weight {w_shape} with groups={groups} "
                         f"expects {Cg * groups}")
    OH, OW = out_size(H, kh, s[0], p[0], d[0]), out_size(W, kw, s[1], p[1], d[1])
    if OH < 1 or OW < 1:
        raise ValueError(f"conv2d: the (dilated) kernel {(d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1)} is larger "
                         f"than the padded input {(H + 2 * p[0], W + 2 * p[1])}")
    return s, p, d, OH, OW


class Conv2d(Function):
    kernel = "conv"
    backward_flops = staticmethod(product_backward_flops)

    @staticmethod
    def flops(ctx, inputs, out):
        w = inputs[1]  # (C_out, C_in / groups, kh, kw): each output sums over C_in / groups * kh * kw
        return 2 * int(out.size) * int(w.shape[1] * w.shape[2] * w.shape[3])

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if x.dtype != weight.dtype or (bias is not None and bias.dtype != x.dtype):
            raise TypeError(f"conv2d: dtypes differ: input {x.dtype}, weight {weight.dtype}"
                            + (f", bias {bias.dtype}" if bias is not None else ""))
        s, p, d, OH, OW = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
        x = np.ascontiguousarray(x)
        weight = np.ascontiguousarray(weight)
        y = np.empty((x.shape[0], weight.shape[0], OH, OW), dtype=x.dtype)
        _C.conv2d_forward(x, weight, None if bias is None else np.ascontiguousarray(bias), y, s, p, d, groups)
        ctx.save_for_backward(x, weight)
        ctx.geom = (s, p, d, groups, bias is not None)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        s, p, d, groups, has_bias = ctx.geom
        dy = np.ascontiguousarray(grad)
        dx = np.empty_like(x) if ctx.needs_input_grad[0] else None
        dw = np.empty_like(weight) if ctx.needs_input_grad[1] else None
        if dx is not None or dw is not None:
            _C.conv2d_backward(x, weight, dy, dx, dw, s, p, d, groups)
        db = dy.sum(axis=(0, 2, 3)) if has_bias and ctx.needs_input_grad[2] else None
        return dx, dw, db, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 4, 6, 5))
        return [((x, rng.standard_normal((3, 4, 3, 3)), rng.standard_normal(3)), {"padding": 1}),
                ((x, rng.standard_normal((2, 4, 2, 3)), None), {"stride": (2, 1), "dilation": (1, 2)}),
                ((x, rng.standard_normal((4, 1, 3, 3)), rng.standard_normal(4)), {"groups": 4, "padding": 2}),
                ((x, rng.standard_normal((5, 4, 1, 1)), rng.standard_normal(5)), {})]


def _pool_args(x_shape, kernel_size, stride, padding, dilation, name):
    if len(x_shape) != 4:
        raise ValueError(f"{name}: input must be (N, C, H, W), got shape {x_shape}")
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None else _pair(stride, "stride")
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    return k, s, p, d


class MaxPool2d(Function):
    kernel = "pool"

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0, dilation=1):
        k, s, p, d = _pool_args(x.shape, kernel_size, stride, padding, dilation, "max_pool2d")
        x = np.ascontiguousarray(x)
        N, C, H, W = x.shape
        OH, OW = out_size(H, k[0], s[0], p[0], d[0]), out_size(W, k[1], s[1], p[1], d[1])
        y = np.empty((N, C, max(OH, 0), max(OW, 0)), dtype=x.dtype)
        argmax = np.empty(y.shape, dtype=np.int64)
        _C.max_pool2d(x, y, argmax, k, s, p, d)
        ctx.save_for_backward(argmax)
        ctx.args = (x.shape, k, s, p, d)
        return y

    @staticmethod
    def backward(ctx, grad):
        (argmax,) = ctx.saved_tensors
        shape, k, s, p, d = ctx.args
        dx = np.zeros(shape, dtype=grad.dtype)
        _C.max_pool2d_backward(np.ascontiguousarray(grad), argmax, dx, k, s, p, d)
        return dx, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6).astype(np.float64) * 0.01  # distinct: no ties
        return [((x, 2), {}), ((x, 3), {"stride": 2, "padding": 1}), ((x, (2, 3)), {"stride": 1, "dilation": (2, 1)})]


class AvgPool2d(Function):
    kernel = "pool"

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0):
        k, s, p, _ = _pool_args(x.shape, kernel_size, stride, padding, 1, "avg_pool2d")
        x = np.ascontiguousarray(x)
        N, C, H, W = x.shape
        OH, OW = out_size(H, k[0], s[0], p[0], 1), out_size(W, k[1], s[1], p[1], 1)
        y = np.empty((N, C, max(OH, 0), max(OW, 0)), dtype=x.dtype)
        _C.avg_pool2d(x, y, k, s, p)
        ctx.args = (x.shape, k, s, p)
        return y

    @staticmethod
    def backward(ctx, grad):
        shape, k, s, p = ctx.args
        dx = np.zeros(shape, dtype=grad.dtype)
        _C.avg_pool2d_backward(np.ascontiguousarray(grad), dx, k, s, p)
        return dx, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 3, 7, 6))
        return [((x, 2), {}), ((x, 3), {"stride": 2, "padding": 1})]
