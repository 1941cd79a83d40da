"""Batch, layer and group normalisation in plain NumPy: the oracles for the fused kernels (firstepoch.ops.norm;
_C.batch_norm_forward, batch_norm_eval_forward, batch_norm_backward, layer_norm_forward/backward,
group_norm_forward/backward), with the same names and argument order (less _C's output buffers): x,
(num_groups,) gamma, beta, then the statistics mean and invstd."""
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


# ---- layer norm and group norm (_C.layer_norm_*, _C.group_norm_*; ops.norm.LayerNormFn, GroupNormFn) ----

def layer_norm_forward(x, gamma=None, beta=None, eps=1e-5):
    """x (M, D): each row normalised by its own mean and biased variance. Returns (y, mean, invstd) with
    mean, invstd of shape (M,); gamma, beta (D,) or None."""
    mean = x.mean(axis=1)
    var = x.var(axis=1)
    invstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean[:, None]) * invstd[:, None]
    y = xhat * (1 if gamma is None else gamma) + (0 if beta is None else beta)
    return y, mean, invstd


def layer_norm_backward(dy, x, gamma, mean, invstd):
    """(dx, dgamma, dbeta) of layer_norm_forward, given the saved row statistics."""
    D = x.shape[1]
    xhat = (x - mean[:, None]) * invstd[:, None]
    dgamma = (dy * xhat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    g = dy * (1 if gamma is None else gamma)  # the gradient with respect to xhat
    # each row's xhat depends on all of the row's values through its mean and variance
    dx = invstd[:, None] * (g - g.sum(axis=1, keepdims=True) / D
                            - xhat * (g * xhat).sum(axis=1, keepdims=True) / D)
    return dx, dgamma, dbeta


def group_norm_forward(x, num_groups, gamma=None, beta=None, eps=1e-5):
    """x (N, C, L): each sample's C channels split into num_groups groups of C/num_groups channels, each
    group normalised by its own mean and biased variance; gamma, beta (C,) per channel. Returns
    (y, mean, invstd) with mean, invstd of shape (N, num_groups)."""
    N, C, L = x.shape
    rows = x.reshape(N * num_groups, C // num_groups * L)  # one row per (sample, group)
    _, mean, invstd = layer_norm_forward(rows, eps=eps)
    xhat = ((rows - mean[:, None]) * invstd[:, None]).reshape(N, C, L)
    y = xhat * (1 if gamma is None else gamma[None, :, None]) + (0 if beta is None else beta[None, :, None])
    return y, mean.reshape(N, num_groups), invstd.reshape(N, num_groups)


def group_norm_backward(dy, x, num_groups, gamma, mean, invstd):
    """(dx, dgamma, dbeta) of group_norm_forward, given the saved (N, num_groups) statistics."""
    N, C, L = x.shape
    mean_c = np.repeat(mean, C // num_groups, axis=1)[:, :, None]  # each channel's group statistics
    invstd_c = np.repeat(invstd, C // num_groups, axis=1)[:, :, None]
    xhat = (x - mean_c) * invstd_c
    dgamma = (dy * xhat).sum(axis=(0, 2))
    dbeta = dy.sum(axis=(0, 2))
    D = C // num_groups * L  # the values of one (sample, group)
    g = (dy * (1 if gamma is None else gamma[None, :, None])).reshape(N * num_groups, D)
    xh = xhat.reshape(N * num_groups, D)
    dx = invstd.reshape(-1, 1) * (g - g.sum(axis=1, keepdims=True) / D - xh * (g * xh).sum(axis=1, keepdims=True) / D)
    return dx.reshape(N, C, L), dgamma, dbeta
