"""nn.functional forms written from differentiable Tensor and functional ops (no Function, no kernel of
their own; autograd differentiates the pieces). Each has torch.nn.functional's name, arguments,
defaults and error classes; nn/functional.py re-exports them."""
import math
import numbers
import warnings
from collections.abc import Iterable

import numpy as np

from .. import random as _random
from ..autograd.function import bump_version
from ..ops import dropout as _dropout
from ..ops import elementwise as _E
from ..ops.interp import interpolate
from ..ops.linalg import _torch_name
from ..ops.norm import batch_norm
from ..ops.pad import pad
from ..ops.pool import (adaptive_avg_pool2d, adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool2d,
                        avg_pool3d, check_adaptive_nonempty, max_pool1d, max_pool2d, max_pool3d)
from ..ops.softmax import implicit_dim, softmax
from ..tensor import Tensor, where


def _constant(array, like):
    """A NumPy array as a Tensor that needs no gradient, in like's dtype."""
    return Tensor._wrap(np.ascontiguousarray(array, dtype=like._data.dtype), False)


def _apply(input, inplace, name, compute):
    """compute(input), or written into input (torch's `name_` spelling) when inplace."""
    if inplace:
        return input._inplace(lambda old, _: compute(old), None, name + "_")
    return compute(input)


# ---- activations ---------------------------------------------------------------------------------------

def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x). softplus's linear branch starts at 40, where log1p(exp(-40)) is
    below float64's rounding, so the result is torch's to the last bit there and never overflows."""
    _E._floating_only(input, "log_sigmoid_forward")
    return -_E.softplus(-input, 1.0, 40.0)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x, dim); dim=None picks the dim by torch's legacy rule, with its warning."""
    if dim is None:
        dim = implicit_dim("softmin", input.ndim, _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0 (NaN stays NaN, as torch): the Tensor method (one definition)."""
    return Tensor.hardshrink(input, lambd)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between: x - clamp(x, -lambd, lambd)."""
    _E._floating_only(input, "softshrink_cpu")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return input - input.clamp(-lambd, lambd)


def tanhshrink(input):
    """x - tanh(x)."""
    return input - input.tanh()


def _threshold(input, threshold, value, inplace):
    if input._data.dtype.kind in "iu":  # torch keeps an integer input's dtype: value cast to it (2.7 -> 2)
        value = int(value)
    return _apply(input, inplace, "threshold", lambda x: where(x <= threshold, value, x))


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value (NaN stays NaN, as torch)."""
    return _threshold(input, threshold, value, inplace)


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, True)


def celu(input, alpha=1.0, inplace=False):
    """x where x > 0, alpha * (exp(x / alpha) - 1) elsewhere (torch's elu with input scale 1/alpha). The
    exponential sees min(x, 0) only, so a large x cannot make an inf whose zero gradient turns NaN."""
    _E._floating_only(input, "elu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")

    def compute(x):
        return where(x > 0, x, (x.clamp(max=0) * (1.0 / alpha)).expm1() * alpha)
    return _apply(input, inplace, "celu", compute)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def glu(input, dim=-1):
    """a * sigmoid(b), where a and b are the two halves of the input along dim."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"glu_cpu\" not implemented for '{_torch_name(input._data.dtype)}'")
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim + input.ndim if dim < 0 else dim
    if not 0 <= d < input.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-input.ndim}, {input.ndim - 1}], "
                         f"but got {dim})")
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.narrow(d, 0, n // 2), input.narrow(d, n // 2, n // 2)
    return a * b.sigmoid()


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky ReLU. Training: each element at or below 0 is multiplied by its own slope drawn
    uniformly from [lower, upper); evaluation: leaky_relu with the mean slope (lower + upper) / 2.
    Deliberate difference: the slopes come from firstepoch's generator (firstepoch.manual_seed, NumPy's
    stream), so a seed does not give torch's slopes."""
    return _rrelu(input, lower, upper, training, inplace, None)


