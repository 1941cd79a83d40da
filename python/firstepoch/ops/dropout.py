"""Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p), so the
expected activation is unchanged and evaluation needs no rescaling. Backward: grad * mask / (1-p).
Channel (feature) dropout draws one keep per (sample, channel) and broadcasts it over the rest of the
dims (dropout2d). Alpha dropout keeps SELU's mean and variance: dropped elements take SELU's negative
saturation value, then an affine map (a, b) restores the moments (PyTorch's formula).
A random draw from tensors that require grad (normal's mean and std, bernoulli's and poisson's
rates) is recorded with a zero gradient to them, as torch's NormalBackward and BernoulliBackward
(ZeroGradFn, which in-place comparisons also use): the draw is not reparameterised.

No `_C` entry (one NumPy multiply); masks come from firstepoch.manual_seed's generator.
Reference: `firstepoch.reference.dropout` (`dropout_forward`, `dropout_backward`, `alpha_dropout_*`).
"""
import math
import warnings

import numpy as np

from .. import random as _random
from ..autograd.function import Function, constant_like


def _check_keep(x, keep, name):
    """keep: a boolean mask of x's shape, or of x's rank broadcasting over it (channel dropout)."""
    if keep.ndim != x.ndim or any(k not in (1, n) for k, n in zip(keep.shape, x.shape)):
        raise ValueError(f"{name}: keep mask has shape {keep.shape}, which does not broadcast to the input's "
                         f"{x.shape}")


class DropoutFn(Function):
    """dropout(x, p, keep): keep is the boolean mask (drawn from firstepoch's generator when not given),
    of x's shape or broadcasting over it (one keep per channel)."""

    @staticmethod
    def forward(ctx, x, p, keep=None):
        if keep is None:
            keep = _random.generator().random(x.shape) >= p
        elif keep.shape != x.shape:
            _check_keep(x, keep, "dropout")
        scale = keep * x.dtype.type(1.0 / (1.0 - p))
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, grad):
        (scale,) = ctx.saved_tensors
        return grad * scale, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        return grad * constant_like(ctx.saved_tensors[0], grad), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((4, 5))
        channels = rng.random((2, 3, 1)) >= 0.5  # one keep per (sample, channel): dropout2d's mask
        return [((x, 0.3, rng.random((4, 5)) >= 0.3), {}), ((rng.standard_normal((2, 3, 4)), 0.5, channels), {})]


SELU_NEGATIVE_SATURATION = 1.7580993408473766  # -SELU(-inf) = SELU_ALPHA * SELU_SCALE


class ZeroGradFn(Function):
    """ZeroGradFn.apply(*params, values=v): v (an array made from params' values outside the graph)
    recorded as a result of params with a zero gradient to each, as torch records what has a zero
    derivative: the draws normal, bernoulli and poisson (nothing flows through a sample) and the in-place
    comparisons gt_, eq_, logical_and_, ... (Tensor methods)."""

    @staticmethod
    def forward(ctx, *params, values):
        ctx.params = [(p.shape, p.dtype) for p in params]
        return values

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.zeros(shape, dtype) for shape, dtype in ctx.params)

    @staticmethod
    def gradcheck_cases(rng):
        mean, std = rng.standard_normal((3, 4)), rng.random(4) + 0.5
        return [((mean, std), {"values": mean + std * rng.standard_normal((3, 4))}),
                ((rng.random((2, 5)),), {"values": (rng.random((2, 5)) < 0.5).astype(np.float64)})]


class _NoDerivativeFn(Function, register=False):
    """_NoDerivativeFn.apply(*params, values=v, name=op): v recorded as a result of params whose backward
    raises torch's RuntimeError, as torch records an op with no derivative (floor_divide, heaviside): the
    result requires grad, backward through it fails. Out of the registry: there is no gradient to check."""

    @staticmethod
    def forward(ctx, *params, values, name):
        ctx.name = name
        return values

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"derivative for aten::{ctx.name} is not implemented")


def alpha_dropout_coefficients(p):
    """(a, b) of alpha dropout as PyTorch: out = a * (x where kept, -alpha' where dropped) + b, so the
    mean 0 and variance 1 of SELU's output survive: a = 1 / sqrt((alpha'^2 p + 1)(1 - p)), b = alpha' a p."""
    alpha = SELU_NEGATIVE_SATURATION
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    return a, alpha * a * p


