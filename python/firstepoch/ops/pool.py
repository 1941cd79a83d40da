"""Pooling (NCHW) on the C++ pooling kernels, forward and backward, and the layers built from them.

max_pool2d:  y = max over each (dilated) window, padding counting as -inf; argmax keeps the flat index
             h*W + w (in the input plane) of each window's first maximum, and backward adds dy there.
avg_pool2d:  y = sum over each window / its divisor (PyTorch's count_include_pad and divisor_override
             rules); backward spreads dy / divisor over the window.
Both take PyTorch's ceil_mode (the window count rounded up; the last window starts inside the input
or its left padding and may overhang the padded input, where it is clipped).
max_unpool2d: the partial inverse of max_pool2d: each value written at its index in a zero plane
             (max_unpool1d: the same over (N, C, L, 1); max_unpool3d over (N, C, D*H, W) planes).
adaptive_avg_pool2d / adaptive_max_pool2d: PyTorch's windows [floor(i*H/OH), ceil((i+1)*H/OH)); on the
             kernels when the output divides the input (equal windows), else composites of recorded ops.
max_pool1d / avg_pool1d: the 2-D ops on (N, C, 1, L).
Every op takes unbatched input too ((C, H, W), or (C, L) for 1-D), as PyTorch; an input of another rank
is a ValueError (PyTorch: RuntimeError; README, "Porting from PyTorch").

`_C` entries and their NumPy twins in `firstepoch.reference.pool`, the same names and argument order:
`max_pool2d_forward`, `max_pool2d_backward`, `avg_pool2d_forward`, `avg_pool2d_backward`. The kernel
checks the window (sizes, padding at most half the kernel, an output of at least one element) with a
ValueError (PyTorch: RuntimeError); Python only works out the output shape to allocate.
"""
import numpy as np

from .. import _C
from ..autograd.function import Context, Function, constant_like, product_backward_flops
from .conv import Conv2dFn, conv_input_weight_grads, kernel_operand, pair, relu_mask_and_bias_grad
from .elementwise import _relu_mask_graph
from .linalg import _torch_name
from .shape import GetItemFn, GetItemGradFn, WhereFn


def _pool_args(x_shape, kernel_size, stride, padding, dilation, name):
    if len(x_shape) != 4:
        raise ValueError(f"{name}: input must be (N, C, H, W) or (C, H, W), got shape {x_shape}")
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else pair(stride, "stride")
    p, d = pair(padding, "padding"), pair(dilation, "dilation")
    return k, s, p, d


def pool_out_size(n, k, s, p, d, ceil_mode=False):
    """Outputs along one axis (PyTorch's pooling_output_shape; the kernel checks the result is >= 1)."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _out_shape(x_shape, k, s, p, d, ceil_mode):
    """The pooled shape, after torch's checks of F.max_pool2d / F.avg_pool2d's window, in its order and
    with its RuntimeError and words (the kernel's own checks of the same are ValueErrors, for _C callers)."""
    N, C, H, W = x_shape
    if min(s) < 1:
        raise RuntimeError("stride should not be zero" if 0 in s else
                           f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if min(p) < 0:
        raise RuntimeError(f"pad must be non-negative, got padding {p}")
    for pi, ki, di in zip(p, k, d):
        if ki >= 1 and di >= 1 and 2 * pi > di * (ki - 1) + 1:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                               f"kernel_size={ki} and dilation={di}")
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:  # torch 2.13 also holds a dilated window to half its kernel_size
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got padW = {p[1]}, "
                           f"padH = {p[0]}, kW = {k[1]}, kH = {k[0]}")
    if min(k) < 1:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if min(d) < 1:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} dilationW: {d[1]}")
    OH, OW = pool_out_size(H, k[0], s[0], p[0], d[0], ceil_mode), pool_out_size(W, k[1], s[1], p[1], d[1], ceil_mode)
    if OH < 1 or OW < 1:
        raise RuntimeError(f"Given input size: ({C}x{H}x{W}). Calculated output size: ({C}x{OH}x{OW}). Output size "
                           f"is too small (kernel_size {k}, stride {s}, padding {p}, dilation {d})")
    return N, C, OH, OW


class MaxPool2dFn(Function):
    """Called as MaxPool2dFn.apply(x, kernel_size, stride, padding, dilation, ceil_mode)."""
    kernel = "pool"
    capturable = True  # firstepoch.capture: kernels only (a strided operand's copy refuses)

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        k, s, p, d = _pool_args(x.shape, kernel_size, stride, padding, dilation, "max_pool2d")
        x = kernel_operand(x)
        y = np.empty(_out_shape(x.shape, k, s, p, d, ceil_mode), dtype=x.dtype)
        argmax = np.empty(y.shape, dtype=np.int64)
        _C.max_pool2d_forward(x, y, argmax, k, s, p, d, bool(ceil_mode))
        ctx.save_for_backward(argmax)
        ctx.args = (x.shape, k, s, p, d, bool(ceil_mode))
        return y

    @staticmethod
    def backward(ctx, grad):
        (argmax,) = ctx.saved_tensors
        shape, k, s, p, d, ceil_mode = ctx.args
        dx = np.empty(shape, dtype=grad.dtype)  # the kernel overwrites every element
        _C.max_pool2d_backward(kernel_operand(grad), argmax, dx, k, s, p, d, ceil_mode)
        return dx, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # backward is a scatter-add of dy at the argmax positions (constant almost everywhere)
        (argmax,) = ctx.saved_tensors
        shape = ctx.args[0]
        planes, hw = shape[0] * shape[1], shape[2] * shape[3]
        a = argmax.reshape(planes, -1)
        keep = (a >= 0).reshape(-1)
        to = (np.arange(planes)[:, None] * hw + a).reshape(-1)[keep]
        return _scatter_graph(grad, np.flatnonzero(keep), to, shape), None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6).astype(np.float64) * 0.01  # distinct: no ties
        return [((x, 2), {}), ((x, 3), {"stride": 2, "padding": 1}), ((x, (2, 3)), {"stride": 1, "dilation": (2, 1)}),
                ((x, 2, None, 0, 1, True), {}), ((x, (3, 2), (2, 3), 1, 1, True), {})]


