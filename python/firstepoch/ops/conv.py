"""2-D convolution (NCHW) on the C++ kernels, forward and backward.

The kernel picks one of three paths by shape alone (`_C.conv_algorithm` names it): a direct convolution
for few channels (up to 8 in, or up to 32 in and out: no column matrix), Winograd F(4x4, 3x3) or F(2x2, 3x3)
(by the map's size and the channels, `_C.winograd_tile`) for other 3x3 stride-1 layers with 16 or more
channels each side and more than 16 output positions (float32 rounding then differs from a direct sum by
2-4e-6 of the output's scale with F(4x4), 3e-7 to 1e-6 with F(2x2); a NaN or Inf input reaches every
output of its tiles, up to 8x8, where a direct sum reaches 3x3, and an Inf can give NaN where a direct sum
gives Inf; on smaller maps only the weight gradient goes this way), and otherwise im2col + GEMM, the
learner's recipe:

forward, per image n and group g:   col = im2col(x[n]);  y[n, g] = W[g] @ col[g]  (+ bias)
backward:  dW[g] = sum_n dy[n, g] @ col[n, g].T    dcol[g] = W[g].T @ dy[n, g];   dx[n] = col2im(dcol)
The C++ driver runs tiles of output rows (a tile's columns kept in L2, one GEMM per tile and group; an
image with fewer than 64 output positions shares its tile with the next images, side by side) in
one parallel region, and sums dW over fixed image groups added in order, so results do not depend on the
thread count; a 1x1 convolution with stride 1 and no padding needs no im2col (the image itself is the
column matrix), and a stride-1 "same" convolution with many channels gets dx as the convolution of dy
with the turned, transposed weight. An activation ("relu") after the bias runs in the kernel.

conv_transpose2d (ConvTranspose2dFn) is the adjoint of conv2d: its forward is the kernel's data gradient
(conv2d_backward asked for dx only), its backward a conv2d forward (dx) and the conv2d weight gradient with
dy as the input (dW). Padding strings ('same', 'valid') resolve here; 'same' with an even reach pads the
input's end first with ops.pad (F.pad), as torch.

`_C` entries: `conv2d_forward`, `conv2d_backward`, `conv2d_backward_bias` (the fused ReLU's mask and the
bias gradient in one pass) (and `im2col`, `col2im`, which they use; `conv_algorithm`, the path a shape takes).
Reference: `firstepoch.reference.conv` (`conv2d_forward`, `conv2d_backward`, `conv2d_backward_bias`, `im2col`,
`col2im`), the same steps in NumPy. The kernel checks every argument again with named messages; Python checks what it
needs to allocate the output (the hyper-parameters, the output size, the channel/group fit).
"""
import numpy as np

from .. import _C
from ..autograd.function import Context, Function, capture_refuse, constant_like, product_backward_flops
from .elementwise import _relu_mask_graph

# The activations the convolution kernel applies to each output tile after the bias: a Conv2d followed
# by one of these is one kernel call (nn.Sequential asks through nn.Conv2d.absorbs_activation).
EPILOGUES = ("relu",)


def fusable(activation):
    """Whether `activation` (a name, e.g. "relu") can run inside the convolution kernel."""
    return activation in EPILOGUES


def pair(v, name):
    """An int or a pair of ints as a pair of ints (kernel_size, stride, padding, dilation, output_size)."""
    if v.__class__ is int:  # the common cases first: every conv and pool call takes three of these
        return v, v
    if v.__class__ is tuple and len(v) == 2 and v[0].__class__ is int and v[1].__class__ is int:
        return v
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
    # torch's F.conv2d raises RuntimeError for each of these ("non-positive stride is not supported",
    # "Given groups=1, weight of size ..., expected input ... to have 4 channels"); the layers' own
    # constructor checks (nn.Conv2d) are ValueError, as torch's
    if min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise RuntimeError(f"conv2d: stride {s} and dilation {d} must be >= 1, padding {p} >= 0")
    N, C, H, W = x_shape
    OC, Cg, kh, kw = w_shape
    if groups < 1 or C % groups or OC % groups:
        raise RuntimeError(f"conv2d: groups={groups} must divide in_channels={C} and out_channels={OC}")
    if Cg * groups != C:
        raise RuntimeError(f"conv2d: input has {C} channels (shape {x_shape}), weight {w_shape} with groups={groups} "
                           f"expects {Cg * groups}")
    OH, OW = out_size(H, kh, s[0], p[0], d[0]), out_size(W, kw, s[1], p[1], d[1])
    if OH < 1 or OW < 1:  # torch's RuntimeError and words (the kernel's own check is a ValueError)
        raise RuntimeError(f"Calculated padded input size per channel: ({H + 2 * p[0]} x {W + 2 * p[1]}). Kernel size: "
                           f"({d[0] * (kh - 1) + 1} x {d[1] * (kw - 1) + 1}). Kernel size can't be greater than "
                           f"actual input size (conv2d: input {x_shape}, weight {w_shape}, padding {p}, dilation {d})")
    return s, p, d, OH, OW