def _rrelu(input, lower, upper, training, inplace, generator):
    """rrelu drawing its slopes from generator (None: the global one; torch.rrelu takes a generator)."""
    _E._floating_only(input, "rrelu_with_noise")
    if not lower <= upper:  # torch checks in both modes (evaluation had silently used the mean slope)
        raise RuntimeError(f"Lower bound should be less than or equal to the upper bound (rrelu: lower={lower}, "
                           f"upper={upper})")
    if not training:
        return _E.leaky_relu(input, (lower + upper) / 2, inplace)
    slopes = _random.as_generator(generator, "rrelu").uniform(lower, upper, input.shape)

    def compute(x):
        noise = np.where(x._data <= 0, slopes, 1.0)
        return x * _constant(noise, x)
    return _apply(input, inplace, "rrelu", compute)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau, dim) with g Gumbel(0, 1) noise; hard=True returns the one-hot of the
    maximum in the forward and the soft sample's gradient (straight-through). Deliberate difference:
    the noise comes from firstepoch's generator (NumPy's stream), not torch's."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -np.log(_random.generator().standard_exponential(logits.shape))
    y_soft = softmax((logits + _constant(gumbels, logits)) / tau, dim)
    if not hard:
        return y_soft
    index = np.expand_dims(np.argmax(y_soft._data, axis=dim), dim)
    y_hard = np.zeros(y_soft.shape, y_soft._data.dtype)
    np.put_along_axis(y_hard, index, 1.0, axis=dim)
    return _constant(y_hard, y_soft) - y_soft.detach() + y_soft


# ---- normalisation ---------------------------------------------------------------------------------------

