"""Convolution (im2col + GEMM, one image at a time) and pooling, NCHW, forward and backward together.

conv2d forward, per image n and group g:   col = im2col(x[n]);  y[n, g] = W[g] @ col[g]  (+ bias)
backward:  dW[g] += dy[n, g] @ col[g].T   (images in order: a fixed reduction order)
           dcol[g] = W[g].T @ dy[n, g];   dx[n] = col2im(dcol)
A 1x1 convolution with stride 1 and no padding needs no im2col: the image itself is the column matrix.
"""
import numpy as np

from .. import _C
from .function import Function


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
    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if x.dtype != weight.dtype or (bias is not None and bias.dtype != x.dtype):
            raise TypeError(f"conv2d: dtypes differ: input {x.dtype}, weight {weight.dtype}"
                            + (f", bias {bias.dtype}" if bias is not None else ""))
        s, p, d, OH, OW = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
        x = np.ascontiguousarray(x)
        N, C, H, W = x.shape
        OC, Cg, kh, kw = weight.shape
        OCg, K, L = OC // groups, Cg * kh * kw, OH * OW
        w2 = np.ascontiguousarray(weight).reshape(groups, OCg, K)
        out = np.empty((N, OC, L), dtype=x.dtype)
        pointwise = kh == kw == 1 and s == (1, 1) and p == (0, 0)
        col = None if pointwise else np.empty((C * kh * kw, L), dtype=x.dtype)
        for n in range(N):
            if pointwise:
                c = x[n].reshape(C, L)
            else:
                _C.im2col(x[n], col, (kh, kw), s, p, d)
                c = col
            for g in range(groups):
                _C.gemm(w2[g], c[g * K:(g + 1) * K], out[n, g * OCg:(g + 1) * OCg])
        if bias is not None:
            out += bias[None, :, None]
        ctx.save_for_backward(x, w2)
        ctx.geom = (s, p, d, OH, OW, groups, weight.shape, pointwise, bias is not None)
        return out.reshape(N, OC, OH, OW)

    @staticmethod
    def backward(ctx, grad):
        x, w2 = ctx.saved_tensors
        s, p, d, OH, OW, groups, w_shape, pointwise, has_bias = ctx.geom
        N, C, H, W = x.shape
        OC, Cg, kh, kw = w_shape
        OCg, K, L = OC // groups, Cg * kh * kw, OH * OW
        dy = np.ascontiguousarray(grad).reshape(N, OC, L)
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        dx = np.zeros_like(x) if need_x else None
        dw = np.zeros((groups, OCg, K), dtype=x.dtype) if need_w else None
        col = None if pointwise else np.empty((C * kh * kw, L), dtype=x.dtype)
        dcol = np.empty((C * kh * kw, L), dtype=x.dtype) if need_x else None
        for n in range(N):
            if need_w:
                if pointwise:
                    c = x[n].reshape(C, L)
                else:
                    _C.im2col(x[n], col, (kh, kw), s, p, d)
                    c = col
                for g in range(groups):
                    _C.gemm(dy[n, g * OCg:(g + 1) * OCg], c[g * K:(g + 1) * K], dw[g], trans_b=True, beta=1.0)
            if need_x:
                for g in range(groups):
                    _C.gemm(w2[g], dy[n, g * OCg:(g + 1) * OCg], dcol[g * K:(g + 1) * K], trans_a=True)
                if pointwise:
                    dx[n] = dcol.reshape(C, H, W)
                else:
                    _C.col2im(dcol, dx[n], (kh, kw), s, p, d)
        db = dy.sum(axis=(0, 2)) if has_bias and ctx.needs_input_grad[2] else None
        return dx, (dw.reshape(w_shape) if need_w else None), db, None, None, None, None

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