_C_NAME = {"float32": "float", "float64": "double"}  # torch's dtype names in conv's messages

class Conv2dFn(Function):
    """conv2d(x (N, C, H, W), weight (OC, C/groups, kh, kw), bias (OC,) or None, stride, padding,
    dilation, groups, activation None or "relu") -> [activation](conv2d(...)) (N, OC, OH, OW), PyTorch's
    semantics; the activation runs in the kernel, on each output tile while it is in cache. After a fused
    ReLU, backward takes the output gradient where y > 0 and 0 elsewhere (NaN and inf too), as the unfused
    ReLU's backward and torch's do."""

    kernel = "conv"
    capturable = True  # firstepoch.capture: kernels only (a strided operand's copy refuses)
    backward_flops = staticmethod(product_backward_flops)

    @staticmethod
    def flops(ctx, inputs, out):
        w = inputs[1]  # (C_out, C_in / groups, kh, kw): each output sums over C_in / groups * kh * kw
        return 2 * int(out.size) * int(w.shape[1] * w.shape[2] * w.shape[3])

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None):
        if activation is not None and not fusable(activation):
            raise ValueError(f"conv2d: activation must be None or one of {EPILOGUES}, got {activation!r}")
        _dtype_check(x, weight, bias)  # as torch: "Input type (double) and bias type (float) should be the same"
        _check_bias(weight, bias)
        s, p, d, OH, OW = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
        x = kernel_operand(x)
        weight = kernel_operand(weight)
        y = np.empty((x.shape[0], weight.shape[0], max(OH, 0), max(OW, 0)), dtype=x.dtype)
        _C.conv2d_forward(x, weight, None if bias is None else kernel_operand(bias), y, s, p, d, groups, activation)
        ctx.save_for_backward(x, weight, y if activation == "relu" else None)
        ctx.geom = (s, p, d, groups, bias is not None)
        return y

    @staticmethod
    def backward(ctx, grad):
        y = ctx.saved_tensors[2]
        dy, db = relu_mask_and_bias_grad(grad, y, ctx.geom[4] and ctx.needs_input_grad[2])
        return conv_input_weight_grads(ctx, dy) + (db, None, None, None, None, None)

    @staticmethod
    def backward_graph(ctx, grad):
        # dx and dW are each bilinear (in dy and W, in x and dy): ConvInputGradFn and ConvWeightGradFn,
        # whose own gradients are the three convolutions again, so every order is differentiable
        x, weight = (constant_like(t, grad) for t in ctx.parents[:2])
        y = ctx.saved_tensors[2]
        s, p, d, groups, has_bias = ctx.geom
        if y is not None:  # the fused ReLU's mask: constant almost everywhere
            grad = _relu_mask_graph(grad, y)
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
                # 16 -> 33 channels, 3x3, stride 1: the Winograd path (_C.conv_algorithm), F(2x2, 3x3) on 4x5
                ((rng.standard_normal((1, 16, 4, 5)), rng.standard_normal((33, 16, 3, 3)), rng.standard_normal(33)),
                 {"padding": 1}),
                # 16 -> 33 on 7x7: Winograd F(4x4, 3x3) for the forward and both gradients (_C.winograd_tile)
                ((rng.standard_normal((1, 16, 7, 7)), rng.standard_normal((33, 16, 3, 3)), rng.standard_normal(33)),
                 {"padding": 1}),
                # the same on 2x3 maps: images side by side through im2col, the weight gradient by Winograd
                ((rng.standard_normal((3, 16, 2, 3)), rng.standard_normal((17, 16, 3, 3)), None), {"padding": 1}),
                # 3 -> 8 channels, 3x3 on 8x16 with a fused ReLU: the direct forward writing y's rows
                # (conv_y) in float64 on every level (two whole vectors a row at AVX-512)
                ((rng.standard_normal((1, 3, 8, 16)), rng.standard_normal((8, 3, 3, 3)), rng.standard_normal(8) + 0.3),
                 {"padding": 1, "activation": "relu"}),
                # 9 -> 33 channels, 3x3, stride 2 on 16x15 (64 outputs): im2col / col2im through the phases
                ((rng.standard_normal((1, 9, 16, 15)), rng.standard_normal((33, 9, 3, 3)), None),
                 {"stride": 2, "padding": 1}),
                # 9 -> 33 channels, 1x1, stride 2 on 7x8 (an odd height: a last row no window reads): the
                # strided 1x1 path's own im2col and col2im (dx written row by row, conv_isa.cpp)
                ((rng.standard_normal((1, 9, 7, 8)), rng.standard_normal((33, 9, 1, 1)), rng.standard_normal(33)),
                 {"stride": 2}),
                # 2 -> 8 channels, 3x5 on 5x6 with a fused ReLU: the direct forward as row Winograd F(2, 5)
                # (direct.h) at AVX-512 (8 float64 channels fill the lanes) and at the scalar level
                ((rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((8, 2, 3, 5)), rng.standard_normal(8) + 0.3),
                 {"padding": 1, "activation": "relu"}),
                # 2 -> 8 channels, 5x5 on 6x7: the weight gradient as row Winograd F(2, 5) transposed
                # (direct.cpp) at AVX-512 and at the scalar level
                ((rng.standard_normal((2, 2, 6, 7)), rng.standard_normal((8, 2, 5, 5)), rng.standard_normal(8)), {}),
                # 8 images, 2 -> 3 channels, 3x3 on 4x5: the direct data gradient with the images in the
                # vector lanes (direct.cpp: 8 float64 images fill AVX-512's, two groups of 4 AVX2's)
                ((rng.standard_normal((8, 2, 4, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)),
                 {"padding": 1})]


