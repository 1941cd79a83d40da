"""Batch normalisation in plain NumPy: the oracle for the fused per-channel kernels (firstepoch.ops.norm;
_C.batch_norm_forward, batch_norm_eval_forward, batch_norm_backward), with the same names and argument
order (less _C's output buffers): x, gamma, beta, then the statistics mean and invstd."""
import numpy as np


def _axes_and_shape(x):
    """The axes a channel's statistics run over, and the shape that broadcasts a (C,) vector over x."""
    return (0,) + tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)


def _affine(xhat, gamma, beta, shape):
    return xhat * (1 if gamma is None else gamma.reshape(shape)) + (0 if beta is None else beta.reshape(shape))


def batch_norm_forward(x, gamma=None, beta=None, eps=1e-5):
    """Training mode over (N, C, ...): returns (y, mean, invstd, var), the batch's statistics per channel
    (var biased, invstd = 1 / sqrt(var + eps))."""
    axes, shape = _axes_and_shape(x)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    invstd = 1 / np.sqrt(var + eps)
    y = _affine((x - mean.reshape(shape)) * invstd.reshape(shape), gamma, beta, shape)
    return y, mean, invstd, var


def batch_norm_eval_forward(x, gamma, beta, mean, invstd):
    """Evaluation mode: y = gamma * (x - mean) * invstd + beta with given (running) statistics."""
    _, shape = _axes_and_shape(x)
    return _affine((x - mean.reshape(shape)) * invstd.reshape(shape), gamma, beta, shape)


def batch_norm_backward(dy, x, gamma, mean, invstd, training=True):
    """(dx, dgamma, dbeta). training=True: mean and invstd are x's batch statistics, so dx includes their
    dependence on x; training=False: they are constants (evaluation mode)."""
    axes, shape = _axes_and_shape(x)
    m = x.size / x.shape[1]
    inv = invstd.reshape(shape)
    xhat = (x - mean.reshape(shape)) * inv
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    g = 1 if gamma is None else gamma.reshape(shape)
    if training:
        dx = g * inv * (dy - dbeta.reshape(shape) / m - xhat * dgamma.reshape(shape) / m)
    else:
        dx = g * inv * dy
    return dx, dgamma, dbeta