class Conv2dReLUMaxPoolFn(Function):
    """max_pool2d(relu(conv2d(x, weight, bias, stride, padding, dilation, groups)), kernel_size, pool_stride,
    pool_padding, pool_dilation, ceil_mode) as one op: nn.Sequential's Conv2d, ReLU, MaxPool2d (LeNet's,
    AlexNet's and VGG's blocks). Forward is the convolution kernel with its ReLU epilogue, then the pool
    kernel. Backward needs only the pooled output and the argmax, not the convolution's output: a window's
    maximum is the ReLU's output where the gradient goes, so the ReLU's mask (pooled y > 0) and the bias
    sums are taken on the pooled gradient (a quarter of the elements at 2x2) before it is routed to the
    maxima and the convolution's backward runs. Values and dx, dW equal the three ops'; dbias is the same
    sum in another order."""
    kernel = "conv"
    capturable = True  # firstepoch.capture: the two ops' kernels only
    backward_flops = staticmethod(product_backward_flops)

    @staticmethod
    def flops(ctx, inputs, out):
        w = inputs[1]
        return 2 * ctx.conv_size * int(w.shape[1] * w.shape[2] * w.shape[3])

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, kernel_size=2, pool_stride=None,
                pool_padding=0, pool_dilation=1, ceil_mode=False):
        conv, pool = Context(), Context()
        y = Conv2dFn.forward(conv, x, weight, bias, stride, padding, dilation, groups, "relu")
        out = MaxPool2dFn.forward(pool, y, kernel_size, pool_stride, pool_padding, pool_dilation, ceil_mode)
        # Every array backward needs is saved here, so the engine frees them all after backward; the
        # convolution's output is not among them (the mask comes from the pooled output).
        ctx.save_for_backward(out, *conv.saved_tensors[:2], *pool.saved_tensors)
        ctx.geom, ctx.pool_args, ctx.conv_size = conv.geom, pool.args, y.size
        return out

    @staticmethod
    def _parts(ctx):
        """(pooled output, the convolution's Context, the pool's Context) for their backward functions."""
        out, x, weight, argmax = ctx.saved_tensors
        conv, pool = Context(), Context()
        conv.save_for_backward(x, weight, None)
        conv.geom, conv.needs_input_grad = ctx.geom, list(ctx.needs_input_grad[:3])
        pool.save_for_backward(argmax)
        pool.args = ctx.pool_args
        return out, conv, pool

    @staticmethod
    def backward(ctx, grad):
        out, conv, pool = Conv2dReLUMaxPoolFn._parts(ctx)
        dy, db = relu_mask_and_bias_grad(grad, out, ctx.geom[4] and ctx.needs_input_grad[2])
        dyc = MaxPool2dFn.backward(pool, dy)[0]
        return conv_input_weight_grads(conv, dyc) + (db,) + (None,) * 10

    @staticmethod
    def backward_graph(ctx, grad):
        out, conv, pool = Conv2dReLUMaxPoolFn._parts(ctx)
        g = _relu_mask_graph(grad, out)  # the ReLU's mask, on the pooled output
        g = MaxPool2dFn.backward_graph(pool, g)[0]
        conv.parents = ctx.parents[:3]
        return Conv2dFn.backward_graph(conv, g)[:3] + (None,) * 10

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 3, 7, 6))
        return [((x, rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4) + 0.3), {"padding": 1}),
                ((x, rng.standard_normal((5, 3, 2, 2)), None, 1, 0, 1, 1, 3, 2, 1, 1, True), {}),
                # 16 -> 17 channels, 3x3 (Winograd), a 2x2 pool with a dilation
                ((rng.standard_normal((1, 16, 6, 6)), rng.standard_normal((17, 16, 3, 3)), rng.standard_normal(17)),
                 {"padding": 1, "pool_dilation": 2})]


