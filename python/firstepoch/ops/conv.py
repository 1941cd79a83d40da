"""2-D convolution (NCHW) on the C++ kernels, forward and backward.

The kernel picks one of three paths by shape alone (`_C.conv_algorithm` names it): a direct convolution
for few channels (up to 8 in, or up to 32 in and out: no column matrix), Winograd F(2x2, 3x3) for other
3x3 stride-1 layers with 16 or more channels each side (float32 rounding then differs from a direct
sum by about 3e-7 of the output's scale, and an Inf input can give NaN where a direct sum gives Inf),
and otherwise im2col + GEMM, the learner's recipe:

forward, per image n and group g:   col = im2col(x[n]);  y[n, g] = W[g] @ col[g]  (+ bias)
backward:  dW[g] = sum_n dy[n, g] @ col[n, g].T    dcol[g] = W[g].T @ dy[n, g];   dx[n] = col2im(dcol)
The C++ driver runs tiles of output rows (a tile's columns kept in L2, one GEMM per tile and group) in
one parallel region, and sums dW over fixed image groups added in order, so results do not depend on the
thread count; a 1x1 convolution with stride 1 and no padding needs no im2col (the image itself is the
column matrix), and a stride-1 "same" convolution with many channels gets dx as the convolution of dy
with the turned, transposed weight. An activation ("relu") after the bias runs in the kernel.

`_C` entries: `conv2d_forward`, `conv2d_backward`, `conv2d_backward_bias` (the fused ReLU's mask and the
bias gradient in one pass) (and `im2col`, `col2im`, which they use; `conv_algorithm`, the path a shape takes).
Reference: `firstepoch.reference.conv` (`conv2d_forward`, `conv2d_backward`, `conv2d_backward_bias`, `im2col`,
`col2im`), the same steps in NumPy. The kernel checks every argument again with named messages; Python checks what it
needs to allocate the output (the hyper-parameters, the output size, the channel/group fit).
"""
import numpy as np

from .. import _C
from ..autograd.function import Context, Function, constant_like, product_backward_flops

# The activations the convolution kernel applies to each output tile after the bias: a Conv2d followed
# by one of these is one kernel call (nn.Sequential asks through nn.Conv2d.absorbs_activation).
EPILOGUES = ("relu",)


def fusable(activation):
    """Whether `activation` (a name, e.g. "relu") can run inside the convolution kernel."""
    return activation in EPILOGUES


def pair(v, name):
    """An int or a pair of ints as a pair of ints (kernel_size, stride, padding, dilation, output_size)."""
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) for i in t):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(t[0]), int(t[1])


def out_size(n, k, s, p, d):
    """Output length along one axis of a convolution or pooling window (PyTorch's formula); below 1 when
    the dilated kernel is larger than the padded input (the kernel reports that)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv_geometry(x_shape, w_shape, stride, padding, dilation, groups):
    """Checks a convolution's arguments; returns (stride, padding, dilation, OH, OW) as pairs/ints."""
    if len(x_shape) != 4:
        raise ValueError(f"conv2d: input must be (N, C, H, W), got shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"conv2d: weight must be (out_channels, in_channels/groups, kh, kw), got {w_shape}")
    s, p, d = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    if min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"conv2d: stride {s} and dilation {d} must be >= 1, padding {p} >= 0")
    N, C, H, W = x_shape
    OC, Cg, kh, kw = w_shape
    if groups < 1 or C % groups or OC % groups:
        raise ValueError(f"conv2d: groups={groups} must divide in_channels={C} and out_channels={OC}")
    if Cg * groups != C:
        raise ValueError(f"conv2d: input has {C} channels (shape {x_shape}), weight {w_shape} with groups={groups} "
                         f"expects {Cg * groups}")
    return s, p, d, out_size(H, kh, s[0], p[0], d[0]), out_size(W, kw, s[1], p[1], d[1])


_C_NAME = {"float32": "float", "float64": "double"}  # torch's dtype names in conv's messages

