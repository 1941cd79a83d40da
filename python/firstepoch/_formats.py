"""torch's memory formats and layout, with torch's names: `memory_format` values (`contiguous_format`,
`channels_last`, `channels_last_3d`, `preserve_format`) and the one `layout`, `strided`.

A firstepoch Tensor is a NumPy array, so its strides are real: `x.contiguous(memory_format=
channels_last)` gives the NHWC-ordered strides torch gives, and `is_contiguous(memory_format=...)`
answers torch's question about the strides x has. The kernels read any strides (a channels-last
input is copied to NCHW inside a convolution), so a layout changes speed only, never a value.
"""


class _Value:
    __slots__ = ("_name",)

    def __new__(cls, *args, **kwargs):
        raise TypeError(f"cannot create 'firstepoch.{cls.__name__}' instances")

    def __repr__(self):
        return "firstepoch." + self._name

    def __reduce__(self):  # pickles as the module-level name, so a load gives the same object
        return self._name


class memory_format(_Value):
    """A memory format (torch.memory_format): one of firstepoch's four values, never made by hand."""
    __slots__ = ()


class layout(_Value):
    """A tensor layout (torch.layout): firstepoch has one, `strided` (dense, with strides)."""
    __slots__ = ()


def _value(cls, name):
    obj = object.__new__(cls)
    obj._name = name
    return obj


contiguous_format = _value(memory_format, "contiguous_format")
channels_last = _value(memory_format, "channels_last")
channels_last_3d = _value(memory_format, "channels_last_3d")
preserve_format = _value(memory_format, "preserve_format")
strided = _value(layout, "strided")

# the channels-last formats: (rank they need, the axis order of their memory, outermost first)
_CHANNELS_LAST = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def check_memory_format(fmt, who, default=None):
    """fmt itself, after torch's TypeError for a value that is not a memory format; None is `default`
    where the torch function takes None (clone, to, the *_like constructors), else a TypeError."""
    if fmt is None and default is not None:
        return default
    if type(fmt) is not memory_format:
        kind = type(fmt)
        name = f"firstepoch.{kind.__name__}" if issubclass(kind, _Value) else kind.__name__
        raise TypeError(f"{who}(): argument 'memory_format' must be firstepoch.memory_format, not {name}")
    return fmt


def channels_last_order(fmt, ndim, who, default=None):
    """The memory order of a channels-last fmt for a tensor of ndim axes (torch's RuntimeError for the
    wrong rank), or None for contiguous_format and preserve_format (and None where `default` allows it)."""
    fmt = check_memory_format(fmt, who, default)
    if fmt not in _CHANNELS_LAST:
        return None
    rank, order = _CHANNELS_LAST[fmt]
    if ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt._name} format")
    return order


def is_contiguous_as(array, fmt):
    """torch's is_contiguous(memory_format=fmt) for an array: its strides step through memory in fmt's
    axis order with no gap (axes of size 1 ignored); a channels-last fmt of the wrong rank is False."""
    if check_memory_format(fmt, "is_contiguous") not in _CHANNELS_LAST:
        return bool(array.flags.c_contiguous)
    rank, order = _CHANNELS_LAST[fmt]
    if array.ndim != rank:
        return False
    expected = array.itemsize
    for axis in reversed(order):  # innermost first
        if array.shape[axis] != 1:
            if array.strides[axis] != expected:
                return False
            expected *= array.shape[axis]
    return True