class AlphaDropoutFn(Function):
    """alpha_dropout(x, p, keep) = x * (a keep) + (b - alpha' a (1 - keep)); backward grad * a keep."""

    @staticmethod
    def forward(ctx, x, p, keep=None):
        if keep is None:
            keep = _random.generator().random(x.shape) >= p
        elif keep.shape != x.shape:
            _check_keep(x, keep, "alpha_dropout")
        a, b = alpha_dropout_coefficients(p)
        alpha = SELU_NEGATIVE_SATURATION
        scale = keep * x.dtype.type(a)
        shift = (keep * x.dtype.type(alpha * a) + x.dtype.type(b - alpha * a))  # b where kept, b - alpha' a dropped
        ctx.save_for_backward(scale)
        return x * scale + shift

    # the shift is constant: the gradient is dropout's, grad times the saved scale
    backward = DropoutFn.backward
    backward_graph = DropoutFn.backward_graph

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((4, 5)), 0.3, rng.random((4, 5)) >= 0.3), {}),
                ((rng.standard_normal((2, 3, 4)), 0.5, rng.random((2, 3, 1)) >= 0.5), {})]


def _check_p(p, name):
    if not 0 <= p <= 1:
        raise ValueError(f"{name}: p must be in [0, 1] (dropout probability has to be between 0 and 1), got {p}")


def _dropout(x, p, training, inplace, fn, feature, name):
    """PyTorch's _dropout_impl: identity when not training, p = 0 or x empty; x * 0 when p = 1;
    else fn (DropoutFn or AlphaDropoutFn) with a mask per element, or per (sample, channel) when feature."""
    _check_p(p, name)
    if not training or p == 0 or x._data.size == 0:
        return x
    if p == 1:  # every element dropped: still in the graph, with a zero gradient (NaN stays NaN, as PyTorch)
        keep = None
    else:
        if feature and x.ndim < 2:
            raise RuntimeError(f"{name}: Feature dropout requires at least 2 dimensions in the input, got "
                               f"shape {tuple(x.shape)}")
        shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
        keep = _random.generator().random(shape) >= p

    def compute(t):
        return t * 0.0 if keep is None else fn.apply(t, p, keep)
    if inplace:
        return x._inplace(lambda old, _: compute(old), None, name + "_")
    return compute(x)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zeroes elements with probability p while training (scaling the rest by 1/(1-p)); identity otherwise."""
    return _dropout(input, p, training, inplace, DropoutFn, False, "dropout")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels: one draw per (N, C) of an (N, C, H, W) input, as PyTorch. Like PyTorch
    2.13, a 3-d input is taken as (N, C, L) (channel-wise 1-d dropout) with its warning, and 2-d or
    5-d+ inputs are accepted with a warning; fewer than 2 dims raise."""
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this "
                      "warning, please use dropout instead.", UserWarning, stacklevel=2)
    elif input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
                      "dim. This behavior will change in a future release to interpret the input as one "
                      "without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
                      "dropout behavior, please switch to using dropout1d instead.", UserWarning, stacklevel=2)
    return _dropout(input, p, training, inplace, DropoutFn, True, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels: one draw per (N, C) of an (N, C, D, H, W) input, or per channel of an
    unbatched (C, D, H, W) one, as PyTorch. Like PyTorch 2.13, another rank is accepted with its warning
    (and taken as unbatched: a batch dim is added for the draw and removed)."""
    _check_p(p, "dropout3d")
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout3d exists to provide channel-wise dropout on "
                      "inputs with 3 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 4D or 5D inputs).", UserWarning, stacklevel=2)
    if input.ndim == 5 or not training or p == 0 or input._data.size == 0:
        return _dropout(input, p, training, inplace, DropoutFn, True, "dropout3d")
    out = _dropout(input.unsqueeze(0), p, training, False, DropoutFn, True, "dropout3d").squeeze(0)
    return input.copy_(out) if inplace else out


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout for SELU networks (note training defaults to False, as PyTorch's functional form)."""
    return _dropout(input, p, training, inplace, AlphaDropoutFn, False, "alpha_dropout")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (one draw per (N, C)), as PyTorch's."""
    return _dropout(input, p, training, inplace, AlphaDropoutFn, True, "feature_alpha_dropout")