def relu_mask_and_bias_grad(grad, y, want_bias):
    """(dy, dbias or None) from an output gradient grad (N, C, H, W): dy = grad where y > 0, else 0, when y
    (the output of a fused ReLU, or a max pool of it) is given, else grad itself; dbias sums dy over all but
    the channel. One kernel pass (_C.conv2d_backward_bias)."""
    dy = kernel_operand(grad)
    db = np.empty(dy.shape[1], dtype=dy.dtype) if want_bias else None
    if y is not None or db is not None:
        dy_out = np.empty_like(dy) if y is not None else None
        _C.conv2d_backward_bias(dy, y, dy_out, db)
        dy = dy if dy_out is None else dy_out
    return dy, db


def kernel_operand(a):
    """a C-contiguous (a itself when it is). A copy is refused while a step is captured: the tape would
    keep the copy made from this batch (firstepoch.capture)."""
    if a.flags.c_contiguous:
        return a
    capture_refuse("a strided operand is copied outside the kernel")
    return np.ascontiguousarray(a)


def conv_input_weight_grads(ctx, dy):
    """(dx, dW), each None where not needed, of the convolution Conv2dFn.forward recorded in ctx, from dy
    (already through the ReLU's mask)."""
    x, weight = ctx.saved_tensors[:2]
    s, p, d, groups, _ = ctx.geom
    dx = np.empty_like(x) if ctx.needs_input_grad[0] else None
    dw = np.empty_like(weight) if ctx.needs_input_grad[1] else None
    if dx is not None or dw is not None:
        _C.conv2d_backward(x, weight, kernel_operand(dy), dx, dw, s, p, d, groups)
    return dx, dw


def _check_bias(weight, bias):
    """torch's words and class for a bias that is not (out_channels,) (the kernel's would be ValueError)."""
    if bias is not None and bias.shape != weight.shape[:1]:
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead")


def _dtype_check(x, weight, bias):
    """torch's RuntimeError when the input, weight and bias dtypes differ (kernels never cast)."""
    if x.dtype != weight.dtype or (bias is not None and bias.dtype != x.dtype):
        other, kind = (bias, "bias") if bias is not None and bias.dtype != x.dtype else (weight, "weight")
        raise RuntimeError(f"Input type ({_C_NAME.get(x.dtype.name, x.dtype)}) and {kind} type "
                           f"({_C_NAME.get(other.dtype.name, other.dtype)}) should be the same "
                           f"(input {x.dtype}, weight {weight.dtype}"
                           + (f", bias {bias.dtype})" if bias is not None else ")"))


def same_padding(kernel_size, dilation):
    """[(before, after)] per spatial dimension for padding='same' at stride 1: the dilated kernel's
    reach d * (k - 1) split in two, the odd one out after (at the right / bottom), as torch."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel_size, dilation)]


def _string_padding(x, weight, stride, padding, dilation, name):
    """padding='valid' or 'same' (F.conv1d/F.conv2d, torch's rules) as (input, symmetric padding pair):
    'same' at an even reach pads the input's end by one more first (F.pad), as torch does."""
    if padding == "valid":
        return x, (0, 0)
    if padding != "same":
        raise RuntimeError(f"Invalid padding string: '{padding}' ({name}: expected 'same', 'valid' or ints)")
    if pair(stride, "stride") != (1, 1):
        raise RuntimeError("padding='same' is not supported for strided convolutions "
                           f"({name}: stride={stride})")
    (th, bh), (tw, bw) = same_padding(weight.shape[2:], pair(dilation, "dilation"))
    if bh != th or bw != tw:
        from .pad import pad
        x = pad(x, (0, bw - tw, 0, bh - th))
    return x, (th, tw)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """As torch.nn.functional.conv2d: input (N, C, H, W) or unbatched (C, H, W); padding an int, a pair,
    'valid' (none) or 'same' (stride 1 only; an even reach pads one more at the right / bottom)."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
                           f"{list(input.shape)}")
    if input.ndim == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if isinstance(padding, str):
        input, padding = _string_padding(input, weight, stride, padding, dilation, "conv2d")
    return Conv2dFn.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """As torch.nn.functional.conv1d, over (N, C, L) or unbatched (C, L) with weight (OC, C/groups, k): a
    2-D convolution over (N, C, 1, L). padding an int, 'valid' or 'same' (stride 1 only)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: "
                           f"{list(input.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d: expected weight (OC, C/groups, k), got {tuple(weight.shape)}")
    if input.ndim == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    _check_bias(weight, bias)  # before the weight gets its extra axis (torch names the 3-D one)
    padding = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    y = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _single(stride, "stride")), padding,
               (1, _single(dilation, "dilation")), groups)
    return y.squeeze(2)