class MaxPool2dIndicesFn(MaxPool2dFn):
    """MaxPool2dFn that also hands out its argmax (return_indices): apply(x, kernel_size, stride,
    padding, dilation, ceil_mode, box) appends the argmax array to the list box. The same op (its
    backward and checks are MaxPool2dFn's). Capturable as MaxPool2dFn is, but a captured step that asks
    for the indices is refused where they become a Tensor (Tensor._wrap)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode, box):
        y = MaxPool2dFn.forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode)
        box.append(ctx.saved_tensors[0])
        return y

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6).astype(np.float64) * 0.01  # distinct: no ties
        return [((x, 3, 2, 1, 1, True, []), {})]


class AvgPool2dFn(Function):
    """Called as AvgPool2dFn.apply(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
    divisor_override). Average pooling is linear: its backward is AvgPool2dBackwardFn (the adjoint
    kernel), whose own backward is this op again."""
    kernel = "pool"

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        if divisor_override is not None and divisor_override == 0:  # torch's RuntimeError (the kernel's: ValueError)
            raise RuntimeError("divisor must be not zero (avg_pool2d: divisor_override=0)")
        k, s, p, _ = _pool_args(x.shape, kernel_size, stride, padding, 1, "avg_pool2d")
        x = np.ascontiguousarray(x)
        y = np.empty(_out_shape(x.shape, k, s, p, (1, 1), ceil_mode), dtype=x.dtype)
        opts = (bool(ceil_mode), bool(count_include_pad), divisor_override)
        _C.avg_pool2d_forward(x, y, k, s, p, *opts)
        ctx.args = (x.shape, k, s, p, *opts)
        return y

    @staticmethod
    def backward(ctx, grad):
        shape, k, s, p, *opts = ctx.args
        return (AvgPool2dBackwardFn.forward(Context(), grad, shape, k, s, p, *opts),) + (None,) * 6

    @staticmethod
    def backward_graph(ctx, grad):
        return (AvgPool2dBackwardFn.apply(grad, *ctx.args),) + (None,) * 6

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 3, 7, 6))
        return [((x, 2), {}), ((x, 3), {"stride": 2, "padding": 1}),
                ((x, 3, 2, 1, True, False), {}), ((x, (2, 3), (2, 2), (1, 1), True, True), {}),
                ((x, 2, 3, 1, True, True, 3), {})]


class AvgPool2dBackwardFn(Function):
    """dx of avg_pool2d (dy spread over the windows, each share dy / divisor), as an op of its own so
    that create_graph works: AvgPool2dBackwardFn.apply(dy, x_shape, kernel_size, stride, padding,
    ceil_mode, count_include_pad, divisor_override). Its backward is avg_pool2d (the adjoint)."""
    kernel = "pool"

    @staticmethod
    def forward(ctx, grad, x_shape, k, s, p, ceil_mode=False, count_include_pad=True, divisor_override=None):
        k, s, p, _ = _pool_args(x_shape, k, s, p, 1, "avg_pool2d_backward")
        dx = np.empty(x_shape, dtype=grad.dtype)  # the kernel overwrites every element
        opts = (bool(ceil_mode), bool(count_include_pad), divisor_override)
        _C.avg_pool2d_backward(np.ascontiguousarray(grad), dx, k, s, p, *opts)
        ctx.args = (k, s, p, *opts)
        return dx

    @staticmethod
    def backward(ctx, grad):
        k, s, p, *opts = ctx.args
        return (AvgPool2dFn.forward(Context(), grad, k, s, p, *opts),) + (None,) * 7

    @staticmethod
    def backward_graph(ctx, grad):
        return (AvgPool2dFn.apply(grad, *ctx.args),) + (None,) * 7

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((2, 3, 4, 3)), (2, 3, 7, 6), 3, 2, 1), {}),
                ((rng.standard_normal((2, 3, 4, 4)), (2, 3, 7, 6), 3, 2, 1, True, False), {}),
                ((rng.standard_normal((1, 2, 3, 3)), (1, 2, 5, 5), 2, 2, 0, True, True, 3), {})]


def _scatter_graph(grad, frm, to, shape):
    """dx (of `shape`) with grad's flat entries frm added at dx's flat entries to, as recorded ops
    (indexing, and its gradient op GetItemGradFn): the backward of a pooling on Tensors."""
    picked = grad.reshape(-1)[frm]
    return GetItemGradFn.apply(picked, (int(np.prod(shape)),), (to,)).reshape(shape)


class MaxUnpool2dFn(Function):
    """y (N, C, OH, OW) zeros with x's values written at their flat plane indices (indices (N, C, H, W)
    int64, as max_pool2d returns them); a repeated index keeps the last value written (PyTorch leaves
    that unspecified). Called as MaxUnpool2dFn.apply(x, indices, (OH, OW)). Linear in x: backward
    gathers dy at the indices."""

    @staticmethod
    def forward(ctx, x, indices, output_hw):
        indices = np.asarray(indices)
        if indices.dtype != np.int64:  # torch's words and class
            raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype} "
                                     "(max_unpool2d: indices as max_pool2d returns them)")
        if indices.shape != x.shape:
            raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(x.shape)}) "
                               f"but got indices tensor with shape: {list(indices.shape)}")
        N, C, H, W = x.shape
        OH, OW = output_hw
        planes, L = N * C, OH * OW
        idx = indices.reshape(planes, H * W)  # not -1: an empty batch has no size to infer
        bad = (idx < 0) | (idx >= L)
        if bad.any():
            raise RuntimeError(f"max_unpool2d: Found an invalid max index: {idx[bad][0]} (output volumes are of "
                               f"size {OH}x{OW})")
        flat = (np.arange(planes)[:, None] * L + idx).reshape(-1)
        y = np.zeros(planes * L, dtype=x.dtype)
        y[flat] = x.reshape(-1)
        ctx.flat, ctx.in_shape = flat, x.shape
        return y.reshape(N, C, OH, OW)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(-1)[ctx.flat].reshape(ctx.in_shape), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        return GetItemFn.apply(grad.reshape(-1), (ctx.flat,)).reshape(ctx.in_shape), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 3, 3, 2))
        idx = np.stack([rng.permutation(7 * 5)[:6] for _ in range(6)]).reshape(2, 3, 3, 2)  # distinct per plane
        return [((x, idx, (7, 5)), {})]


def _batched(input, name, spatial=2, nonempty=False):
    """(input as a batch, whether it was unbatched): (C, H, W) becomes (1, C, H, W) (spatial=1: (C, L)).
    nonempty (max/avg pooling): torch's RuntimeError when a dim other than the batch is 0 (C included)."""
    if nonempty and input.ndim in (spatial + 1, spatial + 2) and 0 in input.shape[input.ndim - spatial - 1:]:
        words = {2: "Expected 3D or 4D (batch mode) tensor", 1: "Expected 2D or 3D (batch mode) tensor"}[spatial]
        raise RuntimeError(f"{words} with optional 0 dim batch size for input, but got: {list(input.shape)} ({name}: "
                           f"only the batch dim may be 0)")
    if input.ndim == spatial + 1:
        return input.reshape((1,) + tuple(input.shape)), True
    if input.ndim != spatial + 2:  # torch: RuntimeError (avg_pool2d of a (H, W) input: IndexError), its words first
        want = "(N, C, H, W) or (C, H, W)" if spatial == 2 else "(N, C, L) or (C, L)"
        words = {2: "Expected 3D or 4D (batch mode) tensor", 1: "Expected 2D or 3D (batch mode) tensor"}[spatial]
        error = IndexError if name == "avg_pool2d" and input.ndim < 3 else RuntimeError
        raise error(f"{words} with optional 0 dim batch size for input, but got: {list(input.shape)} ({name}: input "
                    f"must be {want})")
    return input, False


def _unbatch(t, unbatched):
    return t.reshape(tuple(t.shape[1:])) if unbatched else t


def _index_tensor(argmax, like):
    return type(like)._wrap(argmax, False)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """As torch.nn.functional.max_pool2d: (N, C, H, W) or (C, H, W); with return_indices, also the flat
    index h*W + w (int64) of each window's maximum (the first in raster order on ties). A window that
    sees only padding gives -inf and index -1."""
    x, unbatched = _batched(input, "max_pool2d", nonempty=True)
    out = _max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return tuple(_unbatch(t, unbatched) for t in out) if return_indices else _unbatch(out, unbatched)


def _max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """max_pool2d of a batch (N, C, H, W), C may be 0 (adaptive_max_pool2d of an unbatched (0, H, W))."""
    if not return_indices:
        return MaxPool2dFn.apply(x, kernel_size, stride, padding, dilation, bool(ceil_mode))
    box = []
    y = MaxPool2dIndicesFn.apply(x, kernel_size, stride, padding, dilation, bool(ceil_mode), box)
    return y, _index_tensor(box[0], y)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """As torch.nn.functional.avg_pool2d: (N, C, H, W) or (C, H, W), PyTorch's divisor rules."""
    x, unbatched = _batched(input, "avg_pool2d", nonempty=True)
    return _unbatch(AvgPool2dFn.apply(x, kernel_size, stride, padding, bool(ceil_mode), bool(count_include_pad),
                                      divisor_override), unbatched)


