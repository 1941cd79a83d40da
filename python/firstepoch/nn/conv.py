"""Convolution layers (NCHW, and NCDHW for Conv3d; PyTorch's parameter layout and initialisation) over
firstepoch.ops.conv."""
import math

import numpy as np

from ..ops import conv as _conv, pool as _pool
from ..ops.conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, pair
from ..ops.pad import pad
from . import init
from .module import factory_dtype, Module, Parameter


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_common(name, in_channels, out_channels, kernel, groups, padding, padding_mode):
    """torch's constructor checks shared by the convolution layers (ValueError, as torch)."""
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} and "
                         f"out_channels={out_channels}")
    if in_channels < 0 or out_channels < 0 or min(kernel) < 0:  # torch.empty's error for the weight
        raise RuntimeError(f"Trying to create tensor with negative dimension: {name}: in_channels={in_channels}, "
                           f"out_channels={out_channels} and kernel_size={kernel} must be >= 0")
    if min(kernel) < 1:
        raise ValueError(f"{name}: kernel_size must be >= 1, got {kernel}")
    if isinstance(padding, str) and padding not in ("same", "valid"):
        raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {{'zeros', 'reflect', 'replicate', 'circular'}}, but got "
                         f"padding_mode={padding_mode!r}")


def _check_transpose_padding(name, padding):
    """A string padding ('same', 'valid'), which torch's transposed layers take and fail on at forward
    (README, "Porting from PyTorch"), is refused at construction."""
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int or a tuple of ints, got {padding!r} (string padding is "
                         f"for Conv layers only)")


def _reset_parameters(module):
    """PyTorch's default initialisation of a convolution's weight and bias (torch's _ConvNd.reset_parameters):
    fan_in from the weight, weight.shape[1] * kernel elements (in/groups for a convolution, out/groups for
    a transposed one)."""
    fan_in = int(module.weight.shape[1] * np.prod(module.weight.shape[2:]))
    init.kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0  # as PyTorch
        init.uniform_(module.bias, -bound, bound)


def _explicit_padding(padding, kernel, dilation):
    """F.pad's tuple (last dimension first) for a padding_mode other than 'zeros', as torch's
    _reversed_padding_repeated_twice: 'same' splits each dilated reach with the odd one at the end."""
    if padding == "valid":
        padding = (0,) * len(kernel)
    if padding == "same":
        pairs = _conv.same_padding(kernel, dilation)
    else:
        pairs = [(p, p) for p in padding]
    return tuple(v for before, after in reversed(pairs) for v in (before, after))


def _conv_repr(m, has_bias=None):
    """torch's _ConvNd.extra_repr: the arguments that differ from their defaults (has_bias: whether a lazy
    layer will make a bias, which it does not hold yet)."""
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    n = len(m.kernel_size)
    if m.padding != (0,) * n:
        s += f", padding={m.padding}"
    if m.dilation != (1,) * n:
        s += f", dilation={m.dilation}"
    if getattr(m, "output_padding", (0,) * n) != (0,) * n:
        s += f", output_padding={m.output_padding}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if not (m.bias is not None if has_bias is None else has_bias):
        s += ", bias=False"
    if m.padding_mode != "zeros":
        s += f", padding_mode={m.padding_mode}"
    return s


