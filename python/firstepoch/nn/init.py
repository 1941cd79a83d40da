"""Weight initialisation, in place, PyTorch's formulas (gain, fan_in/fan_out, 'fan_in' default mode).

Each function takes a Tensor (or Parameter), `tensor` as torch names it, and fills its data from firstepoch's seeded generator.
"""
import math
import warnings

import numpy as np

from .. import random as _random
from ..ops.elementwise import erfc as _erfc


def _fans(shape):
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
                         f"(fan in/out need at least 2 dimensions, got shape {tuple(shape)})")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight: shape[1] and shape[0] times the receptive field (torch's private
    helper, which ported reset_parameters() code calls); fewer than 2 dimensions is a ValueError."""
    return _fans(tuple(tensor.shape))


def _calculate_correct_fan(tensor, mode):
    """fan_in or fan_out by mode, case-insensitive as torch's ('FAN_OUT' works); another is a ValueError."""
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes} "
                         "(mode must be 'fan_in' or 'fan_out')")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """torch's table: 1 (the int, as torch) for the linear functions and sigmoid, 5/3 tanh, sqrt(2) relu,
    sqrt(2 / (1 + slope^2)) leaky_relu (slope param, default 0.01; a bool or non-number is a ValueError),
    3/4 selu; any other name is a ValueError."""
    if nonlinearity in _LINEAR_GAIN:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fill(tensor, values):
    tensor._data[...] = values  # casts while it copies: an astype() first costs a second pass and a fresh array
    return tensor


def _random_floats(tensor, kernel, empty_ok=False):
    """torch's random fills have no integer kernel: an integer or bool tensor is its NotImplementedError
    (for normal_ and trunc_normal_ only when it has elements, as torch)."""
    if tensor._data.dtype.kind not in "fc" and not (empty_ok and tensor._data.size == 0):
        raise NotImplementedError(f'"{kernel}" not implemented for {tensor.dtype} (the tensor to initialise '
                                  "must be floating point)")


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    _random_floats(tensor, "check_uniform_bounds")
    return _fill(tensor, _random.as_generator(generator, "uniform_").uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    _random_floats(tensor, "normal_kernel_cpu", empty_ok=True)
    return _fill(tensor, _random.as_generator(generator, "normal_").normal(mean, std, tensor.shape))


def constant_(tensor, val):
    tensor._data[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _fans(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _fans(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _zero_element(tensor):
    """PyTorch: initialising a tensor with no elements is a no-op, with a warning (its fans may be 0)."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if _zero_element(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if _zero_element(tensor):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Normal(mean, std) values restricted to [a, b] (the bounds are absolute values, as torch's), with
    torch's warning when mean is more than 2 std outside [a, b]. Values are redrawn until they lie in
    [a, b] while that accepts at least 1% of draws; past that (an interval far in a tail) by the inverse
    CDF, as torch's method, so it always ends."""
    _random_floats(tensor, "check_uniform_bounds", empty_ok=True)
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values "
                      "may be incorrect.", stacklevel=2)
    rng = _random.as_generator(generator, "trunc_normal_")
    lo, hi = (a - mean) / std, (b - mean) / std

    def cdf(x):  # the standard normal's, from ops' NumPy erfc: its relative precision holds far in the lower tail
        return 0.5 * _erfc(-np.asarray(x, dtype=np.float64) / math.sqrt(2.0))

    if float(cdf(hi) - cdf(lo)) >= 0.01:
        out = rng.normal(mean, std, tensor.shape)
        bad = (out < a) | (out > b)
        while bad.any():
            out[bad] = rng.normal(mean, std, int(bad.sum()))
            bad = (out < a) | (out > b)
    else:  # invert the CDF by bisection (in standard units) at uniform points between cdf(lo) and cdf(hi)
        flip = lo > 0  # an upper-tail interval is inverted as its mirror image in the lower tail
        if flip:
            lo, hi = -hi, -lo
        target = rng.uniform(float(cdf(lo)), float(cdf(hi)), tensor.shape)
        left, right = np.full(target.shape, max(lo, -40.0)), np.full(target.shape, min(hi, 40.0))
        for _ in range(60):
            mid = (left + right) / 2
            below = cdf(mid) < target
            left, right = np.where(below, mid, left), np.where(below, right, mid)
        z = (left + right) / 2
        out = np.clip(mean + std * (-z if flip else z), a, b)
    return _fill(tensor, out)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal one, over the tensor viewed as
    (shape[0], rest), times gain (torch's method); fewer than 2 dimensions is torch's ValueError."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor  # no-op
    _random_floats(tensor, "normal_kernel_cpu")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _random.as_generator(generator, "orthogonal_").normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the decomposition unique (uniform over orthogonal matrices)
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def eye_(tensor):
    """The identity (ones on the diagonal of a 2-D tensor, rectangular allowed); other ranks are torch's
    ValueError."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """A sparse 2-D matrix (Martens, 2010), torch's method: normal(0, std) values, then in each column
    ceil(sparsity * rows) entries at distinct random rows set to 0; other ranks are torch's ValueError.
    The zero rows come from `generator` too (torch draws them from its global generator whatever
    `generator` is), so one seed fixes the whole result."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    _random_floats(tensor, "normal_kernel_cpu", empty_ok=True)
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    rng = _random.as_generator(generator, "sparse_")
    values = rng.normal(0.0, std, (rows, cols))
    # a random permutation of the rows of each column (argsort of uniform keys); its first num_zeros
    # rows are zeroed, sliced as torch slices randperm(rows)[:num_zeros]
    order = np.argsort(rng.random((rows, cols)), axis=0)[:num_zeros]
    values[order, np.arange(cols)] = 0.0
    return _fill(tensor, values)


def dirac_(tensor, groups=1):
    """The Dirac delta of a 3-, 4- or 5-D convolution weight (out, in, *kernel): each output channel
    copies its input channel at the kernel's centre, in each of `groups` groups (torch's layout); other
    ranks, or out channels that groups does not divide, are torch's ValueError."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    min_dim = min(out_per_group, sizes[1])
    out = np.zeros(sizes)
    centre = tuple(k // 2 for k in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            out[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, out)