class Conv2dFn(Function):
    """conv2d(x (N, C, H, W), weight (OC, C/groups, kh, kw), bias (OC,) or None, stride, padding,
    dilation, groups, activation None or "relu") -> [activation](conv2d(...)) (N, OC, OH, OW), PyTorch's
    semantics; the activation runs in the kernel, on each output tile while it is in cache. Backward masks
    the output gradient by y > 0 after a fused ReLU, as the unfused ReLU's backward does."""

    kernel = "conv"
    backward_flops = staticmethod(product_backward_flops)

    @staticmethod
    def flops(ctx, inputs, out):
        w = inputs[1]  # (C_out, C_in / groups, kh, kw): each output sums over C_in / groups * kh * kw
        return 2 * int(out.size) * int(w.shape[1] * w.shape[2] * w.shape[3])

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None):
        if activation is not None and not fusable(activation):
            raise ValueError(f"conv2d: activation must be None or one of {EPILOGUES}, got {activation!r}")
        if x.dtype != weight.dtype or (bias is not None and bias.dtype != x.dtype):
            # as torch: RuntimeError "Input type (double) and bias type (float) should be the same"
            other, kind = (bias, "bias") if bias is not None and bias.dtype != x.dtype else (weight, "weight")
            raise RuntimeError(f"Input type ({_C_NAME.get(x.dtype.name, x.dtype)}) and {kind} type "
                               f"({_C_NAME.get(other.dtype.name, other.dtype)}) should be the same "
                               f"(conv2d: input {x.dtype}, weight {weight.dtype}"
                               + (f", bias {bias.dtype})" if bias is not None else ")"))
        s, p, d, OH, OW = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
        x = np.ascontiguousarray(x)
        weight = np.ascontiguousarray(weight)
        y = np.empty((x.shape[0], weight.shape[0], max(OH, 0), max(OW, 0)), dtype=x.dtype)
        _C.conv2d_forward(x, weight, None if bias is None else np.ascontiguousarray(bias), y, s, p, d, groups,
                          activation)
        ctx.save_for_backward(x, weight, y if activation == "relu" else None)
        ctx.geom = (s, p, d, groups, bias is not None)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight, y = ctx.saved_tensors
        s, p, d, groups, has_bias = ctx.geom
        dy = np.ascontiguousarray(grad)
        dx = np.empty_like(x) if ctx.needs_input_grad[0] else None
        dw = np.empty_like(weight) if ctx.needs_input_grad[1] else None
        db = np.empty(dy.shape[1], dtype=dy.dtype) if has_bias and ctx.needs_input_grad[2] else None
        if y is not None or db is not None:
            # one pass: the fused ReLU's gradient (dy where y > 0, else dy*0) and the bias sums
            dy_out = np.empty_like(dy) if y is not None else None
            _C.conv2d_backward_bias(dy, y, dy_out, db)
            dy = dy if dy_out is None else dy_out
        if dx is not None or dw is not None:
            _C.conv2d_backward(x, weight, dy, dx, dw, s, p, d, groups)
        return dx, dw, db, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # dx and dW are each bilinear (in dy and W, in x and dy): ConvInputGradFn and ConvWeightGradFn,
        # whose own gradients are the three convolutions again, so every order is differentiable
        x, weight = (constant_like(t, grad) for t in ctx.parents[:2])
        y = ctx.saved_tensors[2]
        s, p, d, groups, has_bias = ctx.geom
        if y is not None:  # the fused ReLU's mask: constant almost everywhere
            grad = grad * constant_like(y > 0, grad)
        needs = list(ctx.needs_input_grad) + [False] * 2
        dx = ConvInputGradFn.apply(grad, weight, x.shape, s, p, d, groups) if needs[0] else None
        dw = ConvWeightGradFn.apply(x, grad, weight.shape, s, p, d, groups) if needs[1] else None
        db = grad.sum((0, 2, 3)) if has_bias and needs[2] else None
        return dx, dw, db, None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 4, 6, 5))
        return [((x, rng.standard_normal((3, 4, 3, 3)), rng.standard_normal(3)), {"padding": 1}),
                ((x, rng.standard_normal((2, 4, 2, 3)), None), {"stride": (2, 1), "dilation": (1, 2)}),
                ((x, rng.standard_normal((4, 1, 3, 3)), rng.standard_normal(4)), {"groups": 4, "padding": 2}),
                ((x, rng.standard_normal((5, 4, 1, 1)), rng.standard_normal(5)), {}),
                ((x, rng.standard_normal((3, 4, 3, 3)), rng.standard_normal(3) + 0.3), {"padding": 1,
                                                                                      "activation": "relu"}),
                # 16 -> 33 channels, 3x3, stride 1: the Winograd path (_C.conv_algorithm)
                ((rng.standard_normal((1, 16, 3, 4)), rng.standard_normal((33, 16, 3, 3)), rng.standard_normal(33)),
                 {"padding": 1})]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """As torch.nn.functional.conv2d."""
    return Conv2dFn.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C, L) as a 2-D one over (N, C, 1, L), weight (OC, C/groups, k)."""
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input (N, C, L) and weight (OC, C/groups, k), got {tuple(input.shape)} "
                         f"and {tuple(weight.shape)}")
    y = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), (0, padding), (1, dilation), groups)
    return y.squeeze(2)


# ---- the gradients of conv2d as ops of their own (create_graph=True: second and higher derivatives) ----

class ConvInputGradFn(Function):
    """dx of conv2d from (dy, weight): conv2d's backward for its input, as an op. Called as
    ConvInputGradFn.apply(dy, weight, x_shape, stride, padding, dilation, groups). Bilinear: its gradient
    for dy is conv2d(g, weight), for weight the weight gradient of conv2d at input g and output gradient dy."""

    kernel = "conv"

    @staticmethod
    def forward(ctx, dy, weight, x_shape, stride, padding, dilation, groups):
        ctx.save_for_backward(dy, weight)
        ctx.geom = (tuple(x_shape), stride, padding, dilation, groups)
        dx = np.empty(x_shape, dtype=dy.dtype)
        placeholder = np.empty(x_shape, dtype=dy.dtype)  # x: read only for dW, which is not asked for
        _C.conv2d_backward(placeholder, np.ascontiguousarray(weight), np.ascontiguousarray(dy), dx, None,
                           pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation"), groups)
        return dx

    @staticmethod
    def backward(ctx, grad):
        dy, weight = ctx.saved_tensors
        _, s, p, d, groups = ctx.geom
        needs = ctx.needs_input_grad
        ddy = Conv2dFn.forward(Context(), grad, weight, None, s, p, d, groups) if needs[0] else None
        dweight = ConvWeightGradFn.forward(Context(), grad, dy, weight.shape, s, p, d, groups) if needs[1] else None
        return ddy, dweight, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        dy, weight = (constant_like(t, grad) for t in ctx.parents[:2])
        _, s, p, d, groups = ctx.geom
        needs = ctx.needs_input_grad
        ddy = Conv2dFn.apply(grad, weight, None, s, p, d, groups) if needs[0] else None
        dweight = ConvWeightGradFn.apply(grad, dy, weight.shape, s, p, d, groups) if needs[1] else None
        return ddy, dweight, None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((3, 4, 3, 3)), (2, 4, 6, 5), 1, 1, 1, 1), {}),
                ((rng.standard_normal((2, 4, 4, 3)), rng.standard_normal((4, 1, 3, 3)), (2, 4, 7, 6), 2, 1, 1, 4), {})]


class ConvWeightGradFn(Function):
    """dW of conv2d from (x, dy): conv2d's backward for its weight, as an op. Called as
    ConvWeightGradFn.apply(x, dy, w_shape, stride, padding, dilation, groups). Bilinear: its gradient
    for x is the input gradient of conv2d at output gradient dy and weight g, for dy conv2d(x, g)."""

    kernel = "conv"

    @staticmethod
    def forward(ctx, x, dy, w_shape, stride, padding, dilation, groups):
        ctx.save_for_backward(x, dy)
        ctx.geom = (tuple(w_shape), stride, padding, dilation, groups)
        dw = np.empty(w_shape, dtype=dy.dtype)
        placeholder = np.empty(w_shape, dtype=dy.dtype)  # weight: read only for dx, which is not asked for
        _C.conv2d_backward(np.ascontiguousarray(x), placeholder, np.ascontiguousarray(dy), None, dw,
                           pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation"), groups)
        return dw

    @staticmethod
    def backward(ctx, grad):
        x, dy = ctx.saved_tensors
        _, s, p, d, groups = ctx.geom
        needs = ctx.needs_input_grad
        dx = ConvInputGradFn.forward(Context(), dy, grad, x.shape, s, p, d, groups) if needs[0] else None
        ddy = Conv2dFn.forward(Context(), x, grad, None, s, p, d, groups) if needs[1] else None
        return dx, ddy, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        x, dy = (constant_like(t, grad) for t in ctx.parents[:2])
        _, s, p, d, groups = ctx.geom
        needs = ctx.needs_input_grad
        dx = ConvInputGradFn.apply(dy, grad, x.shape, s, p, d, groups) if needs[0] else None
        ddy = Conv2dFn.apply(x, grad, None, s, p, d, groups) if needs[1] else None
        return dx, ddy, None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((2, 3, 6, 5)), (3, 4, 3, 3), 1, 1, 1, 1), {}),
                ((rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((2, 4, 4, 3)), (4, 1, 3, 3), 2, 1, 1, 4), {})]