def _shape_text(shape):
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight, the mean over the last len(normalized_shape) dims; eps=None is
    torch's default, the machine epsilon of the input's dtype."""
    if isinstance(normalized_shape, numbers.Integral):  # torch's functional takes a sequence only (its module, an int)
        raise TypeError("rms_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not int")
    shape = tuple(int(d) for d in normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={_shape_text(shape)}, expected input with shape "
                           f"[*, {_shape_text(shape)[1:]}, but got input of size{_shape_text(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
                           f"{_shape_text(weight.shape)} and normalized_shape = {_shape_text(shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(dim=dims, keepdim=True) + eps).pow(-0.5)
    return y if weight is None else y * weight


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Each sample's channel normalised by its own statistics over the spatial dims (torch's reshape of
    (N, C, *) to (1, N * C, *) and a batch norm); with running statistics, they move towards the mean
    over the batch of the instances' statistics, and use_input_stats=False normalises with them."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, *) with at least 3 dims, got {tuple(input.shape)}")
    if use_input_stats and math.prod(input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{_shape_text(input.shape)}")
    N, C = input.shape[:2]
    x = input.reshape((1, N * C) + tuple(input.shape[2:]))
    repeat = (lambda t: None if t is None else t.repeat(N))
    # torch runs float32 running statistics with a float64 input (its instance_norm repeats them in the
    # input's dtype; the weight and bias must still be of the input's dtype)
    stat = (lambda t: None if t is None else t.to(input.dtype).repeat(N))
    rm, rv = stat(running_mean), stat(running_var)
    y = batch_norm(x, rm, rv, repeat(weight), repeat(bias), use_input_stats, momentum, eps)
    for mine, theirs in ((running_mean, rm), (running_var, rv)):  # torch: the mean over the batch
        if mine is not None and use_input_stats:
            mine._data[...] = theirs._data.reshape(N, C).mean(axis=0)
            bump_version(mine)
    return y.reshape(tuple(input.shape))


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels) ** beta (torch's windows: size // 2
    channels before, (size - 1) // 2 after, zeros past the edges)."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    N, C = input.shape[:2]
    sq = (input * input).reshape(N, 1, C, -1)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(tuple(input.shape))
    return input / (div * alpha + k).pow(beta)


# ---- rearrangements -------------------------------------------------------------------------------------

def _shuffle_factor(input, factor, who, name):
    """The factor as an int, after torch's checks of pixel_shuffle / pixel_unshuffle (RuntimeError)."""
    r = int(factor)
    if input.ndim < 3:
        raise RuntimeError(f"{who} expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"{who} expects a positive {name}, but got {r}")
    return r


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) to (*, C, H r, W r)."""
    r = _shuffle_factor(input, upscale_factor, "pixel_shuffle", "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    b = len(batch)
    y = input.reshape(tuple(batch) + (c // (r * r), r, r, h, w))
    y = y.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)
    return y.reshape(tuple(batch) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) to (*, C r^2, H, W): pixel_shuffle's inverse."""
    r = _shuffle_factor(input, downscale_factor, "pixel_unshuffle", "downscale_factor")
    *batch, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)"
                           f"={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)"
                           f"={w} is not divisible by {r}")
    b = len(batch)
    y = input.reshape(tuple(batch) + (c, h // r, r, w // r, r))
    y = y.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)
    return y.reshape(tuple(batch) + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """(N, C, *) with its C channels read as (groups, C / groups) and written transposed."""
    g = int(groups)
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{g}")
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    n, c = input.shape[:2]
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {g} groups.")
    rest = tuple(input.shape[2:])
    return input.reshape((n, g, c // g) + rest).transpose(1, 2).reshape(tuple(input.shape))


def _pair(v, name):
    t = (v, v) if isinstance(v, (numbers.Integral, np.integer)) else tuple(v)
    if len(t) != 2:
        raise RuntimeError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(t[0]), int(t[1])


def _blocks(size, kernel_size, dilation, padding, stride):
    """Sliding-block counts along both axes, torch's formula."""
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, d, p, s in zip(size, kernel_size, dilation, padding, stride))


def _fold_args(kernel_size, dilation, padding, stride):
    k, d, p, s = (_pair(kernel_size, "kernel_size"), _pair(dilation, "dilation"), _pair(padding, "padding"),
                  _pair(stride, "stride"))
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {k[0]} kernel_width: "
                           f"{k[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: {d[0]} dilation_width: "
                           f"{d[1]}")
    if min(p) < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {p[0]} pad_width: {p[1]}")
    if min(s) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {s[0]} stride_width: {s[1]}")
    return k, d, p, s


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) to (N, C * kh * kw, L), each column one sliding block (channel-major, then
    kernel rows, then kernel columns, as torch); (C, H, W) gives (C * kh * kw, L). One gather of the
    zero-padded input; its gradient sums where blocks overlap."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = _fold_args(kernel_size, dilation, padding, stride)  # checked first, as torch
    if input.ndim < 3:  # torch's class: its check reads input.size(2)
        raise IndexError(f"Dimension out of range: unfold expects a 3D or 4D (batch mode) input, but got: "
                         f"{_shape_text(input.shape)}")
    if input.ndim not in (3, 4) or 0 in input.shape[input.ndim - 3:]:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {_shape_text(input.shape)}")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    oh, ow = _blocks(x.shape[2:], (kh, kw), (dh, dw), (ph, pw), (sh, sw))
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), kernel_size=({kh}, {kw}), "
                           f"dilation=({dh}, {dw}), padding=({ph}, {pw}), calculated shape of the array of sliding "
                           f"blocks as ({oh}, {ow}), but its components must be at least one.")
    if ph or pw:
        x = pad(x, (pw, pw, ph, ph))
    rows = (np.arange(kh) * dh)[:, None] + (np.arange(oh) * sh)[None, :]  # (kh, oh)
    cols = (np.arange(kw) * dw)[:, None] + (np.arange(ow) * sw)[None, :]  # (kw, ow)
    blocks = x[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, kh, kw, oh, ow)
    n, c = x.shape[:2]
    out = blocks.reshape(n, c * kh * kw, oh * ow)
    return out if input.ndim == 4 else out.reshape(c * kh * kw, oh * ow)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, unfold's adjoint: (N, C * kh * kw, L) blocks summed into (N, C, H, W) (output_size (H, W));
    (C * kh * kw, L) gives (C, H, W). Written as one placement per kernel offset: the (oh, ow) values with
    stride - 1 zeros between them, padded into place, added up, the padding cropped off."""
    if input.ndim not in (2, 3) or 0 in input.shape[input.ndim - 2:]:
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {_shape_text(input.shape)}")
    H, W = _pair(output_size, "output_size")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = _fold_args(kernel_size, dilation, padding, stride)
    x = input if input.ndim == 3 else input.unsqueeze(0)
    n, ck, length = x.shape
    if ck % (kh * kw):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={ck} and kernel_size=({kh}, {kw})")
    oh, ow = _blocks((H, W), (kh, kw), (dh, dw), (ph, pw), (sh, sw))
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given output_size=({H}, {W}), kernel_size=({kh}, {kw}), dilation=({dh}, {dw}), "
                           f"padding=({ph}, {pw}), stride=({sh}, {sw}), calculated shape of the array of sliding "
                           f"blocks as ({oh}, {ow}), but its components must be at least one.")
    if length != oh * ow:
        raise RuntimeError(f"Given output_size=({H}, {W}), kernel_size=({kh}, {kw}), dilation=({dh}, {dw}), "
                           f"padding=({ph}, {pw}), stride=({sh}, {sw}), expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {oh} * {ow} = {oh * ow}, but got "
                           f"input.size(2)={length}.")
    c = ck // (kh * kw)
    hp, wp = H + 2 * ph, W + 2 * pw
    cols = x.reshape(n, c, kh, kw, oh, ow)
    out = None
    for i in range(kh):
        for j in range(kw):
            block = cols[:, :, i, j]  # (n, c, oh, ow)
            if sh > 1:  # rows sh apart: (oh, 1) padded to (oh, sh), read as oh * sh rows
                block = pad(block.unsqueeze(3), (0, 0, 0, sh - 1)).reshape(n, c, oh * sh, ow)
            if sw > 1:
                block = pad(block.unsqueeze(4), (0, sw - 1)).reshape(n, c, oh * sh, ow * sw)
            top, left = i * dh, j * dw
            placed = pad(block, (left, wp - left - ow * sw, top, hp - top - oh * sh))
            out = placed if out is None else out + placed
    if ph or pw:
        out = pad(out, (-pw, -pw, -ph, -ph))
    return out if input.ndim == 3 else out.reshape(c, H, W)


# ---- layers, pooling, distances, dropout ------------------------------------------------------------------

def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    out, in1, in2 = weight.shape
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {_shape_text(input1.shape[:-1])} "
                           f"and {_shape_text(input2.shape[:-1])}")
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {in2}")
    lead = tuple(input1.shape[:-1])
    a = input1.reshape(-1, in1) @ weight.permute(1, 0, 2).reshape(in1, out * in2)  # (B, out * in2)
    y = (a.reshape(-1, out, in2) * input2.reshape(-1, 1, in2)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (out,))


def _single(v, name):
    """The one output size of a 1-D adaptive pool; torch's classes: TypeError for what is not an int or a
    sequence of ints (None too: only the 2-D pools read None as the input's size), RuntimeError for a length."""
    if isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool):
        return int(v)
    try:
        t = tuple(v)
    except TypeError:
        raise TypeError(f"{name}(): argument 'output_size' (position 2) must be tuple of ints, not "
                        f"{type(v).__name__}") from None
    for pos, o in enumerate(t):
        if isinstance(o, bool) or not isinstance(o, (numbers.Integral, np.integer)):
            raise TypeError(f"{name}(): argument 'output_size' (position 2) must be tuple of ints, but found element "
                            f"of type {type(o).__name__} at pos {pos}")
    if len(t) != 1:
        raise RuntimeError(f"{name}() argument 'output_size' should contain one int (got {len(t)})")
    return int(t[0])