def _single(v, name):
    """An int or a one-element tuple (torch's _single) as an int."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple for a 1-d convolution, got {v!r}")
        v = v[0]
    return int(v)


# ---- transposed convolution: the convolution's data gradient as a forward ----

def conv_transpose_geometry(x_shape, w_shape, stride, padding, output_padding, dilation, groups):
    """Checks a transposed convolution's arguments (torch's messages); returns (stride, padding, dilation,
    (OH, OW), (extra_h, extra_w)) where extra is the number of zero rows / columns the input needs at its
    end to be the output-gradient shape of the convolution from (OH, OW) (output_padding >= stride,
    allowed when dilation exceeds the stride, adds output rows beyond what the input reaches)."""
    if len(x_shape) != 4:
        raise ValueError(f"conv_transpose2d: input must be (N, C, H, W), got shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"conv_transpose2d: weight must be (in_channels, out_channels/groups, kh, kw), got {w_shape}")
    s, p, d = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    op = pair(output_padding, "output_padding")
    if min(s) < 1 or min(d) < 1 or min(p) < 0 or min(op) < 0:
        raise RuntimeError(f"conv_transpose2d: stride {s} and dilation {d} must be >= 1, padding {p} and "
                           f"output_padding {op} >= 0")
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_height: {op[0]} output_padding_width: {op[1]} stride_height: {s[0]} "
                           f"stride_width: {s[1]} dilation_height: {d[0]} dilation_width: {d[1]}")
    N, C, H, W = x_shape
    Cin, OCg, kh, kw = w_shape
    if groups < 1 or C % groups:
        raise RuntimeError(f"conv_transpose2d: groups={groups} must divide in_channels={C}")
    if Cin != C:
        raise RuntimeError(f"Given transposed=1, weight of size {list(w_shape)}, expected input{list(x_shape)} to "
                           f"have {Cin} channels, but got {C} channels instead")
    size = tuple((n - 1) * si - 2 * pi + di * (k - 1) + o + 1 for n, si, pi, di, k, o in
                 zip((H, W), s, p, d, (kh, kw), op))
    if min(size) < 1:
        raise RuntimeError(f"Given input size per channel: ({H} x {W}). Calculated output size per channel: "
                           f"({size[0]} x {size[1]}). Output size is too small")
    extra = tuple(o // si for o, si in zip(op, s))
    return s, p, d, size, extra


class ConvTranspose2dFn(Function):
    """conv_transpose2d(x (N, Cin, H, W), weight (Cin, Cout/groups, kh, kw), bias (Cout,) or None, stride,
    padding, output_padding, groups, dilation) -> (N, Cout, OH, OW), OH = (H-1)*stride - 2*padding +
    dilation*(kh-1) + output_padding + 1: the adjoint of conv2d (weight (Cin, Cout/groups, kh, kw) read as
    a convolution from Cout to Cin channels), computed by the convolution kernel's data gradient.
    Backward: dx is that convolution of dy, dW its weight gradient with dy as the input and x as the
    output gradient, db the sum of dy over all but the channel."""

    kernel = "conv"
    backward_flops = staticmethod(product_backward_flops)

    @staticmethod
    def flops(ctx, inputs, out):
        x, w = inputs[0], inputs[1]  # each input element meets Cout/groups * kh * kw weights
        return 2 * int(x.size) * int(w.shape[1] * w.shape[2] * w.shape[3])

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        _dtype_check(x, weight, bias)
        s, p, d, (OH, OW), extra = conv_transpose_geometry(x.shape, weight.shape, stride, padding, output_padding,
                                                           dilation, groups)
        Cout = weight.shape[1] * groups
        if bias is not None and bias.shape != (Cout,):
            raise RuntimeError(f"conv_transpose2d: bias must have shape ({Cout},) (out_channels), got {bias.shape}")
        xp = np.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1]))) if any(extra) else np.ascontiguousarray(x)
        weight = np.ascontiguousarray(weight)
        y = np.empty((x.shape[0], Cout, OH, OW), dtype=x.dtype)
        placeholder = np.empty(y.shape, dtype=x.dtype)  # the convolution's input: read only for dW, not asked for
        _C.conv2d_backward(placeholder, weight, xp, y, None, s, p, d, groups)
        if bias is not None:
            y += bias[:, None, None]
        ctx.save_for_backward(xp, weight)
        ctx.geom = (s, p, d, groups, bias is not None, x.shape[2:], extra)
        return y

    @staticmethod
    def backward(ctx, grad):
        xp, weight = ctx.saved_tensors
        s, p, d, groups, has_bias, (H, W), _ = ctx.geom
        dy = np.ascontiguousarray(grad)
        needs = ctx.needs_input_grad
        dx = dw = db = None
        if needs[0]:
            dx = Conv2dFn.forward(Context(), dy, weight, None, s, p, d, groups)
            if dx.shape[2:] != (H, W):
                dx = np.ascontiguousarray(dx[:, :, :H, :W])
        if needs[1]:
            dw = ConvWeightGradFn.forward(Context(), dy, xp, weight.shape, s, p, d, groups)
        if has_bias and needs[2]:
            db = dy.sum(axis=(0, 2, 3))
        return dx, dw, db, None, None, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        x, weight = (constant_like(t, grad) for t in ctx.parents[:2])
        s, p, d, groups, has_bias, (H, W), extra = ctx.geom
        needs = list(ctx.needs_input_grad) + [False] * 2
        dx = dw = db = None
        if needs[0]:
            dx = Conv2dFn.apply(grad, weight, None, s, p, d, groups)
            if dx.shape[2:] != (H, W):
                dx = dx[:, :, :H, :W]
        if needs[1]:
            if any(extra):
                from .pad import PadFn
                x = PadFn.apply(x, (0, extra[1], 0, extra[0]))
            dw = ConvWeightGradFn.apply(grad, x, weight.shape, s, p, d, groups)
        if has_bias and needs[2]:
            db = grad.sum((0, 2, 3))
        return dx, dw, db, None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 4, 4, 3))
        return [((x, rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(3)), {"padding": 1}),
                ((x, rng.standard_normal((4, 2, 4, 4)), rng.standard_normal(2)), {"stride": 2, "padding": 1,
                                                                                  "output_padding": 1}),
                ((x, rng.standard_normal((4, 1, 3, 2)), None), {"stride": (2, 1), "groups": 2, "dilation": (1, 2)}),
                # output_padding 2 >= stride 1, allowed as dilation is 3: rows the input does not reach
                ((x, rng.standard_normal((4, 2, 2, 2)), rng.standard_normal(2)), {"dilation": 3, "padding": 1,
                                                                                  "output_padding": (2, 1)}),
                ((x, rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)), {"stride": 3, "groups": 2,
                                                                                  "output_padding": 2})]


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """As torch.nn.functional.conv_transpose2d: input (N, Cin, H, W) or unbatched (Cin, H, W), weight
    (Cin, Cout/groups, kh, kw); the gradient of conv2d with respect to its input, as a layer."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of "
                           f"size: {list(input.shape)}")
    if input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    return ConvTranspose2dFn.apply(input, weight, bias, stride=stride, padding=padding, output_padding=output_padding,
                                   groups=groups, dilation=dilation)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """As torch.nn.functional.conv_transpose1d over (N, Cin, L) or unbatched (Cin, L), weight
    (Cin, Cout/groups, k): conv_transpose2d over (N, Cin, 1, L)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, but got input of "
                           f"size: {list(input.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(f"conv_transpose1d: expected weight (Cin, Cout/groups, k), got {tuple(weight.shape)}")
    if input.ndim == 2:
        return conv_transpose1d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    y = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _single(stride, "stride")),
                         (0, _single(padding, "padding")), (0, _single(output_padding, "output_padding")), groups,
                         (1, _single(dilation, "dilation")))
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


# ---- 3-D convolution (N, C, D, H, W), NumPy only ----------------------------------------------------------------
# No kernel: im2col is a sliding-window view of the padded input (one copy into the column matrix), the
# convolution one stacked np.matmul per group; backward is the two products and col2im, which adds each
# window offset's columns into one strided slice of the padded input gradient (a loop over the
# kd*kh*kw offsets, never over elements).

def _conv3d_triple(v, name):
    """torch's expand_param_if_needed for conv3d: an int or three ints (RuntimeError, its words)."""
    t = (v,) * 3 if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) == 1:
        t = t * 3
    if len(t) != 3 or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in t):
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 3 values to match the "
                           f"convolution dimensions, but got {name}={list(t)}")
    return tuple(int(i) for i in t)


