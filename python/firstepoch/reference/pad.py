"""Padding in plain NumPy, written as a learner would: the oracle for firstepoch.ops.pad (F.pad), with
the same names and argument order. `pad` lists (left, right) amounts from the last dimension backwards,
as torch's F.pad; a negative amount crops.

Each output position along a padded dimension reads one input position (or the constant): the rule per
mode is `source_index`. The forward gathers along each padded dimension in turn; the backward adds each
output gradient into the input position it was read from."""
import numpy as np


def source_index(o, size, left, right, mode):
    """The input position that output position o reads along a dimension of `size` padded by (left,
    right); None where a constant is written. torch's rules: reflect and replicate index the uncropped
    input (o - left reflected about, or clamped to, its ends); constant and circular crop first."""
    i = o - left
    if mode == "constant":
        return i if 0 <= i < size else None
    if mode == "reflect":
        if i < 0:
            i = -i
        if i >= size:
            i = 2 * (size - 1) - i
        return i
    if mode == "replicate":
        return min(max(i, 0), size - 1)
    # circular: crop the negative amounts, then wrap around what is left
    start = max(-left, 0)
    kept = size - start - max(-right, 0)
    return start + (o - max(left, 0)) % kept


def _axes_and_sizes(shape, pad):
    """[(axis, left, right)] for the padded dimensions (pad's first pair is the last axis)."""
    ndim = len(shape)
    return [(ndim - 1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)]


def pad_forward(x, pad, mode="constant", value=0.0):
    """x padded by `pad` ((left, right) per dimension, last dimension first) in `mode`."""
    y = x
    for axis, left, right in _axes_and_sizes(x.shape, pad):
        size = x.shape[axis]
        out = size + left + right
        src = [source_index(o, size, left, right, mode) for o in range(out)]
        shape = list(y.shape)
        shape[axis] = out
        z = np.full(shape, value, dtype=x.dtype)
        for o, i in enumerate(src):
            if i is not None:
                index_out = [slice(None)] * y.ndim
                index_in = [slice(None)] * y.ndim
                index_out[axis], index_in[axis] = o, i
                z[tuple(index_out)] = y[tuple(index_in)]
        y = z
    return y


def pad_backward(grad, x_shape, pad, mode="constant"):
    """dx for pad_forward: each output gradient added into the input position it was read from."""
    g = grad
    for axis, left, right in reversed(_axes_and_sizes(x_shape, pad)):
        size = x_shape[axis]
        out = size + left + right
        shape = list(g.shape)
        shape[axis] = size
        dx = np.zeros(shape, dtype=grad.dtype)
        for o in range(out):
            i = source_index(o, size, left, right, mode)
            if i is not None:
                index_out = [slice(None)] * g.ndim
                index_in = [slice(None)] * g.ndim
                index_out[axis], index_in[axis] = o, i
                dx[tuple(index_in)] += g[tuple(index_out)]
        g = dx
    return g