def _single(v, name):
    t = (v,) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 1 or not isinstance(t[0], (int, np.integer)):
        raise ValueError(f"{name} must be an int or a tuple of one int, got {v!r}")
    return int(t[0])


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """As torch.nn.functional.max_pool1d: (N, C, L) or (C, L), max_pool2d over (N, C, 1, L); indices
    are positions along L."""
    x, unbatched = _batched(input, "max_pool1d", spatial=1, nonempty=True)
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _single(stride, "stride")
    out = max_pool2d(x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]), (1, k), (1, s),
                     (0, _single(padding, "padding")), (1, _single(dilation, "dilation")), ceil_mode, return_indices)
    drop = (lambda t: t.reshape(tuple(t.shape[1:2]) + tuple(t.shape[3:]))) if unbatched else \
        (lambda t: t.reshape(t.shape[0], t.shape[1], t.shape[3]))
    return (drop(out[0]), drop(out[1])) if return_indices else drop(out)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """As torch.nn.functional.avg_pool1d: (N, C, L) or (C, L), avg_pool2d over (N, C, 1, L)."""
    x, unbatched = _batched(input, "avg_pool1d", spatial=1, nonempty=True)
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _single(stride, "stride")
    y = avg_pool2d(x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]), (1, k), (1, s), (0, _single(padding, "padding")),
                   ceil_mode, count_include_pad)
    return y.reshape(tuple(y.shape[1:2]) + tuple(y.shape[3:])) if unbatched else y.reshape(y.shape[0], y.shape[1], y.shape[3])


def unpool_output_size(in_sizes, k, s, p, output_size):
    """max_unpool's spatial output sizes, one per entry of k: (n - 1) * stride - 2 * padding + kernel_size,
    or output_size (len(k) entries, or len(k) + 2 with N and C first) when each lies strictly within one
    stride of that (PyTorch's rule and ValueError)."""
    dims = len(k)
    default = [(n - 1) * s_ - 2 * p_ + k_ for n, k_, s_, p_ in zip(in_sizes, k, s, p)]
    if output_size is None:
        out = default
    else:
        out = list(output_size)
        if len(out) == dims + 2:
            out = out[2:]
        if len(out) != dims:
            raise ValueError(f"output_size should be a sequence containing {dims} or {dims + 2} elements, but it has "
                             f"a length of '{len(out)}'")
        for d in range(dims):
            lo, hi = default[d] - s[d], default[d] + s[d]
            if not lo < out[d] < hi:
                raise ValueError(f'invalid output_size "{tuple(out)}" (dim {d} must be between {lo} and {hi})')
    for d in range(dims):
        if out[d] < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{d}]={out[d]}")
    return tuple(int(n) for n in out)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """As torch.nn.functional.max_unpool2d: (N, C, H, W) or (C, H, W) values written at their indices
    (from max_pool2d(return_indices=True)) in zero planes of output_size; differentiable in input.
    As torch: floating input only (NotImplementedError), and no empty dim but the batch (or, unbatched,
    the channels) (RuntimeError)."""
    x, unbatched = _batched(input, "max_unpool2d")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"max_unpool2d\" not implemented for '{_torch_name(input._data.dtype)}'")
    for d in range(1, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(f"max_unpooling2d_forward_out_cpu(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but got {list(input.shape)} with dimension {d} being empty.")
    idx = indices._data if hasattr(indices, "_data") else np.asarray(indices)
    if unbatched:
        idx = idx.reshape((1,) + idx.shape)
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None else pair(stride, "stride")
    hw = unpool_output_size(tuple(x.shape[2:]), k, s, pair(padding, "padding"), output_size)
    return _unbatch(MaxUnpool2dFn.apply(x, idx, hw), unbatched)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """As torch.nn.functional.max_unpool1d: (N, C, L) or (C, L) values written at their indices (positions
    along L, from max_pool1d(return_indices=True)) in zero rows of output_size; max_unpool2d over
    (N, C, L, 1), as torch, so its checks and errors are max_unpool2d's."""
    _batched(input, "max_unpool1d", spatial=1)  # the rank check, in 1-D words
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None else _single(stride, "stride")
    p = _single(padding, "padding")
    (length,) = unpool_output_size(tuple(input.shape[-1:]), (k,), (s,), (p,), output_size)
    idx = indices._data if hasattr(indices, "_data") else np.asarray(indices)
    y = max_unpool2d(input.reshape(tuple(input.shape) + (1,)), idx.reshape(idx.shape + (1,)), (k, 1), (s, 1),
                     (p, 0), (length, 1))
    return y.reshape(tuple(y.shape[:-1]))


def _adaptive_size(output_size, sizes, name):
    """The output sizes (one per entry of sizes: (H, W) or (D, H, W)) from an int or that many entries (None
    entries keep the input's size), torch's checks and classes."""
    n = len(sizes)
    t = (output_size,) * n if output_size is None or isinstance(output_size, (int, np.integer)) \
        else tuple(output_size)
    if len(t) != n:
        raise RuntimeError(f"{name}: output_size must be {n}, got {output_size!r}")
    for pos, o in enumerate(t):
        if o is not None and (isinstance(o, bool) or not isinstance(o, (int, np.integer))):
            raise TypeError(f"{name}(): argument 'output_size' (position 2) must be tuple of ints, but found element "
                            f"of type {type(o).__name__} at pos {pos}")
    out = tuple(int(size if o is None else o) for o, size in zip(t, sizes))
    if min(out) < 0:
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 but received "
                           "{" + ", ".join(map(str, out)) + "}")
    return out


