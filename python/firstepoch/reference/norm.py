"""Batch normalisation in plain NumPy: the oracle for the fused per-channel kernels (firstepoch.ops.norm;
_C.batch_norm_train / batch_norm_backward)."""
import numpy as np


def batch_norm_forward(x, gamma=None, beta=None, eps=1e-5):
    """Training-mode forward over (N, C, ...): returns (y, mean, var) with the biased batch variance."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    xhat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    y = xhat * (1 if gamma is None else gamma.reshape(shape)) + (0 if beta is None else beta.reshape(shape))
    return y, mean, var


def batch_norm_backward(dy, x, gamma=None, eps=1e-5):
    """(dx, dgamma, dbeta) of the training-mode batch_norm_forward (the batch statistics depend on x)."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    m = x.size / x.shape[1]
    mean = x.mean(axis=axes).reshape(shape)
    invstd = 1 / np.sqrt(x.var(axis=axes).reshape(shape) + eps)
    xhat = (x - mean) * invstd
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    g = 1 if gamma is None else gamma.reshape(shape)
    dx = g * invstd * (dy - dbeta.reshape(shape) / m - xhat * dgamma.reshape(shape) / m)
    return dx, dgamma, dbeta
