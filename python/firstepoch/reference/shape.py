"""Shape ops in plain NumPy, mirroring ops/shape.py: `<op>_forward` takes the op's arguments,
`<op>_backward(dy, ...the same arguments)` returns the gradient of each array input (a tuple when
there are several). Backward puts each gradient element back where its value came from."""
import numpy as np

from .elementwise import unbroadcast


def reshape_forward(x, shape):
    return x.reshape(shape)


def reshape_backward(dy, x, shape):
    return dy.reshape(x.shape)


def permute_forward(x, dims):
    return x.transpose(dims)


def permute_backward(dy, x, dims):
    return dy.transpose(np.argsort([d % x.ndim for d in dims]))


def get_item_forward(x, index):
    return x[index]


def get_item_backward(dy, x, index):
    dx = np.zeros_like(x)
    np.add.at(dx, index, dy)  # an index that repeats an element adds its gradients up
    return dx


def cat_forward(dim, *xs):
    return np.concatenate(xs, axis=dim)


def cat_backward(dy, dim, *xs):
    ends = np.cumsum([x.shape[dim] for x in xs])
    return tuple(np.split(dy, ends[:-1], axis=dim))


def stack_forward(dim, *xs):
    return np.stack(xs, axis=dim)


def stack_backward(dy, dim, *xs):
    return tuple(np.moveaxis(dy, dim, 0))


def where_forward(cond, a, b):
    return np.where(cond, a, b)


def where_backward(dy, cond, a, b):
    return unbroadcast(dy * cond, np.shape(a)), unbroadcast(dy * ~cond, np.shape(b))


def get_item_grad_forward(dy, shape, index):
    """GetItemGradFn (get_item's backward as an op, for second derivatives): dy scattered into zeros."""
    dx = np.zeros(shape, dtype=dy.dtype)
    np.add.at(dx, index, dy)
    return dx


def get_item_grad_backward(ddx, dy, shape, index):
    return ddx[index]