def check_adaptive_nonempty(input, first, name):
    """torch's rule: dims first.. of the input (the spatial ones; the channels too for max pooling of a
    batch) must not be empty, whatever the output size."""
    for d in range(first, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {list(input.shape)} with dimension {d} being empty")


def _adaptive_windows(n, out):
    """PyTorch's adaptive windows along one axis: starts floor(i*n/out), ends ceil((i+1)*n/out)."""
    i = np.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def adaptive_avg_pool2d(input, output_size=1):
    """As torch.nn.functional.adaptive_avg_pool2d, any output size (None entries keep the input's):
    global pooling is a mean, equal windows are avg_pool2d, other sizes y = A_h @ x @ A_w^T with
    A (out, in) holding 1/size on each window (recorded matmuls; the result's rounding differs from
    PyTorch's sum / (rows * columns) in the last bits). output_size defaults to 1, global pooling (torch
    requires it; README, "Porting from PyTorch")."""
    x, unbatched = _batched(input, "adaptive_avg_pool2d")
    H, W = x.shape[2:]
    oh, ow = _adaptive_size(output_size, (H, W), "adaptive_avg_pool2d")
    if (oh, ow) == (1, 1):  # torch's shortcut, taken before its emptiness check: an empty plane's mean is NaN
        return _unbatch(x.mean(dim=(2, 3), keepdim=True), unbatched)
    check_adaptive_nonempty(input, input.ndim - 2, "adaptive_avg_pool2d")
    if oh * ow == 0:  # nothing to average: an empty slice of x, reshaped
        y = x[:, :, :0, :0].reshape(x.shape[0], x.shape[1], oh, ow)
    elif H % oh == 0 and W % ow == 0:
        y = AvgPool2dFn.apply(x, (H // oh, W // ow), None, 0, False, True, None)  # (C may be 0 here)
    else:
        mats = []
        for n, o in ((H, oh), (W, ow)):
            a, b = _adaptive_windows(n, o)
            cols = np.arange(n)
            m = ((cols >= a[:, None]) & (cols < b[:, None])) / (b - a)[:, None]
            mats.append(constant_like(m.astype(x.dtype), x))
        # columns, then rows, each one 2-D product
        N, C = x.shape[:2]
        t = (x.reshape(N * C * H, W) @ mats[1].transpose(0, 1)).reshape(N * C, H, ow).transpose(1, 2)
        y = (t.reshape(N * C * ow, H) @ mats[0].transpose(0, 1)).reshape(N, C, ow, oh).transpose(2, 3)
    return _unbatch(y, unbatched)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """As torch.nn.functional.adaptive_max_pool2d, any output size: equal windows are max_pool2d; other
    sizes gather each window (padded to the largest by repeating its last row/column, which changes
    neither the maximum nor the first one's index) and take its first maximum in raster order; the
    values are recorded as indexing of x (gradient to the maximum)."""
    x, unbatched = _batched(input, "adaptive_max_pool2d")
    N, C, H, W = x.shape
    oh, ow = _adaptive_size(output_size, (H, W), "adaptive_max_pool2d")
    check_adaptive_nonempty(input, 1, "adaptive_max_pool2d")
    if oh * ow == 0:  # no window: an empty slice of x, reshaped, and empty int64 indices
        y = x[:, :, :0, :0].reshape(N, C, oh, ow)
        if not return_indices:
            return _unbatch(y, unbatched)
        return _unbatch(y, unbatched), _unbatch(_index_tensor(np.zeros((N, C, oh, ow), np.int64), y), unbatched)
    if H % oh == 0 and W % ow == 0:
        out = _max_pool2d(x, (H // oh, W // ow), return_indices=return_indices)
        return tuple(_unbatch(t, unbatched) for t in out) if return_indices else _unbatch(out, unbatched)
    idx = []
    for n, o in ((H, oh), (W, ow)):
        a, b = _adaptive_windows(n, o)
        k = int((b - a).max())
        idx.append(np.minimum(a[:, None] + np.arange(k)[None, :], b[:, None] - 1))  # (o, k), last repeated
    rows, cols = idx
    flat = (rows[:, None, :, None] * W + cols[None, :, None, :]).reshape(oh, ow, -1)  # (oh, ow, kh*kw)
    data = x._data.reshape(N * C, H * W)
    first = np.argmax(data[:, flat], axis=-1)
    chosen = np.take_along_axis(flat[None], first[..., None], -1)[..., 0]
    glob = (np.arange(N * C)[:, None, None] * (H * W) + chosen).reshape(-1)
    y = x.reshape(-1)[glob].reshape(N, C, oh, ow)
    if not return_indices:
        return _unbatch(y, unbatched)
    return _unbatch(y, unbatched), _unbatch(_index_tensor(chosen.reshape(N, C, oh, ow).astype(np.int64), y), unbatched)


# ---- 3-D pooling (N, C, D, H, W), NumPy only ----------------------------------------------------------------
# No kernel: each op walks the kd*kh*kw window offsets, and at each offset reads one strided slice of the
# padded input covering every window at once (the sliding-window view, one offset at a time), so the
# Python loop is over the window, never over the elements. Indices are flat over the input's D*H*W.

def triple(v, name, fn, omitted=False):
    """torch's _triple with max_pool3d's / avg_pool3d's check: an int or 1 or 3 ints (RuntimeError)."""
    t = (v,) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) == 1:
        t = t * 3
    if len(t) != 3 or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in t):
        raise RuntimeError(f"{fn}: {name} must either be {'omitted, ' if omitted else ''}a single int, or a tuple of "
                           f"three ints (got {v!r})")
    return tuple(int(i) for i in t)


def _pool3d_args(kernel_size, stride, padding, dilation, fn):
    k = triple(kernel_size, "kernel_size", fn)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else triple(stride, "stride", fn, True)
    return k, s, triple(padding, "padding", fn), triple(dilation, "dilation", fn)


def _pool3d_out(x_shape, k, s, p, d, ceil_mode, fn):
    """The pooled (OD, OH, OW) of a batch (N, C, D, H, W), after torch's checks in its order and words."""
    if 0 in s:
        raise RuntimeError("stride should not be zero")
    if min(p) < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    for pi, ki, di in zip(p, k, d):
        if 2 * pi > di * (ki - 1) + 1:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                               f"kernel_size={ki} and dilation={di}")
    if min(k) < 1:
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {k[0]} kH: {k[1]} kW: {k[2]}")
    if min(s) < 1:
        raise RuntimeError(f"stride should be greater than zero, but got dT: {s[0]} dH: {s[1]} dW: {s[2]}")
    if min(d) < 1:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationT: {d[0]} dilationH: {d[1]} "
                           f"dilationW: {d[2]}")
    C, D, H, W = x_shape[1:]
    for i, n in enumerate(x_shape[1:]):
        if n == 0:
            raise RuntimeError(f"{fn}(): Expected input's non-batch dimensions to have positive length, but input has "
                               f"a shape of {list(x_shape)} and non-batch dimension {i} has length zero!")
    if any(2 * pi > ki for pi, ki in zip(p, k)):
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got kT: {k[0]} kW: {k[2]} "
                           f"kH: {k[1]} padT: {p[0]} padW: {p[2]} padH: {p[1]}")
    if fn == "avg_pool3d" and (D < k[0] or H < k[1] or W < k[2]):  # torch's check ignores the padding
        raise RuntimeError(f"input image (T: {D} H: {H} W: {W}) smaller than kernel size (kT: {k[0]} kH: {k[1]} "
                           f"kW: {k[2]})")
    out = tuple(pool_out_size(n, ki, si, pi, di, ceil_mode) for n, ki, si, pi, di in zip((D, H, W), k, s, p, d))
    if min(out) < 1:
        raise RuntimeError(f"Given input size: ({C}x{D}x{H}x{W}). Calculated output size: ({C}x{out[0]}x{out[1]}x"
                           f"{out[2]}). Output size is too small")
    return out


