"""Reductions in plain NumPy, mirroring ops/reduce.py: `<op>_forward(x, dim=None, keepdim=False)`
reduces over dim (None: all axes; an int or a tuple), `<op>_backward(dy, ...the same arguments)`
returns the gradient of x: dy spread back over the reduced axes. `reduce_sum(x)` is the kernel's order for
the sum of every element (`_C.reduce_sum`), written out step by step."""
import numpy as np

BLOCK = 2048  # elements summed as one block (kernels/reduce/reduce.h kBlock)


def reduce_sum(x):
    """The sum of every element of x (C order) in the kernel's order, as x's dtype:
    1. cut x into blocks of BLOCK elements (the last may be shorter);
    2. in each block, lane j (of 256 bytes' worth: 64 float32 or 32 float64) adds the elements whose
       offset in the block is j mod lanes, one after the other, starting from 0;
    3. the lanes are folded in halves (lane j += lane j + half) until one is left: the block's sum;
    4. the blocks' sums are added in pairs (0+1, 2+3, ...; an odd last one moves up as it is) until one
       is left."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN are carried, as by any sum
        return _blocks_then_pairs(np.ravel(x))


def _blocks_then_pairs(flat):
    lanes = 256 // flat.itemsize
    sums = []
    for start in range(0, flat.size, BLOCK):
        block = flat[start:start + BLOCK]
        acc = np.zeros(lanes, dtype=flat.dtype)
        for row in range(0, block.size, lanes):  # one row of lanes at a time: each lane's adds in order
            part = block[row:row + lanes]
            acc[:part.size] += part
        while acc.size > 1:
            half = acc.size // 2
            acc = acc[:half] + acc[half:]
        sums.append(acc[0])
    sums = np.array(sums, dtype=flat.dtype) if sums else np.zeros(1, dtype=flat.dtype)
    while sums.size > 1:
        pairs = sums[0:sums.size // 2 * 2:2] + sums[1:sums.size // 2 * 2:2]
        sums = np.concatenate([pairs, sums[-1:]]) if sums.size % 2 else pairs
    return sums[0]


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


def var_forward(x, dim=None, keepdim=False, unbiased=True, correction=None):
    """correction (torch's name) is subtracted from the count; without it, unbiased means 1 or 0."""
    ddof = int(unbiased) if correction is None else correction
    return x.var(axis=dim, keepdims=keepdim, ddof=ddof)


def var_backward(dy, x, dim=None, keepdim=False, unbiased=True, correction=None):
    ddof = int(unbiased) if correction is None else correction
    centered = x - x.mean(axis=dim, keepdims=True)
    return _spread(dy, x, dim, keepdim) * 2 * centered / (_count(x, dim) - ddof)


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


# ---- more reductions (ported code, issue 16) ------------------------------------------------------------

def prod_forward(x, dim=None, keepdim=False):
    return np.prod(x, axis=dim, keepdims=keepdim)


def prod_backward(dy, x, dim=None, keepdim=False):
    """Each entry's gradient is dy times the product of its slice with that entry replaced by 1 (so
    zeros are handled without dividing)."""
    dys = _spread(dy, x, dim, keepdim)
    reduced = range(x.ndim) if dim is None else [dim % x.ndim]
    dx = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        y = x.copy()
        y[idx] = 1.0
        p = np.prod(y, axis=dim, keepdims=True)
        dx[idx] = dys[idx] * p[tuple(0 if a in reduced else i for a, i in enumerate(idx))]
    return dx


def cumsum_forward(x, dim):
    return np.cumsum(x, axis=dim)


def cumsum_backward(dy, x, dim):
    """dx_i = sum of dy_j for j >= i along dim: dy times an upper-triangular matrix of ones."""
    n = x.shape[dim]
    later = np.tril(np.ones((n, n)))  # later[j, i] = 1 where j >= i
    return np.moveaxis(np.moveaxis(dy, dim, -1) @ later, -1, dim)


def log_sum_exp_forward(x, dim, keepdim=False):
    return np.log(np.sum(np.exp(x), axis=dim, keepdims=keepdim))


def log_sum_exp_backward(dy, x, dim, keepdim=False):
    e = np.exp(x)
    return _spread(dy, x, dim, keepdim) * e / e.sum(axis=dim, keepdims=True)


def norm_forward(x, p=2.0, dim=None, keepdim=False):
    a = np.abs(x)
    if p == np.inf:
        return a.max(axis=dim, keepdims=keepdim)
    if p == -np.inf:
        return a.min(axis=dim, keepdims=keepdim)
    if p == 0:
        return (a != 0).sum(axis=dim, keepdims=keepdim).astype(x.dtype)
    return (a ** p).sum(axis=dim, keepdims=keepdim) ** (1.0 / p)


def norm_backward(dy, x, p=2.0, dim=None, keepdim=False):
    n = _spread(norm_forward(x, p, dim, keepdim), x, dim, keepdim)
    dys = _spread(dy, x, dim, keepdim)
    if p == 0:
        return np.zeros_like(x)
    if p in (np.inf, -np.inf):
        hit = np.abs(x) == n
        return dys * np.sign(x) * hit / hit.sum(axis=dim, keepdims=True)
    return dys * np.sign(x) * np.abs(x) ** (p - 1) / n ** (p - 1)


def cumprod_forward(x, dim):
    return np.cumprod(x, axis=dim)


def cumprod_backward(dy, x, dim):
    """dx_i = sum over k >= i of dy_k times the product of x_j for j <= k, j != i (no division)."""
    xm, gm = np.moveaxis(x, dim, -1), np.moveaxis(dy, dim, -1)
    dx = np.zeros_like(xm)
    n = xm.shape[-1]
    for i in range(n):
        for k in range(i, n):
            others = np.prod(np.delete(xm[..., :k + 1], i, axis=-1), axis=-1)
            dx[..., i] += gm[..., k] * others
    return np.moveaxis(dx, -1, dim)


def std_forward(x, dim=None, keepdim=False, unbiased=True, correction=None):
    return np.sqrt(var_forward(x, dim, keepdim, unbiased, correction))


def std_backward(dy, x, dim=None, keepdim=False, unbiased=True, correction=None):
    """var's gradient times d sqrt(v) / dv = 1 / (2 std)."""
    s = _spread(std_forward(x, dim, keepdim, unbiased, correction), x, dim, keepdim)
    return var_backward(dy, x, dim, keepdim, unbiased, correction) / (2 * s)


def log_cum_sum_exp_forward(x, dim):
    return np.log(np.cumsum(np.exp(x), axis=dim))


def log_cum_sum_exp_backward(dy, x, dim):
    """dx_i = sum over k >= i of dy_k exp(x_i) / sum_{j <= k} exp(x_j)."""
    e = np.exp(x)
    later = np.flip(np.cumsum(np.flip(dy / np.cumsum(e, axis=dim), dim), axis=dim), dim)
    return e * later


def evenly_split_forward(x, pick):
    return np.asarray(pick(x))


def evenly_split_backward(dy, x, pick):
    """The gradient shared equally among the entries equal to the picked value."""
    hit = x == pick(x)
    return dy * hit / hit.sum()
