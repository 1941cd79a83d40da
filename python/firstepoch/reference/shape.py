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


# ---- more shape ops (ported code, issue 16) --------------------------------------------------------------

def expand_forward(x, shape):
    return np.broadcast_to(x, shape).copy()


def expand_backward(dy, x, shape):
    return unbroadcast(dy, x.shape)


def repeat_forward(x, repeats):
    return np.tile(x.reshape((1,) * (len(repeats) - x.ndim) + x.shape), repeats)


def repeat_backward(dy, x, repeats):
    """The sum of the gradient's blocks, one block per copy."""
    block = (1,) * (len(repeats) - x.ndim) + x.shape
    dx = np.zeros(block)
    for copy in np.ndindex(*repeats):
        dx += dy[tuple(slice(c * n, (c + 1) * n) for c, n in zip(copy, block))]
    return dx.reshape(x.shape)


def flip_forward(x, dims):
    return np.flip(x, dims)


def flip_backward(dy, x, dims):
    return np.flip(dy, dims)


def roll_forward(x, shifts, dims=None):
    return np.roll(x, shifts, axis=dims)


def roll_backward(dy, x, shifts, dims=None):
    return np.roll(dy, np.negative(shifts), axis=dims)


def _at(pos, dim, i):
    """pos with its entry at dim replaced by i."""
    return pos[:dim] + (int(i),) + pos[dim + 1:]


def gather_forward(x, dim, index):
    out = np.zeros(index.shape, dtype=x.dtype)
    for pos in np.ndindex(index.shape):
        out[pos] = x[_at(pos, dim, index[pos])]
    return out


def gather_backward(dy, x, dim, index):
    dx = np.zeros_like(x)
    for pos in np.ndindex(index.shape):
        dx[_at(pos, dim, index[pos])] += dy[pos]
    return dx


def scatter_forward(x, dim, index, src, value=None):
    out = x.copy()
    for pos in np.ndindex(index.shape):
        out[_at(pos, dim, index[pos])] = value if src is None else src[pos]
    return out


def scatter_backward(dy, x, dim, index, src, value=None):
    """x's gradient is dy except where something was written; src's is dy read at the written places."""
    dx = dy.copy()
    for pos in np.ndindex(index.shape):
        dx[_at(pos, dim, index[pos])] = 0
    if src is None:
        return dx
    dsrc = np.zeros_like(src)
    for pos in np.ndindex(index.shape):
        dsrc[pos] = dy[_at(pos, dim, index[pos])]
    return dx, dsrc


def index_select_forward(x, dim, index):
    return np.stack([np.take(x, i, axis=dim) for i in index], axis=dim)


def index_select_backward(dy, x, dim, index):
    dx = np.zeros_like(x)
    for k, i in enumerate(index):
        np.moveaxis(dx, dim, 0)[i] += np.take(dy, k, axis=dim)
    return dx


def clone_forward(x):
    return x.copy()


def clone_backward(dy, x):
    return dy


def get_item_grad_forward(dy, shape, index):
    """GetItemGradFn (get_item's backward as an op, for second derivatives): dy scattered into zeros."""
    dx = np.zeros(shape, dtype=dy.dtype)
    np.add.at(dx, index, dy)
    return dx


def get_item_grad_backward(ddx, dy, shape, index):
    return ddx[index]


def set_item_forward(x, index, value):
    out = x.copy()
    out[index] = value
    return out


def set_item_backward(dy, x, index, value):
    dx = dy.copy()
    dx[index] = 0  # the written places no longer depend on x
    dvalue = np.asarray(dy[index])
    return dx, unbroadcast(dvalue, np.shape(value))


def scatter_add_forward(x, dim, index, src):
    """out[index[pos] along dim, the rest of pos] += src[pos] for every pos of index."""
    out = x.copy()
    for pos in np.ndindex(index.shape):
        out[_at(pos, dim, index[pos])] += src[pos]
    return out


def scatter_add_backward(dy, x, dim, index, src):
    """x's gradient is dy; src's is dy read where each entry was added (0 beyond index's shape)."""
    dsrc = np.zeros_like(src)
    for pos in np.ndindex(index.shape):
        dsrc[pos] = dy[_at(pos, dim, index[pos])]
    return dy.copy(), dsrc


def _scatter_groups(dim, index):
    """target position -> the positions of index (and src) that write there, in order."""
    groups = {}
    for pos in np.ndindex(index.shape):
        groups.setdefault(_at(pos, dim, index[pos]), []).append(pos)
    return groups


def scatter_reduce_forward(x, dim, index, src, reduce="sum", include_self=True):
    """Each position of x that src writes to becomes the reduction (sum, prod, mean, amax, amin) of the
    src entries written there, and of x's own value unless include_self=False; the rest is x."""
    out = x.copy()
    for target, positions in _scatter_groups(dim, index).items():
        members = np.array(([x[target]] if include_self else []) + [src[p] for p in positions], dtype=x.dtype)
        if reduce == "sum":
            value = members.sum()
        elif reduce == "prod":
            value = members.prod()
        elif reduce == "mean":
            value = members.sum() / len(members) if x.dtype.kind == "f" else members.sum() // len(members)
        elif reduce == "amax":
            value = members.max()
        else:
            value = members.min()
        out[target] = value
    return out


def scatter_reduce_backward(dy, x, dim, index, src, reduce="sum", include_self=True):
    """Where nothing is written, x's gradient is dy. Where src writes: sum passes dy to every member,
    mean dy / (number of members), prod dy times the product of the other members, amax/amin dy split
    evenly among the members equal to the result (x counted when it equals the result even with
    include_self=False, as torch). x gets nothing there when include_self=False."""
    out = scatter_reduce_forward(x, dim, index, src, reduce, include_self)
    dx = dy.copy()
    dsrc = np.zeros_like(src)
    for target, positions in _scatter_groups(dim, index).items():
        g = dy[target]
        values = [src[p] for p in positions]
        members = ([x[target]] if include_self else []) + values
        if reduce == "sum":
            dx_t, dsrc_v = g, [g] * len(values)
        elif reduce == "mean":
            dx_t, dsrc_v = g / len(members), [g / len(members)] * len(values)
        elif reduce == "prod":
            def others(k):  # the product of every member but the k-th
                return np.prod([m for i, m in enumerate(members) if i != k])
            first = 1 if include_self else 0
            dx_t = g * others(0) if include_self else 0.0
            dsrc_v = [g * others(first + k) for k in range(len(values))]
        else:
            result = out[target]
            count = (x[target] == result) + sum(v == result for v in values)
            share = g / count
            dx_t = share if x[target] == result else 0.0
            dsrc_v = [share if v == result else 0.0 for v in values]
        dx[target] = dx_t if include_self else 0.0
        for p, d in zip(positions, dsrc_v):
            dsrc[p] = d
    return dx, dsrc