def _as_2d(input, name):
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{name}(): Expected 2D or 3D tensor, but got: {_shape_text(input.shape)}")
    return input.unsqueeze(-2)


def adaptive_avg_pool1d(input, output_size):
    """(N, C, L) or (C, L): adaptive_avg_pool2d over (.., 1, L)."""
    x = _as_2d(input, "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(x, (1, _single(output_size, "adaptive_avg_pool1d"))).squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """(N, C, L) or (C, L): adaptive_max_pool2d over (.., 1, L); indices are positions along L."""
    x = _as_2d(input, "adaptive_max_pool1d")
    size = _single(output_size, "adaptive_max_pool1d")
    check_adaptive_nonempty(input, 1, "adaptive_max_pool1d")  # as the 2-D check would, in torch's words
    out = adaptive_max_pool2d(x, (1, size), return_indices)
    return (out[0].squeeze(-2), out[1].squeeze(-2)) if return_indices else out.squeeze(-2)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool3d(input, output_size, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, area, avg_pool, max_pool):
    """torch's composite: (area * avg_pool(x ** p)) ** (1 / p), the pooled value passed through
    sign(.) * relu(|.|) first (its gradient is 0 where a window's sum is 0, where pow's is infinite);
    p = +-inf: the largest (smallest) |x| of each window."""
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        if norm_type > 0:
            return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    if isinstance(area, bool) or not isinstance(area, (numbers.Integral, np.integer)):  # torch: out.mul(kernel_size)
        raise TypeError(f"mul(): argument 'other' (position 1) must be Tensor, not {type(area).__name__} (lp_pool1d: "
                        "kernel_size must be an int)")
    return (out.sign() * _E.relu(out.abs())).mul(area).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of (N, C, L) or (C, L): (sum of x ** p over each window) ** (1 / p), from
    avg_pool1d as torch's (a window whose sum of powers is 0 gets a zero gradient; with ceil_mode an
    overhanging window's sum is its average times the full kernel_size, as torch). kernel_size is an
    int (torch: TypeError for a tuple, but for p = +-inf); norm_type 0 is Python's ZeroDivisionError."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, kernel_size, avg_pool1d, max_pool1d)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of (N, C, H, W) or (C, H, W), from avg_pool2d as torch's (see lp_pool1d)."""
    kw, kh = tuple(kernel_size) if isinstance(kernel_size, Iterable) else (kernel_size, kernel_size)
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, kw * kh, avg_pool2d, max_pool2d)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of (N, C, D, H, W) or (C, D, H, W), from avg_pool3d as torch's (see lp_pool1d)."""
    kd, kh, kw = tuple(kernel_size) if isinstance(kernel_size, Iterable) else (kernel_size,) * 3
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, kd * kh * kw, avg_pool3d, max_pool3d)