def _window_slices(out, s, d, k):
    """For each window offset (a, b, c): the offset and the slices of the padded input it reads in every window."""
    for a in np.ndindex(*k):
        yield a, tuple(slice(ai * di, ai * di + si * (o - 1) + 1, si) for ai, di, si, o in zip(a, d, s, out))


def _pad3d(x, p, out, s, d, k, value):
    """x padded by p before and, after, by p or as far as the last (ceil_mode) window reaches."""
    after = [max((o - 1) * si + di * (ki - 1) + 1 - n - pi, 0)
             for o, si, di, ki, n, pi in zip(out, s, d, k, x.shape[2:], p)]
    return np.pad(x, ((0, 0), (0, 0)) + tuple(zip(p, after)), constant_values=value)


def max_pool3d_forward(x, k, s, p, d, out):
    """(y, argmax) of a batch (N, C, D, H, W): torch's scan of each window's in-bound positions in raster
    order, taking a value greater than the best so far or NaN (so the first maximum, or the last NaN);
    an all -inf window keeps its first in-bound position. A window with no in-bound position: low, -1."""
    D, H, W = x.shape[2:]
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = _pad3d(x, p, out, s, d, k, low)
    valid = _pad3d(np.ones((1, 1, D, H, W), bool), p, out, s, d, k, False)[0, 0]
    flat = _pad3d(np.arange(D * H * W).reshape(1, 1, D, H, W), p, out, s, d, k, -1)[0, 0]
    y = np.full(x.shape[:2] + out, low, dtype=x.dtype)
    argmax = np.full(y.shape, -1, dtype=np.int64)
    for _, sl in _window_slices(out, s, d, k):
        v = xp[(Ellipsis,) + sl]
        take = (v > y) | (argmax < 0)
        if x.dtype.kind == "f":
            take |= np.isnan(v)
        take &= valid[sl]
        np.copyto(y, v, where=take)
        np.copyto(argmax, np.broadcast_to(flat[sl], y.shape), where=take)
    return y, argmax


def _scatter_plan(argmax, shape):
    """(output positions with an argmax, the flat positions of x they go to) over the whole batch."""
    planes, L = shape[0] * shape[1], int(np.prod(shape[2:]))
    a = argmax.reshape(planes, int(np.prod(argmax.shape[2:])))
    keep = (a >= 0).reshape(-1)
    return np.flatnonzero(keep), (np.arange(planes)[:, None] * L + a).reshape(-1)[keep]


class MaxPool3dFn(Function):
    """max_pool3d of a batch (N, C, D, H, W): MaxPool3dFn.apply(x, kernel_size, stride, padding, dilation,
    ceil_mode). Backward adds dy at each window's argmax (max_pool3d_forward's rule)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        k, s, p, d = _pool3d_args(kernel_size, stride, padding, dilation, "max_pool3d")
        out = _pool3d_out(x.shape, k, s, p, d, ceil_mode, "max_pool3d_with_indices_out_cpu_template")
        y, argmax = max_pool3d_forward(x, k, s, p, d, out)
        ctx.save_for_backward(argmax)
        ctx.x_shape = x.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        (argmax,) = ctx.saved_tensors
        frm, to = _scatter_plan(argmax, ctx.x_shape)
        dx = np.bincount(to, weights=grad.reshape(-1)[frm], minlength=int(np.prod(ctx.x_shape)))
        return dx.astype(grad.dtype).reshape(ctx.x_shape), None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        frm, to = _scatter_plan(ctx.saved_tensors[0], ctx.x_shape)
        return _scatter_graph(grad, frm, to, ctx.x_shape), None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(2 * 2 * 5 * 4 * 4).reshape(2, 2, 5, 4, 4).astype(np.float64) * 0.01  # distinct: no ties
        return [((x, 2), {}), ((x, 3, 2, 1), {}), ((x, (2, 3, 2), (1, 2, 1), 0, (2, 1, 1)), {}),
                ((x, 2, None, 1, 1, True), {})]


class MaxPool3dIndicesFn(MaxPool3dFn):
    """MaxPool3dFn that also hands out its argmax (return_indices), appended to the list box:
    apply(x, kernel_size, stride, padding, dilation, ceil_mode, box)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode, box):
        y = MaxPool3dFn.forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode)
        box.append(ctx.saved_tensors[0])
        return y

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(2 * 2 * 5 * 4 * 4).reshape(2, 2, 5, 4, 4).astype(np.float64) * 0.01
        return [((x, 3, 2, 1, 1, True, []), {})]


def _avg_divisors(shape, k, s, p, out, ceil_mode, count_include_pad, divisor_override):
    """(OD, OH, OW) divisors, torch's rule: the window clipped to the padded input (count_include_pad),
    or to the input, or divisor_override."""
    if divisor_override is not None:
        return np.full(out, divisor_override, dtype=np.int64)
    sizes = []
    for n, ki, si, pi, o in zip(shape, k, s, p, out):
        start = np.arange(o) * si - pi
        end = np.minimum(start + ki, n + pi)
        sizes.append(end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0))
    return sizes[0][:, None, None] * sizes[1][None, :, None] * sizes[2][None, None, :]


def _avg_geometry(x_shape, kernel_size, stride, padding, ceil_mode, divisor_override):
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    k, s, p, d = _pool3d_args(kernel_size, stride, padding, 1, "avg_pool3d")
    return k, s, p, d, _pool3d_out(x_shape, k, s, p, d, ceil_mode, "avg_pool3d")


