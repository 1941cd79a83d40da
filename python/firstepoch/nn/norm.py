"""Normalisation layers: batch norm and instance norm (running statistics live in buffers and travel in
state_dict), layer norm, group norm, RMS norm and local response norm."""
import numbers
import warnings

import numpy as np

from .._device import check_device
from ..autograd.function import bump_version
from ..ops.norm import BatchNormFn, group_norm, layer_norm
from .composite import instance_norm, local_response_norm, rms_norm
from .module import factory_dtype, Module, Parameter


class _BatchNorm(Module):
    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        super().__init__()
        if num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be positive, got {num_features}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight, self.bias = _affine_params(num_features, dtype, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    # as torch: a state dict without num_batches_tracked (older checkpoints) loads, the count set to 0
    _optional_state = {"num_batches_tracked": 0}

    def reset_running_stats(self):
        """As torch: running mean 0, running variance 1, the batch counter 0 (in place)."""
        if self.track_running_stats:
            for buf, value in ((self.running_mean, 0), (self.running_var, 1), (self.num_batches_tracked, 0)):
                buf._data[...] = value
                bump_version(buf)

    def reset_parameters(self):
        """As torch: reset_running_stats, then weight ones and bias zeros."""
        self.reset_running_stats()
        _reset_affine(self)

    def forward(self, input):
        if input.ndim not in self.expected_dims:  # as torch: a wrong rank is a ValueError ...
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input of "
                             f"{' or '.join(map(str, self.expected_dims))} dims, got {tuple(input.shape)}")
        if input.shape[1] != self.num_features:  # ... and a wrong channel count a RuntimeError
            raise RuntimeError(f"{type(self).__name__}({self.num_features}): expected input with "
                               f"{self.num_features} channels, got {tuple(input.shape)}")
        for name in ("weight", "running_mean"):  # as torch (RuntimeError, its message), before the counter moves
            p = getattr(self, name, None)  # (no running_mean without track_running_stats)
            if p is not None and input.dtype != p.dtype:
                raise RuntimeError(f"mixed dtype (CPU): all inputs must share same datatype. ({type(self).__name__}: "
                                   f"input {input.dtype}, {name} {p.dtype})")
        use_batch = self.training or not self.track_running_stats
        rm = self.running_mean if self.track_running_stats else None
        rv = self.running_var if self.track_running_stats else None
        factor = self.momentum
        if self.training and self.track_running_stats:
            counter = self.num_batches_tracked  # (its array in place: a Tensor op costs microseconds a batch)
            counter._data += 1
            bump_version(counter)
            if self.momentum is None:  # as torch: the cumulative moving average of the batches' statistics
                factor = 1.0 / float(self.num_batches_tracked)
        # training: batch statistics, running ones updated; evaluation: the running statistics
        return BatchNormFn.apply(input, self.weight, self.bias, rm, rv, use_batch, 0.0 if factor is None else factor,
                                 self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L)."""
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W)."""
    expected_dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Over (N, C, D, H, W)."""
    expected_dims = (5,)


def _check_dtype(name, dtype):
    dtype = np.dtype(np.float32 if dtype is None else dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name}: dtype must be float32 or float64, got {dtype}")
    return dtype


def _affine_params(shape, dtype, affine, bias):
    """(weight, bias) of a normalisation layer: ones and zeros of shape, None where affine (or bias) is off."""
    if not affine:
        return None, None
    return Parameter(np.ones(shape, dtype)), Parameter(np.zeros(shape, dtype)) if bias else None


def _reset_affine(m):
    """torch's reset_parameters of an affine normalisation: weight ones, bias zeros."""
    if m.weight is not None:
        m.weight._data[...] = 1
    if m.bias is not None:
        m.bias._data[...] = 0


class LayerNorm(Module):
    """As torch.nn.LayerNorm: normalises over the last len(normalized_shape) dims of the input, then
    weight * xhat + bias (weight ones, bias zeros, each of shape normalized_shape; bias=False or
    elementwise_affine=False leave them None). dtype: float32 (the default) or float64."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        check_device(device, "LayerNorm")
        dtype = _check_dtype("LayerNorm", dtype)
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(d) for d in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.weight, self.bias = _affine_params(self.normalized_shape, dtype, elementwise_affine, bias)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """As torch.nn.GroupNorm: the input's channels (axis 1 of (N, C, *)) in num_groups groups, each
    sample's group normalised by its own statistics, then weight * xhat + bias per channel (weight ones,
    bias zeros; affine=False or bias=False leave them None). dtype: float32 (the default) or float64."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        check_device(device, "GroupNorm")
        dtype = _check_dtype("GroupNorm", dtype)
        if num_groups == 0:
            raise ZeroDivisionError("integer modulo by zero")  # as PyTorch
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight, self.bias = _affine_params(num_channels, dtype, affine, bias)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"