def pdist(input, p=2):
    """The p-norm distances between the rows of an (N, M) input, pairs i < j in row-major order (N (N-1) / 2)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = np.triu_indices(input.shape[0], 1)
    if input.shape[1] == 0:  # every distance between empty rows is 0 (torch); norm(inf) has no identity there
        return (input[i] - input[j]).sum(dim=1)
    return (input[i] - input[j]).norm(p, dim=1)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of (N, C, L) (or (C, L)) with probability p while training."""
    _dropout._check_p(p, "dropout1d")  # before the rank, as torch: a bad p and a bad rank is torch's ValueError
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if input.ndim == 2:  # unbatched (C, L): one draw per channel
        if inplace:
            out = _dropout._dropout(input.unsqueeze(0), p, training, False, _dropout.DropoutFn, True, "dropout1d")
            return input.copy_(out.squeeze(0))
        return _dropout._dropout(input.unsqueeze(0), p, training, False, _dropout.DropoutFn, True,
                                 "dropout1d").squeeze(0)
    return _dropout._dropout(input, p, training, inplace, _dropout.DropoutFn, True, "dropout1d")


# ---- deprecated aliases of interpolate -------------------------------------------------------------------

def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- spatial transformers ----------------------------------------------------------------------------------

def _affine_base_axis(n, align_corners, dtype):
    """torch's linspace_from_neg_one: n points from -1 to 1 (pixel centres: scaled by (n - 1) / n
    without align_corners), the single point 0 for n <= 1."""
    if n <= 1:
        return np.zeros(max(n, 0), dtype)
    axis = np.linspace(-1, 1, n, dtype=dtype)
    return axis if align_corners else axis * dtype.type(n - 1) / dtype.type(n)


def affine_grid(theta, size, align_corners=None):
    """As torch.nn.functional.affine_grid: the sampling grid (N, H, W, 2) of the affine maps theta
    (N, 2, 3) for an output of size (N, C, H, W), or (N, D, H, W, 3) of theta (N, 3, 4) for (N, C, D, H, W):
    each pixel centre's (x, y[, z], 1) times theta transposed (a matmul, so the grid is differentiable
    in theta). torch's argument errors and UserWarnings (align_corners=None, then False; unit-size
    grids with align_corners=True)."""
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                      "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                      "documentation of grid_sample for details.", stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got torch.{theta._data.dtype}")
    size = tuple(size)
    if len(size) == 4:
        if theta.ndim != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got "
                             f"torch.Size({_shape_text(theta.shape)}).")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.ndim != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got "
                             f"torch.Size({_shape_text(theta.shape)}).")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the "
                      "documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    for i, v in enumerate(size):
        if not isinstance(v, (numbers.Integral, np.integer)) or isinstance(v, bool):
            raise TypeError(f"affine_grid_generator(): argument 'size' (position 2) must be tuple of ints, but "
                            f"found element of type {type(v).__name__} at pos {i}")
    n, k = size[0], len(spatial)
    if theta.shape[0] != n:  # torch's bmm: no batch broadcasting
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {k + 1}] but "
                           f"got: [{theta.shape[0]}, {k + 1}].")
    dtype = theta._data.dtype
    axes = [_affine_base_axis(m, align_corners, dtype) for m in reversed(spatial)]  # x (width) first
    points = list(np.meshgrid(*axes[::-1], indexing="ij"))[::-1]                  # (x, y[, z]) per pixel
    base = np.stack(points + [np.ones_like(points[0])], -1).reshape(1, -1, k + 1)
    grid = _constant(base, theta).matmul(theta.transpose(1, 2))                   # (N, pixels, k)
    return grid.reshape((n,) + tuple(spatial) + (k,))