def conv3d_geometry(x_shape, w_shape, stride, padding, dilation, groups):
    """torch's checks of F.conv3d's arguments (RuntimeError, its words); returns (s, p, d, (OD, OH, OW))."""
    if len(w_shape) != 5:
        raise RuntimeError(f"Expected 5-dimensional weight for 5-dimensional input {list(x_shape)}, but got weight of "
                           f"size {list(w_shape)} instead (conv3d: weight (OC, C/groups, kd, kh, kw))")
    s, p, d = (_conv3d_triple(v, n) for v, n in ((stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    if min(s) < 1:
        raise RuntimeError("non-positive stride is not supported")
    if min(p) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(d) < 1:
        raise RuntimeError("dilation should be greater than zero")
    if groups < 1:
        raise RuntimeError("non-positive groups is not supported")
    C, OC, Cg = x_shape[1], w_shape[0], w_shape[1]
    if OC % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(w_shape)}] instead")
    if Cg * groups != C:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w_shape)}, expected input{list(x_shape)} to "
                           f"have {Cg * groups} channels, but got {C} channels instead")
    padded = tuple(n + 2 * pi for n, pi in zip(x_shape[2:], p))
    reach = tuple(di * (ki - 1) + 1 for ki, di in zip(w_shape[2:], d))
    if any(r > n for r, n in zip(reach, padded)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, reach))}). Kernel size can't be greater than actual input size")
    return s, p, d, tuple((n - r) // si + 1 for n, r, si in zip(padded, reach, s))


def conv3d_im2col(x, k, s, p, d, out, groups):
    """x (N, C, D, H, W) as columns (N, groups, OD*OH*OW, C/groups*kd*kh*kw), torch's weight order."""
    N, C = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple((pi, pi) for pi in p))
    reach = tuple(di * (ki - 1) + 1 for ki, di in zip(k, d))
    win = np.lib.stride_tricks.sliding_window_view(xp, reach, axis=(2, 3, 4))
    win = win[:, :, ::s[0], ::s[1], ::s[2], ::d[0], ::d[1], ::d[2]][:, :, :out[0], :out[1], :out[2]]
    win = win.reshape((N, groups, C // groups) + out + k).transpose(0, 1, 3, 4, 5, 2, 6, 7, 8)
    return win.reshape(N, groups, int(np.prod(out)), (C // groups) * int(np.prod(k)))


def conv3d_col2im(dcols, x_shape, k, s, p, d, out, groups):
    """The adjoint of conv3d_im2col: each column entry added into the input position it was read from."""
    N, C, D, H, W = x_shape
    cols = dcols.reshape((N, groups) + out + (C // groups,) + k).transpose(0, 1, 5, 6, 7, 8, 2, 3, 4)
    cols = cols.reshape((N, C) + k + out)
    dxp = np.zeros((N, C, D + 2 * p[0], H + 2 * p[1], W + 2 * p[2]), dtype=dcols.dtype)
    for a in np.ndindex(*k):
        sl = tuple(slice(ai * di, ai * di + si * (o - 1) + 1, si) for ai, di, si, o in zip(a, d, s, out))
        dxp[(Ellipsis,) + sl] += cols[(slice(None), slice(None)) + a]
    return dxp[:, :, p[0]:p[0] + D, p[1]:p[1] + H, p[2]:p[2] + W]


# The three products of a 3-D convolution over `out` output positions per axis (the windows beyond `out`
# are not read: a transposed convolution with output_padding >= stride calls them so), shared by
# Conv3dFn and ConvTranspose3dFn.

def conv3d_output(x, weight, s, p, d, out, groups):
    """y (N, OC, *out) = conv3d(x, weight) without bias: per group, the columns times the weight."""
    cols = conv3d_im2col(x, tuple(weight.shape[2:]), s, p, d, out, groups)
    wg = weight.reshape(groups, weight.shape[0] // groups, int(np.prod(weight.shape[1:])))
    y = np.matmul(cols, wg.transpose(0, 2, 1))  # (N, groups, L, OC/groups)
    return y.transpose(0, 1, 3, 2).reshape((x.shape[0], weight.shape[0]) + tuple(out))


def conv3d_input_grad(dy, weight, x_shape, s, p, d, out, groups):
    """dx (x_shape) of conv3d from dy (N, OC, *out): dcol = dy.T @ W[g], then col2im."""
    N, OC = dy.shape[0], weight.shape[0]
    dyg = dy.reshape(N, groups, OC // groups, int(np.prod(out)))  # (N, groups, OC/groups, L)
    dcols = np.matmul(dyg.transpose(0, 1, 3, 2), weight.reshape(groups, OC // groups, int(np.prod(weight.shape[1:]))))
    return conv3d_col2im(dcols, tuple(x_shape), tuple(weight.shape[2:]), s, p, d, tuple(out), groups)


def conv3d_weight_grad(x, dy, w_shape, s, p, d, out, groups):
    """dW (w_shape) of conv3d from x and dy (N, OC, *out): sum over n of dy[n, g] @ col[n, g]."""
    N, OC = dy.shape[0], w_shape[0]
    cols = conv3d_im2col(x, tuple(w_shape[2:]), s, p, d, tuple(out), groups)
    dyg = dy.reshape(N, groups, OC // groups, int(np.prod(out)))
    return np.matmul(dyg, cols).sum(axis=0).reshape(w_shape)


class Conv3dFn(Function):
    """conv3d(x (N, C, D, H, W), weight (OC, C/groups, kd, kh, kw), bias (OC,) or None, stride, padding,
    dilation, groups) -> (N, OC, OD, OH, OW), PyTorch's semantics; float or integer (as torch's CPU conv3d).
    forward: y[n, g] = W[g] @ col[n, g].T (+ bias); backward: dW[g] = sum_n dy[n, g] @ col[n, g],
    dcol = dy.T @ W[g], dx = col2im(dcol), dbias = dy summed over all but the channel. No backward_graph:
    create_graph through conv3d raises (the 2-D convolution has it)."""

    @staticmethod
    def flops(ctx, inputs, out):
        w = inputs[1]
        return 2 * int(out.size) * int(np.prod(w.shape[1:]))

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        _dtype_check(x, weight, bias)
        _check_bias(weight, bias)
        s, p, d, out = conv3d_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
        y = conv3d_output(x, weight, s, p, d, out, groups)
        if bias is not None:
            y += bias.reshape(-1, 1, 1, 1)
        ctx.save_for_backward(x, weight)
        ctx.geom = (s, p, d, out, groups, bias is not None)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        s, p, d, out, groups, has_bias = ctx.geom
        needs = ctx.needs_input_grad
        dx = dw = db = None
        if needs[0]:
            dx = conv3d_input_grad(grad, weight, x.shape, s, p, d, out, groups)
        if needs[1]:
            dw = conv3d_weight_grad(x, grad, weight.shape, s, p, d, out, groups)
        if has_bias and needs[2]:
            db = grad.sum(axis=(0, 2, 3, 4))
        return dx, dw, db, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 4, 4, 5, 3))
        return [((x, rng.standard_normal((3, 4, 2, 3, 2)), rng.standard_normal(3)), {"padding": 1}),
                ((x, rng.standard_normal((2, 4, 2, 2, 2)), None), {"stride": (2, 1, 2), "dilation": (1, 2, 1)}),
                ((x, rng.standard_normal((6, 2, 1, 3, 3)), rng.standard_normal(6)), {"groups": 2, "padding": (0, 1, 2)})]


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """As torch.nn.functional.conv3d: input (N, C, D, H, W) or unbatched (C, D, H, W); padding an int, three
    ints, 'valid' (none) or 'same' (stride 1 only; an odd reach's extra one at the end, as torch)."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv3d, but got input of size: "
                           f"{list(input.shape)}")
    if input.ndim == 4:
        return conv3d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}' (conv3d: expected 'same', 'valid' or ints)")
        else:
            if _conv3d_triple(stride, "stride") != (1, 1, 1):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            if weight.ndim != 5:
                conv3d_geometry(input.shape, weight.shape, stride, 0, dilation, groups)  # torch's words
            pairs = same_padding(weight.shape[2:], _conv3d_triple(dilation, "dilation"))
            if any(a != b for a, b in pairs):
                from .pad import pad
                input = pad(input, tuple(v for a, b in reversed(pairs) for v in (0, b - a)))
            padding = tuple(a for a, _ in pairs)
    return Conv3dFn.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


# ---- 3-D transposed convolution: conv3d's data gradient as a forward, NumPy only ----------------------------

_TORCH_INT_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int"}


def conv_transpose3d_geometry(x_shape, w_shape, stride, padding, output_padding, dilation, groups):
    """torch's checks of F.conv_transpose3d's arguments (RuntimeError, its words); returns (s, p, d,
    (OD, OH, OW)), OD = (D-1)*stride - 2*padding + dilation*(kd-1) + output_padding + 1."""
    if len(w_shape) != 5:
        raise RuntimeError(f"Expected 5-dimensional weight for 5-dimensional input {list(x_shape)}, but got weight of "
                           f"size {list(w_shape)} instead (conv_transpose3d: weight (Cin, Cout/groups, kd, kh, kw))")
    s, p, d, op = (_conv3d_triple(v, n) for v, n in ((stride, "stride"), (padding, "padding"),
                                                     (dilation, "dilation"), (output_padding, "output_padding")))
    if min(s) < 1:
        raise RuntimeError("non-positive stride is not supported")
    if min(p) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(op) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if min(d) < 1:
        raise RuntimeError("dilation should be greater than zero, but got " + ", ".join(
            f"dilation_{a}: {v}" for a, v in zip(("depth", "height", "width"), d)))
    if groups < 1:
        raise RuntimeError("non-positive groups is not supported")
    C, Cin, OCg = x_shape[1], w_shape[0], w_shape[1]
    if Cin < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but got "
                           f"weight of size {list(w_shape)} instead")
    if Cin % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(w_shape)}] instead")
    if Cin != C:
        raise RuntimeError(f"Given transposed=1, weight of size {list(w_shape)}, expected input{list(x_shape)} to "
                           f"have {Cin} channels, but got {C} channels instead")
    if OCg == 0 or min(w_shape[2:]) == 0:
        raise RuntimeError("non-empty 5D (n_output_plane x n_input_plane x kernel_depth x kernel_height x "
                           f"kernel_width) tensor expected for weight, but got: {list(w_shape)}")
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        words = [f"{what}_{a}: {v}" for what, t in (("output_padding", op), ("stride", s), ("dilation", d))
                 for a, v in zip(("depth", "height", "width"), t)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got " + " ".join(words))
    if x_shape[0] > 0 and min(x_shape[2:]) == 0:
        raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got input shape: "
                           f"{list(x_shape)}")
    size = tuple((n - 1) * si - 2 * pi + di * (k - 1) + o + 1 for n, si, pi, di, k, o in
                 zip(x_shape[2:], s, p, d, w_shape[2:], op))
    if min(size) < 1:
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, x_shape[2:]))}). Calculated output "
                           f"size per channel: ({' x '.join(map(str, size))}). Output size is too small")
    return s, p, d, size


class ConvTranspose3dFn(Function):
    """conv_transpose3d(x (N, Cin, D, H, W), weight (Cin, Cout/groups, kd, kh, kw), bias (Cout,) or None,
    stride, padding, output_padding, groups, dilation) -> (N, Cout, OD, OH, OW): the adjoint of conv3d
    (the weight read as a convolution from Cout to Cin channels), float or int64 (as torch's CPU kernel).
    forward: conv3d's data gradient (dcol = x.T @ W[g], col2im); backward: dx = conv3d(dy, weight), dW
    conv3d's weight gradient with dy as the input and x as the output gradient, db dy summed over all but
    the channel. The input's D x H x W windows are the only ones read, so output_padding >= stride (rows
    no input reaches) needs no padded copy. No backward_graph (first derivatives only, as conv3d)."""

    @staticmethod
    def flops(ctx, inputs, out):
        x, w = inputs[0], inputs[1]  # each input element meets Cout/groups * kd * kh * kw weights
        return 2 * int(x.size) * int(np.prod(w.shape[1:]))

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        _dtype_check(x, weight, bias)
        if x.dtype.name in _TORCH_INT_NAMES:  # torch's CPU kernel: floats and int64 only
            raise NotImplementedError(f'"slow_conv_transpose3d_out_cpu" not implemented for '
                                      f"'{_TORCH_INT_NAMES[x.dtype.name]}' (conv_transpose3d: input {x.dtype})")
        s, p, d, size = conv_transpose3d_geometry(x.shape, weight.shape, stride, padding, output_padding, dilation,
                                                  groups)
        Cout = weight.shape[1] * groups
        if bias is not None and bias.shape != (Cout,):
            raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
                               f"1-dimensional with {Cout} elements, but got bias of size {list(bias.shape)} instead")
        out = tuple(x.shape[2:])  # the convolution's output positions: the input's
        y = conv3d_input_grad(x, weight, (x.shape[0], Cout) + size, s, p, d, out, groups)
        if bias is not None:
            y += bias.reshape(-1, 1, 1, 1)
        ctx.save_for_backward(x, weight)
        ctx.geom = (s, p, d, out, groups, bias is not None)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        s, p, d, out, groups, has_bias = ctx.geom
        needs = ctx.needs_input_grad
        dx = dw = db = None
        if needs[0]:
            dx = conv3d_output(grad, weight, s, p, d, out, groups)
        if needs[1]:
            dw = conv3d_weight_grad(grad, x, weight.shape, s, p, d, out, groups)
        if has_bias and needs[2]:
            db = grad.sum(axis=(0, 2, 3, 4))
        return dx, dw, db, None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 4, 3, 2, 3))
        return [((x, rng.standard_normal((4, 3, 2, 3, 2)), rng.standard_normal(3)), {"padding": 1}),
                ((x, rng.standard_normal((4, 2, 2, 2, 3)), rng.standard_normal(2)),
                 {"stride": (2, 1, 3), "padding": (1, 0, 1), "output_padding": (1, 0, 2)}),
                ((x, rng.standard_normal((4, 1, 2, 3, 2)), None), {"groups": 2, "dilation": (2, 1, 2)}),
                # output_padding 2 >= stride 1, allowed as dilation is 3: positions the input does not reach
                ((x, rng.standard_normal((4, 3, 2, 2, 2)), rng.standard_normal(6)),
                 {"groups": 2, "dilation": 3, "output_padding": (2, 0, 1)})]


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """As torch.nn.functional.conv_transpose3d: input (N, Cin, D, H, W) or unbatched (Cin, D, H, W), weight
    (Cin, Cout/groups, kd, kh, kw); the gradient of conv3d with respect to its input, as a layer."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, but got input of "
                           f"size: {list(input.shape)}")
    if isinstance(padding, str):
        raise TypeError(f"conv_transpose3d(): argument 'padding' must be tuple of ints, not str ({padding!r})")
    if input.ndim == 4:
        return conv_transpose3d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    return ConvTranspose3dFn.apply(input, weight, bias, stride=stride, padding=padding, output_padding=output_padding,
                                   groups=groups, dilation=dilation)