class Conv2d(Module):
    """As torch.nn.Conv2d: padding an int, a pair, 'valid' or 'same' (stride 1 only); padding_mode 'zeros'
    (the convolution pads), 'reflect', 'replicate' or 'circular' (F.pad first, then a convolution without
    padding, as torch). Input (N, C, H, W) or unbatched (C, H, W)."""
    transposed, output_padding = False, (0, 0)  # torch's _ConvNd attributes

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        super().__init__()
        kh, kw = pair(kernel_size, "kernel_size")
        _check_common("Conv2d", in_channels, out_channels, (kh, kw), groups, padding, padding_mode)
        if padding == "same" and pair(stride, "stride") != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels, self.out_channels = in_channels, out_channels
        # as torch: kernel_size, stride, padding and dilation are stored as pairs (padding may be a string)
        self.kernel_size, self.stride = (kh, kw), pair(stride, "stride")
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding")
        self.dilation, self.groups, self.padding_mode = pair(dilation, "dilation"), groups, padding_mode
        self._reversed_padding_repeated_twice = _explicit_padding(self.padding, (kh, kw), self.dilation)
        self.weight = Parameter(np.empty((out_channels, in_channels // groups, kh, kw), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _reset_parameters(self)

    def _conv_forward(self, input, weight, bias):
        """torch's _ConvNd._conv_forward: the convolution with a given weight and bias (subclasses that
        transform the weight, e.g. weight standardisation, call it from their forward)."""
        if self.padding_mode != "zeros":
            return conv2d(pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode), weight, bias,
                          self.stride, 0, self.dilation, self.groups)
        return conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)

    # nn.Sequential's fusion hook: this layer can apply the activation that follows it in its kernel
    def absorbs_activation(self, activation):
        """Whether forward_with_activation(x, activation) is one kernel call (ops.conv decides); not with
        string padding or a padding_mode (those pad first)."""
        return _conv.fusable(activation) and self.padding_mode == "zeros" and not isinstance(self.padding, str)

    def forward_with_activation(self, x, activation):
        """activation(self(x)), the activation applied by the convolution kernel to each output tile."""
        if x.ndim == 3:  # unbatched
            return self.forward_with_activation(x.unsqueeze(0), activation).squeeze(0)
        return _conv.Conv2dFn.apply(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                                    dilation=self.dilation, groups=self.groups, activation=activation)

    def absorbs_pool(self, activation, kind):
        """Whether forward_with_activation_and_pool(x, activation, pool) is one op for a pool of this kind: a
        ReLU and a max pool (ops.pool.Conv2dReLUMaxPoolFn), where the activation alone can be fused."""
        return activation == "relu" and kind == "max" and self.absorbs_activation(activation)

    def forward_with_activation_and_pool(self, x, activation, pool):
        """pool(activation(self(x))) as one op: the convolution kernel applies the ReLU, the pool kernel
        takes its output, and backward masks and sums the pooled gradient (ops.pool.Conv2dReLUMaxPoolFn)."""
        if x.ndim == 3:  # unbatched
            return self.forward_with_activation_and_pool(x.unsqueeze(0), activation, pool).squeeze(0)
        return _pool.Conv2dReLUMaxPoolFn.apply(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                               self.groups, pool.kernel_size, pool.stride, pool.padding,
                                               pool.dilation, bool(pool.ceil_mode))

    def extra_repr(self):
        return _conv_repr(self)


class Conv1d(Module):
    """As torch.nn.Conv1d over (N, C, L) or unbatched (C, L); padding and padding_mode as Conv2d."""
    transposed, output_padding = False, (0,)  # torch's _ConvNd attributes

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        super().__init__()
        k = _conv._single(kernel_size, "kernel_size")
        _check_common("Conv1d", in_channels, out_channels, (k,), groups, padding, padding_mode)
        if padding == "same" and _conv._single(stride, "stride") != 1:
            raise ValueError("padding='same' is not supported for strided convolutions")
        # as torch: kernel_size, stride, padding and dilation are stored as 1-tuples (padding may be a string)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (k,)
        self.stride = (_conv._single(stride, "stride"),)
        self.padding = padding if isinstance(padding, str) else (_conv._single(padding, "padding"),)
        self.dilation, self.groups = (_conv._single(dilation, "dilation"),), groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = _explicit_padding(self.padding, (k,), self.dilation)
        self.weight = Parameter(np.empty((out_channels, in_channels // groups, k), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _reset_parameters(self)

    def _conv_forward(self, input, weight, bias):
        """torch's _ConvNd._conv_forward: the convolution with a given weight and bias (subclasses that
        transform the weight, e.g. weight standardisation, call it from their forward)."""
        if self.padding_mode != "zeros":
            return conv1d(pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode), weight, bias,
                          self.stride, 0, self.dilation, self.groups)
        return conv1d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)

    def extra_repr(self):
        return _conv_repr(self)


class ConvTranspose2d(Module):
    """As torch.nn.ConvTranspose2d: weight (in_channels, out_channels/groups, kh, kw), PyTorch's
    initialisation; output size (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1, or the
    one forward's output_size asks for. padding_mode 'zeros' only (as torch). Input (N, C, H, W) or
    unbatched (C, H, W)."""
    transposed = True  # torch's _ConvNd attribute

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        super().__init__()
        kh, kw = pair(kernel_size, "kernel_size")
        _check_transpose_padding(type(self).__name__, padding)
        _check_common(type(self).__name__, in_channels, out_channels, (kh, kw), groups, padding, padding_mode)
        if padding_mode != "zeros":
            raise ValueError('Only "zeros" padding mode is supported for ConvTranspose2d')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), pair(stride, "stride"), pair(padding, "padding")
        self.output_padding, self.groups = pair(output_padding, "output_padding"), groups
        self.dilation, self.padding_mode = pair(dilation, "dilation"), padding_mode
        self.weight = Parameter(np.empty((in_channels, out_channels // groups, kh, kw), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def _output_padding(self, x, output_size):
        """The output_padding that makes the output output_size (torch's rule: within one stride of the
        smallest size)."""
        if output_size is None:
            return self.output_padding
        spatial = self.weight.ndim - 2
        output_size = list(output_size)
        # as torch: the leading (N, C) of a batched input, or (C,) of an unbatched one, may be given too
        non_spatial = 2 if x.ndim == spatial + 2 else 1
        if len(output_size) == spatial + non_spatial:
            output_size = output_size[non_spatial:]
        if len(output_size) != spatial:
            raise ValueError(f"ConvTranspose{spatial}d: for {x.ndim}D input, output_size must have {spatial} or "
                             f"{spatial + non_spatial} elements (got {len(output_size)})")
        sizes = x.shape[-spatial:]
        pads = []
        for i, want in enumerate(output_size):
            s, p, d, k = self.stride[i], self.padding[i], self.dilation[i], self.kernel_size[i]
            smallest = (sizes[i] - 1) * s - 2 * p + d * (k - 1) + 1
            if not smallest <= want <= smallest + s - 1:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes range from "
                                 f"{smallest} to {smallest + s - 1} (for an input of {list(sizes)})")
            pads.append(want - smallest)
        return tuple(pads)

    def reset_parameters(self):
        _reset_parameters(self)

    def forward(self, input, output_size=None):
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups, self.dilation)

    def extra_repr(self):
        return _conv_repr(self)


class ConvTranspose1d(ConvTranspose2d):
    """As torch.nn.ConvTranspose1d over (N, C, L) or unbatched (C, L): weight (in_channels,
    out_channels/groups, k); a ConvTranspose2d over (N, C, 1, L)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        if padding_mode != "zeros":
            raise ValueError('Only "zeros" padding mode is supported for ConvTranspose1d')
        _check_transpose_padding("ConvTranspose1d", padding)
        one = {n: (_conv._single(v, n),) for n, v in (("kernel_size", kernel_size), ("stride", stride),
                                                      ("padding", padding), ("output_padding", output_padding),
                                                      ("dilation", dilation))}
        super().__init__(in_channels, out_channels, (1,) + one["kernel_size"], (1,) + one["stride"],
                         (0,) + one["padding"], (0,) + one["output_padding"], groups, bias, (1,) + one["dilation"],
                         padding_mode, dtype=dtype)
        self.kernel_size, self.stride, self.padding = one["kernel_size"], one["stride"], one["padding"]
        self.output_padding, self.dilation = one["output_padding"], one["dilation"]
        # PyTorch's layout (in, out/groups, k): the 2-D layer's weight without its height-1 axis
        self.weight = Parameter(self.weight.detach().numpy().reshape(in_channels, out_channels // groups,
                                                                     self.kernel_size[0]))

    def forward(self, input, output_size=None):
        return conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups, self.dilation)


def _layer_triple(v, name, layer="Conv3d"):
    """A 3-D layer's constructor argument as three ints; a wrong length is a ValueError at construction, as
    the other layers' (README, "Porting from PyTorch")."""
    try:
        return _conv._conv3d_triple(v, name)
    except RuntimeError as e:
        raise ValueError(f"{layer}: {e}") from None


class Conv3d(Module):
    """As torch.nn.Conv3d: weight (out_channels, in_channels/groups, kd, kh, kw), torch's initialisation;
    padding an int, three ints, 'valid' or 'same' (stride 1 only); padding_mode 'zeros', 'reflect',
    'replicate' or 'circular' (F.pad first, as torch). Input (N, C, D, H, W) or unbatched (C, D, H, W)."""
    transposed, output_padding = False, (0, 0, 0)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        super().__init__()
        k, stride, dilation = (_layer_triple(v, n) for v, n in ((kernel_size, "kernel_size"), (stride, "stride"),
                                                                 (dilation, "dilation")))
        _check_common("Conv3d", in_channels, out_channels, k, groups, padding, padding_mode)
        if padding == "same" and stride != (1, 1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = k, stride
        self.padding = padding if isinstance(padding, str) else _layer_triple(padding, "padding")
        self.dilation, self.groups = dilation, groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = _explicit_padding(self.padding, k, self.dilation)
        self.weight = Parameter(np.empty((out_channels, in_channels // groups) + k, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _reset_parameters(self)

    def _conv_forward(self, input, weight, bias):
        """torch's _ConvNd._conv_forward (see Conv2d's)."""
        if self.padding_mode != "zeros":
            return conv3d(pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode), weight, bias,
                          self.stride, 0, self.dilation, self.groups)
        return conv3d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)

    def extra_repr(self):
        return _conv_repr(self)


class ConvTranspose3d(Module):
    """As torch.nn.ConvTranspose3d: weight (in_channels, out_channels/groups, kd, kh, kw), torch's
    initialisation; output size (D-1)*stride - 2*padding + dilation*(kd-1) + output_padding + 1 per axis,
    or the one forward's output_size asks for. padding_mode 'zeros' only (as torch). Input (N, C, D, H, W)
    or unbatched (C, D, H, W). NumPy code (ops.conv.ConvTranspose3dFn), no C++ kernel."""
    transposed = True  # torch's _ConvNd attribute

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        super().__init__()
        name = type(self).__name__
        _check_transpose_padding(name, padding)
        k, stride, padding, output_padding, dilation = (
            _layer_triple(v, n, name) for v, n in ((kernel_size, "kernel_size"), (stride, "stride"),
                                                   (padding, "padding"), (output_padding, "output_padding"),
                                                   (dilation, "dilation")))
        _check_common(name, in_channels, out_channels, k, groups, padding, padding_mode)
        if padding_mode != "zeros":
            raise ValueError('Only "zeros" padding mode is supported for ConvTranspose3d')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = k, stride, padding
        self.output_padding, self.groups = output_padding, groups
        self.dilation, self.padding_mode = dilation, padding_mode
        self.weight = Parameter(np.empty((in_channels, out_channels // groups) + k, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    _output_padding = ConvTranspose2d._output_padding  # the same rule over three axes

    def reset_parameters(self):
        _reset_parameters(self)

    def forward(self, input, output_size=None):
        return conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups, self.dilation)

    def extra_repr(self):
        return _conv_repr(self)


class _LazyConv:
    """torch's _LazyConvXdMixin: in_channels is the first input's dim 1 (dim 0 of an unbatched input); at
    that first forward the weight ((out, in/groups, *kernel), or (in, out/groups, *kernel) for a
    transposed layer) and bias are made and initialised as the layer's reset_parameters does, and the
    module becomes its cls_to_become (Conv1d, ...). Until then in_channels is 0, as torch's. Deliberate
    difference, as LazyLinear: until then weight and bias are None (torch: UninitializedParameter), so
    parameters() and state_dict() leave them out: build the optimizer and load a state dict after a first
    forward."""
    cls_to_become = None

    def _make_lazy(self, out_channels, bias, dtype):
        """After cls_to_become.__init__ with zero channels and no bias: the empty slots and what to make."""
        self.weight = None  # (the slot stays, in its place)
        del self.bias  # (a plain None attribute: bias=False was asked for)
        self.register_parameter("bias", None)
        self.out_channels = out_channels
        self._lazy = (bias, dtype)

    def has_uninitialized_params(self):
        return self.weight is None

    def _get_in_channels(self, input):
        spatial = len(self.kernel_size)
        if input.ndim not in (spatial + 1, spatial + 2):
            raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {tuple(input.shape)}")
        return int(input.shape[1] if input.ndim == spatial + 2 else input.shape[0])

    def initialize_parameters(self, input):
        """Makes and initialises weight and bias for the input's channels, then the module becomes its
        cls_to_become; in_channels not divisible by groups is torch's ValueError."""
        if "_lazy" not in self.__dict__:
            return
        in_channels = self._get_in_channels(input)
        if in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        bias, dtype = self._lazy
        self.in_channels = in_channels
        shape = ((in_channels, self.out_channels // self.groups) if self.transposed
                 else (self.out_channels, in_channels // self.groups))
        self.weight = Parameter(np.empty(shape + tuple(self.kernel_size), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        del self._lazy
        self.__class__ = self.cls_to_become
        self.reset_parameters()

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            _reset_parameters(self)

    def forward(self, input, *args, **kwargs):
        self.initialize_parameters(input)
        return self.forward(input, *args, **kwargs)

    # nn.Sequential's fusion hooks (Conv2d's) may be called before forward
    def forward_with_activation(self, x, activation):
        self.initialize_parameters(x)
        return self.forward_with_activation(x, activation)

    def forward_with_activation_and_pool(self, x, activation, pool):
        self.initialize_parameters(x)
        return self.forward_with_activation_and_pool(x, activation, pool)

    def extra_repr(self):
        return _conv_repr(self, self._lazy[0])


class _LazyConvN(_LazyConv):
    """The convolutions' constructor (torch's LazyConv1d/2d/3d signature): cls_to_become's with no input
    channels yet."""

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        self.cls_to_become.__init__(self, 0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode,
                                    dtype=dtype)
        self._make_lazy(out_channels, bias, dtype)


class _LazyConvTransposeN(_LazyConv):
    """The transposed convolutions' constructor (torch's LazyConvTranspose1d/2d/3d signature)."""

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        self.cls_to_become.__init__(self, 0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
                                    padding_mode, dtype=dtype)
        self._make_lazy(out_channels, bias, dtype)


class LazyConv1d(_LazyConvN, Conv1d):
    """Conv1d whose in_channels the first input sets (see _LazyConv)."""
    cls_to_become = Conv1d


class LazyConv2d(_LazyConvN, Conv2d):
    """Conv2d whose in_channels the first input sets (see _LazyConv)."""
    cls_to_become = Conv2d


class LazyConv3d(_LazyConvN, Conv3d):
    """Conv3d whose in_channels the first input sets (see _LazyConv)."""
    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTransposeN, ConvTranspose1d):
    """ConvTranspose1d whose in_channels the first input sets (see _LazyConv)."""
    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeN, ConvTranspose2d):
    """ConvTranspose2d whose in_channels the first input sets (see _LazyConv)."""
    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeN, ConvTranspose3d):
    """ConvTranspose3d whose in_channels the first input sets (see _LazyConv)."""
    cls_to_become = ConvTranspose3d
