"""Reductions in plain NumPy, mirroring ops/reduce.py: `<op>_forward(x, dim=None, keepdim=False)`
reduces over dim (None: all axes; an int or a tuple), `<op>_backward(dy, ...the same arguments)`
returns the gradient of x: dy spread back over the reduced axes."""
import numpy as np


def _spread(dy, x, dim, keepdim):
    """dy, with the axes the reduction removed put back, broadcast to x's shape."""
    if dim is None:
        dim = tuple(range(x.ndim))
    if not keepdim:
        dy = np.expand_dims(dy, dim)
    return np.broadcast_to(dy, x.shape)


def _count(x, dim):
    return x.size if dim is None else int(np.prod([x.shape[d] for d in np.atleast_1d(dim)]))


def sum_forward(x, dim=None, keepdim=False):
    return x.sum(axis=dim, keepdims=keepdim)


def sum_backward(dy, x, dim=None, keepdim=False):
    return _spread(dy, x, dim, keepdim).copy()


def mean_forward(x, dim=None, keepdim=False):
    return x.mean(axis=dim, keepdims=keepdim)


def mean_backward(dy, x, dim=None, keepdim=False):
    return _spread(dy, x, dim, keepdim) / _count(x, dim)


def var_forward(x, dim=None, keepdim=False, unbiased=True):
    return x.var(axis=dim, keepdims=keepdim, ddof=int(unbiased))


def var_backward(dy, x, dim=None, keepdim=False, unbiased=True):
    centered = x - x.mean(axis=dim, keepdims=True)
    return _spread(dy, x, dim, keepdim) * 2 * centered / (_count(x, dim) - int(unbiased))


def max_forward(x, dim=None, keepdim=False):
    return x.max(axis=dim, keepdims=keepdim)


def max_backward(dy, x, dim=None, keepdim=False):
    """The gradient goes to the largest entries, shared equally among ties."""
    is_max = x == _spread(max_forward(x, dim, keepdim), x, dim, keepdim)
    return _spread(dy, x, dim, keepdim) * is_max / is_max.sum(axis=dim, keepdims=True)


def min_forward(x, dim=None, keepdim=False):
    return -max_forward(-x, dim, keepdim)


def min_backward(dy, x, dim=None, keepdim=False):
    return max_backward(dy, -x, dim, keepdim)


def take_along_dim_forward(x, index, dim, keepdim=False):
    out = np.take_along_axis(x, index, axis=dim)
    return out if keepdim else out.squeeze(dim)


def take_along_dim_backward(dy, x, index, dim, keepdim=False):
    dx = np.zeros_like(x)
    np.put_along_axis(dx, index, dy if keepdim else np.expand_dims(dy, dim), axis=dim)
    return dx