class _InstanceNorm(_BatchNorm):
    """As torch's _InstanceNorm: each sample's channel normalised by its own statistics (F.instance_norm);
    affine and track_running_stats default to False; an unbatched input (no batch dim) is accepted."""
    no_batch_dims = None

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input):
        lo = self.no_batch_dims
        if input.ndim not in (lo, lo + 1):
            raise ValueError(f"expected {lo}D or {lo + 1}D input (got {input.ndim}D input)")
        feature_dim = input.ndim - lo
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          "warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        x = input.unsqueeze(0) if input.ndim == lo else input
        y = instance_norm(x, self.running_mean if self.track_running_stats else None,
                          self.running_var if self.track_running_stats else None, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          self.momentum if self.momentum is not None else 0.0, self.eps)
        return y.squeeze(0) if input.ndim == lo else y


class InstanceNorm1d(_InstanceNorm):
    """Over (N, C, L) or unbatched (C, L)."""
    no_batch_dims = 2


class InstanceNorm2d(_InstanceNorm):
    """Over (N, C, H, W) or unbatched (C, H, W)."""
    no_batch_dims = 3


class InstanceNorm3d(_InstanceNorm):
    """Over (N, C, D, H, W) or unbatched (C, D, H, W)."""
    no_batch_dims = 4


class RMSNorm(Module):
    """As torch.nn.RMSNorm: x / sqrt(mean(x^2) + eps) * weight over the last len(normalized_shape) dims;
    weight ones of shape normalized_shape (None when elementwise_affine=False); eps=None is the input
    dtype's machine epsilon, as torch."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        check_device(device, "RMSNorm")
        dtype = _check_dtype("RMSNorm", dtype)
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine else None

    def reset_parameters(self):
        if self.weight is not None:
            self.weight._data[...] = 1

    def forward(self, x):  # torch's RMSNorm names its argument x
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels) ** beta (F.local_response_norm)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class _LazyNorm:
    """torch's _LazyNormBase for the batch and instance norms: num_features is the first input's dim 1
    (input.shape[1], unbatched instance-norm input included, as torch); at that first forward the
    weight, bias and running statistics are made and reset as the layer's, and the module becomes its
    cls_to_become (BatchNorm1d, ...). affine and track_running_stats default to True (the instance norms'
    too, as torch). Deliberate difference, as LazyLinear: until then weight, bias, running_mean and
    running_var are None (torch: uninitialized ones), so parameters() and state_dict() leave them out."""
    cls_to_become = None

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None, *,
                 bias=True):
        dtype = factory_dtype(type(self).__name__, device, dtype)
        Module.__init__(self)
        self.num_features, self.eps, self.momentum = 0, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self._lazy = (bias, dtype)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def has_uninitialized_params(self):
        return (self.affine and self.weight is None) or (self.track_running_stats and self.running_mean is None)

    def initialize_parameters(self, input):
        """Makes and resets weight, bias and the running statistics for input.shape[1] features, then the
        module becomes its cls_to_become (also when it had nothing to make, as torch's)."""
        if "_lazy" not in self.__dict__:
            return
        bias, dtype = self._lazy
        if self.has_uninitialized_params():
            self.num_features = n = int(input.shape[1])
            if self.affine:
                self.weight, self.bias = _affine_params(n, dtype, True, bias)
            if self.track_running_stats:
                self.register_buffer("running_mean", np.zeros(n, dtype))
                self.register_buffer("running_var", np.ones(n, dtype))
            self.cls_to_become.reset_parameters(self)
        del self._lazy
        self.__class__ = self.cls_to_become

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            self.cls_to_become.reset_parameters(self)

    def forward(self, input):
        self.initialize_parameters(input)
        return self.forward(input)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self._lazy[0] if self.affine else False}, track_running_stats={self.track_running_stats}")


class LazyBatchNorm1d(_LazyNorm, BatchNorm1d):
    """BatchNorm1d whose num_features the first input sets."""
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNorm, BatchNorm2d):
    """BatchNorm2d whose num_features the first input sets."""
    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNorm, BatchNorm3d):
    """BatchNorm3d whose num_features the first input sets."""
    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNorm, InstanceNorm1d):
    """InstanceNorm1d whose num_features the first input sets."""
    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNorm, InstanceNorm2d):
    """InstanceNorm2d whose num_features the first input sets."""
    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNorm, InstanceNorm3d):
    """InstanceNorm3d whose num_features the first input sets."""
    cls_to_become = InstanceNorm3d