def avg_pool3d_forward(x, k, s, p, out, ceil_mode, count_include_pad, divisor_override):
    """Window sums (in float64, or int64 for integer input, as torch's accumulator) over torch's divisors;
    integer input is divided rounding toward zero, as torch."""
    d = (1, 1, 1)
    xp = _pad3d(x, p, out, s, d, k, 0)
    acc = np.zeros(x.shape[:2] + out, dtype=np.float64 if x.dtype.kind == "f" else np.int64)
    for _, sl in _window_slices(out, s, d, k):
        acc += xp[(Ellipsis,) + sl]
    div = _avg_divisors(x.shape[2:], k, s, p, out, ceil_mode, count_include_pad, divisor_override)
    if x.dtype.kind != "f":
        return (np.sign(acc) * (np.abs(acc) // np.abs(div)) * np.sign(div)).astype(x.dtype)
    return (acc / div).astype(x.dtype)


def avg_pool3d_adjoint(grad, x_shape, k, s, p, out, ceil_mode, count_include_pad, divisor_override):
    """dx: each dy / divisor added into the in-bound positions of its window."""
    d = (1, 1, 1)
    g = grad / _avg_divisors(x_shape[2:], k, s, p, out, ceil_mode, count_include_pad, divisor_override)
    dxp = _pad3d(np.zeros(x_shape, np.float64), p, out, s, d, k, 0)
    for _, sl in _window_slices(out, s, d, k):
        dxp[(Ellipsis,) + sl] += g
    D, H, W = x_shape[2:]
    return dxp[:, :, p[0]:p[0] + D, p[1]:p[1] + H, p[2]:p[2] + W].astype(grad.dtype)


class AvgPool3dFn(Function):
    """avg_pool3d of a batch: AvgPool3dFn.apply(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
    divisor_override). Linear: its backward is AvgPool3dBackwardFn (the adjoint), whose backward is this op."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        k, s, p, _, out = _avg_geometry(x.shape, kernel_size, stride, padding, ceil_mode, divisor_override)
        ctx.args = (x.shape, k, s, p, bool(ceil_mode), bool(count_include_pad), divisor_override)
        return avg_pool3d_forward(x, k, s, p, out, *ctx.args[4:])

    @staticmethod
    def backward(ctx, grad):
        return (AvgPool3dBackwardFn.forward(Context(), grad, *ctx.args),) + (None,) * 6

    @staticmethod
    def backward_graph(ctx, grad):
        return (AvgPool3dBackwardFn.apply(grad, *ctx.args),) + (None,) * 6

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 2, 5, 4, 4))
        return [((x, 2), {}), ((x, 3, 2, 1), {}), ((x, 3, 2, 1, True, False), {}),
                ((x, (2, 3, 2), (2, 1, 2), (1, 1, 0), True, True), {}), ((x, 2, 3, 1, True, True, 3), {})]


class AvgPool3dBackwardFn(Function):
    """dx of avg_pool3d as an op (create_graph): apply(dy, x_shape, kernel_size, stride, padding, ceil_mode,
    count_include_pad, divisor_override). Its backward is avg_pool3d (the adjoint)."""

    @staticmethod
    def forward(ctx, grad, x_shape, k, s, p, ceil_mode=False, count_include_pad=True, divisor_override=None):
        k, s, p, _, out = _avg_geometry(x_shape, k, s, p, ceil_mode, divisor_override)
        if grad.shape != tuple(x_shape[:2]) + out:
            raise ValueError(f"avg_pool3d_backward: grad has shape {grad.shape}, the pooling of {tuple(x_shape)} "
                             f"gives {tuple(x_shape[:2]) + out}")
        ctx.args = (k, s, p, bool(ceil_mode), bool(count_include_pad), divisor_override)
        return avg_pool3d_adjoint(grad, tuple(x_shape), k, s, p, out, *ctx.args[3:])

    @staticmethod
    def backward(ctx, grad):
        return (AvgPool3dFn.forward(Context(), grad, *ctx.args),) + (None,) * 7

    @staticmethod
    def backward_graph(ctx, grad):
        return (AvgPool3dFn.apply(grad, *ctx.args),) + (None,) * 7

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((2, 2, 3, 2, 2)), (2, 2, 5, 4, 4), 3, 2, 1), {}),
                ((rng.standard_normal((1, 2, 3, 4, 2)), (1, 2, 5, 4, 4), (2, 3, 2), (2, 1, 2), (1, 1, 0), True, False),
                 {}),
                ((rng.standard_normal((1, 2, 2, 2, 2)), (1, 2, 5, 4, 4), 2, 3, 1, True, True, 3), {})]


def _batched3d(input, name):
    """(input as (N, C, D, H, W), whether it was an unbatched (C, D, H, W)); another rank: torch's RuntimeError."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"non-empty 4D or 5D (batch mode) tensor expected for input ({name}: input must be "
                           f"(N, C, D, H, W) or (C, D, H, W), got {list(input.shape)})")
    if input._data.dtype.kind not in "fiu":
        raise NotImplementedError(f"\"{name}\" not implemented for '{_torch_name(input._data.dtype)}'")
    return (input.unsqueeze(0), True) if input.ndim == 4 else (input, False)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """As torch.nn.functional.max_pool3d: (N, C, D, H, W) or (C, D, H, W), floating or integer; with
    return_indices, also the flat index (d*H + h)*W + w (int64) of each window's maximum (the first in
    raster order; the last NaN when the window holds NaN, as torch)."""
    x, unbatched = _batched3d(input, "max_pool3d")
    if not return_indices:
        return _unbatch(MaxPool3dFn.apply(x, kernel_size, stride, padding, dilation, bool(ceil_mode)), unbatched)
    box = []
    y = MaxPool3dIndicesFn.apply(x, kernel_size, stride, padding, dilation, bool(ceil_mode), box)
    return _unbatch(y, unbatched), _unbatch(_index_tensor(box[0], y), unbatched)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """As torch.nn.functional.avg_pool3d: (N, C, D, H, W) or (C, D, H, W), torch's divisor rules; integer
    input gives integer averages rounded toward zero, as torch."""
    x, unbatched = _batched3d(input, "avg_pool3d")
    return _unbatch(AvgPool3dFn.apply(x, kernel_size, stride, padding, bool(ceil_mode), bool(count_include_pad),
                                      divisor_override), unbatched)


def _adaptive3d_input(input, name):
    if input.ndim not in (4, 5):
        raise RuntimeError(f"{name}(): Expected 4D or 5D tensor, but got {list(input.shape)}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_torch_name(input._data.dtype)}'")
    return (input.unsqueeze(0), True) if input.ndim == 4 else (input, False)


def adaptive_avg_pool3d(input, output_size):
    """As torch.nn.functional.adaptive_avg_pool3d, any output size (None entries keep the input's): torch's
    windows [floor(i*n/o), ceil((i+1)*n/o)) per axis, each window's sum (recorded: a gather of the window,
    padded by repeating its last position, and a masked sum, so a NaN or inf reaches only the windows that
    hold it, as torch's; a product with a 0/1 matrix would spread it as NaN * 0) over its size. Output 1 is
    the mean (torch's shortcut, taken before its emptiness check)."""
    x, unbatched = _adaptive3d_input(input, "adaptive_avg_pool3d")
    dhw = tuple(x.shape[2:])
    out = _adaptive_size(output_size, dhw, "adaptive_avg_pool3d")
    if out == (1, 1, 1):
        return _unbatch(x.mean(dim=(2, 3, 4), keepdim=True), unbatched)
    check_adaptive_nonempty(input, 1, "adaptive_avg_pool3d")
    if 0 in out:
        return _unbatch(x[:, :, :0, :0, :0].reshape(tuple(x.shape[:2]) + out), unbatched)
    y, sizes = x, []
    for axis, (n, o) in enumerate(zip(dhw, out), start=2):
        a, b = _adaptive_windows(n, o)
        offsets = np.arange(int((b - a).max()))
        window = np.minimum(a[:, None] + offsets, b[:, None] - 1)  # (o, k) positions along the axis
        inside = offsets < (b - a)[:, None]  # (o, k): False on the repeated padding
        g = y.movedim(axis, -1)[..., window]  # (..., o, k)
        zero = constant_like(np.zeros((), x._data.dtype), x)
        y = WhereFn.apply(inside, g, zero).sum(-1).movedim(-1, axis)
        sizes.append(b - a)
    count = (sizes[0][:, None, None] * sizes[1][None, :, None] * sizes[2][None, None, :]).astype(x._data.dtype)
    return _unbatch(y / constant_like(count, x), unbatched)


def _first_max_last_nan(values):
    """Along the last axis: torch's scan (a greater value or a NaN replaces the best), so the first maximum,
    or the last NaN where there is one."""
    first = np.argmax(values, axis=-1)
    nan = np.isnan(values)
    last_nan = values.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    return np.where(nan.any(axis=-1), last_nan, first)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """As torch.nn.functional.adaptive_max_pool3d, any output size: each window gathered (padded to the
    largest by repeating its last position, which changes neither the maximum nor torch's index), its
    first maximum (or last NaN) taken; the values are recorded as indexing of x (gradient to the maximum)."""
    x, unbatched = _adaptive3d_input(input, "adaptive_max_pool3d")
    N, C, D, H, W = x.shape
    out = _adaptive_size(output_size, (D, H, W), "adaptive_max_pool3d")
    check_adaptive_nonempty(input, 1, "adaptive_max_pool3d")
    if 0 in out:
        y = x[:, :, :0, :0, :0].reshape((N, C) + out)
        idx = np.zeros((N, C) + out, np.int64)
    else:
        axes = []
        for n, o in zip((D, H, W), out):
            a, b = _adaptive_windows(n, o)
            k = int((b - a).max())
            axes.append(np.minimum(a[:, None] + np.arange(k)[None, :], b[:, None] - 1))  # (o, k)
        dd, hh, ww = axes
        flat = ((dd[:, None, None, :, None, None] * H + hh[None, :, None, None, :, None]) * W
                + ww[None, None, :, None, None, :]).reshape(out + (-1,))  # (OD, OH, OW, kd*kh*kw)
        data = x._data.reshape(N * C, D * H * W)
        chosen = np.take_along_axis(flat[None], _first_max_last_nan(data[:, flat])[..., None], -1)[..., 0]
        idx = chosen.reshape((N, C) + out).astype(np.int64)
        glob = (np.arange(N * C)[:, None, None, None] * (D * H * W) + chosen).reshape(-1)
        y = x.reshape(-1)[glob].reshape((N, C) + out)
    if not return_indices:
        return _unbatch(y, unbatched)
    return _unbatch(y, unbatched), _unbatch(_index_tensor(idx, y), unbatched)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """As torch.nn.functional.max_unpool3d: (N, C, D, H, W) or (C, D, H, W) values written at their indices
    (flat over the output's D*H*W, as max_pool3d(return_indices=True) gives them) in zero volumes of
    output_size; differentiable in input. MaxUnpool2dFn over (N, C, D*H, W) planes of (OD*OH, OW), whose
    flat index is the same. As torch: floating input only (NotImplementedError); no empty dim but the
    first; int64 indices of the input's shape, each within the output volume (RuntimeError)."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"Input to max_unpooling3d should be a 4d or 5d Tensor, but got a tensor with "
                           f"{input.ndim} dimensions.")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"max_unpool3d\" not implemented for '{_torch_name(input._data.dtype)}'")
    for d in range(1, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(f"max_unpooling3d_forward_out_cpu(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but got {list(input.shape)} with dimension {d} being empty.")
    idx = indices._data if hasattr(indices, "_data") else np.asarray(indices)
    if idx.dtype != np.int64:
        raise RuntimeError(f"elements in indices should be type int64 (max_unpool3d: got {idx.dtype})")
    if idx.shape != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(idx.shape)}")
    k = triple(kernel_size, "kernel_size", "max_unpool3d")
    s = k if stride is None else triple(stride, "stride", "max_unpool3d")
    od, oh, ow = unpool_output_size(tuple(input.shape[-3:]), k, s, triple(padding, "padding", "max_unpool3d"),
                                    output_size)
    bad = (idx < 0) | (idx >= od * oh * ow)
    if bad.any():
        raise RuntimeError(f"Found an invalid max index: {idx[bad][0]} (output volumes are of size {od}x{oh}x{ow})")
    x, unbatched = (input.unsqueeze(0), True) if input.ndim == 4 else (input, False)
    N, C, D, H, W = x.shape
    y = MaxUnpool2dFn.apply(x.reshape(N, C, D * H, W), idx.reshape(N, C, D * H, W), (od * oh, ow))
    return _unbatch(y.reshape(N, C, od, oh, ow), unbatched)
