"""``matmul`` with NumPy's semantics on top of the GEMM kernel, without hidden copies or casts.

Each operand's last two axes must be C-contiguous rows (any row stride) or the transpose of such a
view (``x.T``): the kernel reads the transpose through its ``trans`` flag instead of copying.
"""
import numpy as np

from .. import _C

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _as_operand(x, name):
    """Returns (matrix view with unit-stride rows, transposed?) for the last two axes of x."""
    rows, cols = x.shape[-2], x.shape[-1]
    s_row, s_col = x.strides[-2], x.strides[-1]
    item = x.itemsize
    if x.size == 0:
        return x, False  # nothing is read: the kernel ignores the strides
    if cols <= 1 or s_col == item:
        if rows <= 1 or s_row >= max(cols, 1) * item:
            return x, False
    t = np.swapaxes(x, -1, -2)
    if rows <= 1 or s_row == item:
        if cols <= 1 or s_col >= max(rows, 1) * item:
            return t, True
    raise ValueError(
        f"matmul: {name} with shape {x.shape} and strides {x.strides} is neither row- nor "
        f"column-contiguous in its last two axes (a reversed or strided view?); "
        f"make a copy with numpy.ascontiguousarray({name})")


def _check(a, b):
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"matmul: a and b must be numpy arrays, got {type(a).__name__} and {type(b).__name__}")
    if a.dtype not in _FLOATS or b.dtype not in _FLOATS:
        raise TypeError(f"matmul: a and b must be float32 or float64, got a {a.dtype} {a.shape} and "
                        f"b {b.dtype} {b.shape} (no implicit casts)")
    if a.dtype != b.dtype:
        raise TypeError(f"matmul: a and b must have the same dtype, got a {a.dtype} {a.shape} and "
                        f"b {b.dtype} {b.shape} (no implicit casts)")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")


def matmul(a, b, out=None):
    """``a @ b`` with NumPy's rules (1-D promotion, batch broadcasting), computed by the GEMM kernel."""
    if (out is None and type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2
            and a.dtype == b.dtype and a.dtype in _FLOATS and a.flags.c_contiguous and b.flags.c_contiguous
            and a.shape[1] == b.shape[0]):
        # the common case, without the general path's checks and reshapes (small layers feel them)
        res = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
        _C.gemm(a, b, res)
        return res
    _check(a, b)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"matmul: inner dimensions differ: a {a.shape} @ b {b.shape} "
                         f"({a2.shape[-1]} != {b2.shape[-2]})")
    try:
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions do not broadcast: a {a.shape}, b {b.shape}") from None
    M, N = a2.shape[-2], b2.shape[-1]
    full = batch + (M, N)
    if out is None:
        res = np.empty(full, dtype=a.dtype)
    else:
        res = out.reshape(full) if out.shape != full else out
    _gemm_broadcast(a2, b2, res, batch)
    if a.ndim == 1:
        res = res[..., 0, :]
    if b.ndim == 1:
        res = res[..., 0]
    if out is not None and res.shape != out.shape:
        raise ValueError(f"matmul: out has shape {out.shape}, expected {res.shape}")
    return res if out is None else out


def _gemm_broadcast(a, b, res, batch):
    va, ta = _as_operand(a, "a")
    vb, tb = _as_operand(b, "b")
    if not batch:
        _C.gemm(va, vb, res, trans_a=ta, trans_b=tb)
        return
    # Collapse the batch axes into one where each operand is either broadcast whole or has the full
    # batch shape with a single batch stride; otherwise walk the outer axes here.
    nb = int(np.prod(batch))
    ops = []
    for v, orig in ((va, a), (vb, b)):
        lead = orig.shape[:-2]
        if all(d == 1 for d in lead):
            ops.append(v.reshape(v.shape[-2:]))  # broadcast: one matrix for every batch entry
        elif lead == batch and _single_stride(v):
            ops.append(_as_batch3(v, nb))
        else:
            ops = None
            break
    r3 = _as_batch3(res, nb) if _single_stride(res) else None
    if ops is not None and r3 is not None:
        _C.gemm(ops[0], ops[1], r3, trans_a=ta, trans_b=tb)
        return
    for idx in np.ndindex(*batch):
        ia = tuple(i if d != 1 else 0 for i, d in zip(idx[len(idx) - (a.ndim - 2):], a.shape[:-2]))
        ib = tuple(i if d != 1 else 0 for i, d in zip(idx[len(idx) - (b.ndim - 2):], b.shape[:-2]))
        _C.gemm(va[ia], vb[ib], res[idx], trans_a=ta, trans_b=tb)


def _single_stride(v):
    """True if the leading axes of v step through memory with one constant stride (C order)."""
    lead = v.shape[:-2]
    step = v.strides[-3] if v.ndim >= 3 else 0
    expected = step
    for d, s in zip(reversed(lead), reversed(v.strides[:-2])):
        if d != 1 and s != expected:
            return False
        expected = expected * d
    return True


def _as_batch3(v, nb):
    """View v's batch axes as one axis of nb entries (valid after _single_stride(v))."""
    if v.ndim == 3:
        return v
    steps = [s for d, s in zip(v.shape[:-2], v.strides[:-2]) if d != 1]
    stride = steps[-1] if steps else 0
    return np.lib.stride_tricks.as_strided(v, (nb,) + v.shape[-2:], (stride,) + v.strides[-2:])


def linear(x, weight, bias=None, relu=False, out=None):
    """``x @ weight.T + bias`` (then ReLU) in one fused GEMM: weight is (out_features, in_features).

    x is (N, in_features); the bias add and ReLU happen in the GEMM epilogue, in registers.
    """
    if not isinstance(x, np.ndarray) or not isinstance(weight, np.ndarray):
        raise TypeError("linear: x and weight must be numpy arrays")
    if x.ndim != 2 or weight.ndim != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"linear: expected x (N, in) and weight (out, in), got x {x.shape} and weight {weight.shape}")
    if out is None:
        out = np.empty((x.shape[0], weight.shape[0]), dtype=x.dtype)
    vx, tx = _as_operand(x, "x")
    vw, tw = _as_operand(weight, "weight")
    _C.gemm(vx, vw, out, trans_a=tx, trans_b=not tw, bias=bias, relu=relu)
    return out
