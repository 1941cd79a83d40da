"""Matrix products on the GEMM kernel (`_C.gemm`): `matmul` with NumPy's semantics, and the linear layer.

- `matmul(a, b, out=None)`: ``a @ b`` on NumPy arrays (1-D promotion, batch broadcasting), no hidden
  copies or casts: each operand's last two axes must be rows with unit stride (any row stride) or the
  transpose of such a view (``x.T``), which the kernel reads through its ``trans`` flag.
- `MatmulFn`: the autograd op behind ``Tensor @``; at the Tensor level any view is allowed, so an
  operand the kernel cannot read (a reversed or strided view) is copied first.
- `LinearFn`: ``x @ W.T + b`` with the bias add, and a following activation when the kernel has it as
  an epilogue (`fusable`), applied while the output tile is still in registers. Which activations fuse
  is decided here and nowhere else; `nn.Sequential` asks through `nn.Linear.absorbs_activation`.
- `linear`, `linear_relu`: the Tensor-level functional forms (`nn.functional`).

`_C` entries: `gemm`. Reference: `firstepoch.reference.linalg` (`gemm`, `matmul`).
"""
import numpy as np

from .. import _C
from ..autograd.function import (Function, capture_record, capture_refuse, constant_like, product_backward_flops,
                                 unbroadcast, unbroadcast_graph)
from .elementwise import _relu_grad, _relu_mask_graph

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# The activations the GEMM epilogue applies (its `relu` flag): a Linear followed by one of these is one
# kernel call.
EPILOGUES = ("relu",)


def fusable(activation):
    """Whether `activation` (a name, e.g. "relu") can run in the linear layer's GEMM epilogue."""
    return activation in EPILOGUES


# ---- operand layouts ----------------------------------------------------------------------------

def _layout(x):
    """(matrix view with unit-stride rows, transposed?) for the last two axes of x, or None when the
    kernel cannot read them in place (a reversed or strided view)."""
    rows, cols = x.shape[-2], x.shape[-1]
    s_row, s_col = x.strides[-2], x.strides[-1]
    item = x.itemsize
    if x.size == 0:
        return x, False  # nothing is read: the kernel ignores the strides
    if cols <= 1 or s_col == item:
        if rows <= 1 or s_row >= max(cols, 1) * item:
            return x, False
    if rows <= 1 or s_row == item:
        if cols <= 1 or s_col >= max(rows, 1) * item:
            return np.swapaxes(x, -1, -2), True
    return None


def _operand(x, name, copy):
    """_layout(x), copying x first when the kernel cannot read it and `copy` allows it."""
    got = _layout(x)
    if got is not None:
        return got
    if copy:
        return np.ascontiguousarray(x), False
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
        raise RuntimeError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")



def _torch_name(dt):
    """torch's name of a dtype in its messages (Float, Double, ...)."""
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int", "int16": "Short",
            "int8": "Char", "uint8": "Byte", "bool": "Bool", "float16": "Half"}.get(np.dtype(dt).name, str(dt))

# ---- matmul on arrays ---------------------------------------------------------------------------

def matmul(a, b, out=None):
    """``a @ b`` with NumPy's rules (1-D promotion, batch broadcasting), computed by the GEMM kernel.
    An operand layout the kernel cannot read is a ValueError (nothing is copied behind your back)."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        _check(a, b)  # the TypeError that names them
    return _matmul(None, a, b, out, False)


def _matmul(ctx, a, b, out=None, copy=True):
    """matmul of two arrays, and MatmulFn's forward itself (ctx: it saves a and b there; None elsewhere).
    copy: an operand layout the kernel cannot read is copied (else a ValueError). The one place that
    picks the path: 2-D C-contiguous operands of one float dtype go straight to the kernel (small
    layers feel every check, and every call: hence no wrapper around this), the rest the general path."""
    if ctx is not None:
        ctx.saved_tensors = (a, b)
    dt = a.dtype  # (each attribute read costs here: every one is read once)
    if out is None and dt is b.dtype and dt in _FLOATS and a.flags.c_contiguous and b.flags.c_contiguous:
        # (`is`: NumPy's float32/float64 dtypes are single objects; another spelling takes the general path)
        sa, sb = a.shape, b.shape
        if len(sa) == 2 and len(sb) == 2 and sa[1] == sb[0]:
            res = np.empty((sa[0], sb[1]), dtype=dt)
            _C.gemm(a, b, res)
            return res
    _check(a, b)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise RuntimeError(f"matmul: inner dimensions differ: a {a.shape} @ b {b.shape} "
                           f"({a2.shape[-1]} != {b2.shape[-2]})")
    try:
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise RuntimeError(f"matmul: batch dimensions do not broadcast: a {a.shape}, b {b.shape}") from None
    M, N = a2.shape[-2], b2.shape[-1]
    full = batch + (M, N)
    if out is None:
        res = np.empty(full, dtype=a.dtype)
    else:
        res = out.reshape(full) if out.shape != full else out
    _gemm_broadcast(a2, b2, res, batch, copy)
    if a.ndim == 1:
        res = res[..., 0, :]
    if b.ndim == 1:
        res = res[..., 0]
    if out is not None and res.shape != out.shape:
        raise ValueError(f"matmul: out has shape {out.shape}, expected {res.shape}")
    return res if out is None else out


def _gemm_broadcast(a, b, res, batch, copy):
    va, ta = _operand(a, "a", copy)
    vb, tb = _operand(b, "b", copy)
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
    if ops is not None and ops[0].ndim == 2 and ops[1].ndim == 2:  # every batch axis is 1: one product
        _C.gemm(ops[0], ops[1], res[(0,) * len(batch)], trans_a=ta, trans_b=tb)
        return
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


class MatmulFn(Function):
    """a @ b with NumPy's rules (2-D and batched), on the GEMM kernel.

    Backward of C = A @ B: dA = dC @ B^T and dB = A^T @ dC, read through the kernel's transpose flags
    (no transposed copies); batch axes that were broadcast are summed back.
    """

    kernel = "gemm"
    backward_flops = staticmethod(product_backward_flops)

    @staticmethod
    def flops(ctx, inputs, out):
        return 2 * int(out.size) * int(inputs[0].shape[-1])  # a multiply and an add per (output, k)

    forward = staticmethod(_matmul)  # forward(ctx, a, b): saves a, b; copies an unreadable operand

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad = np.ascontiguousarray(grad)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if a.ndim == 1 and b.ndim == 1:
            g = grad.reshape(1, 1)  # a dot product: a 0-d result, as torch
        elif a.ndim == 1:
            g = np.expand_dims(g, -2)
        elif b.ndim == 1:
            g = np.expand_dims(g, -1)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = _matmul(None, g, np.swapaxes(b2, -1, -2), None, True)
            da = unbroadcast(da, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:
                # b was shared by every batch entry: dB = sum_i A_i^T dC_i is one GEMM over the rows of
                # all entries at once, with no per-entry products to sum afterwards
                k = a2.shape[-1]
                db = _matmul(None, a2.reshape(-1, k).T, g.reshape(-1, g.shape[-1]), None, True).reshape(b.shape)
            else:
                db = _matmul(None, np.swapaxes(a2, -1, -2), g, None, True)
                db = unbroadcast(db, b2.shape).reshape(b.shape)
        return da, db

    @staticmethod
    def backward_graph(ctx, grad):
        # backward's formulas on Tensors: dA = dC @ B^T, dB = A^T @ dC (1-D operands as a row / a column)
        a, b = (constant_like(p, grad) for p in ctx.parents)
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:
            g = grad.reshape(1, 1)
        else:
            g = grad.reshape(grad.shape[:-1] + (1,) + grad.shape[-1:]) if a.ndim == 1 else grad
            if b.ndim == 1:
                g = g.reshape(g.shape + (1,))
        da = db = None
        if ctx.needs_input_grad[0]:
            da = unbroadcast_graph(g @ b2.transpose(-1, -2), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            db = unbroadcast_graph(a2.transpose(-1, -2) @ g, b2.shape).reshape(b.shape)
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 4)), rng.standard_normal((4, 5))), {}),
                ((rng.standard_normal((4,)), rng.standard_normal((4,))), {}),  # a dot product: 0-d result
                ((rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 2))), {}),
                ((rng.standard_normal((4,)), rng.standard_normal((2, 4, 3))), {}),
                ((rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((4,))), {}),
                ((rng.standard_normal((3, 4)), rng.standard_normal((4,))), {})]


# ---- the linear layer -----------------------------------------------------------------------------

def _rows(x):
    """x as a 2-D array whose rows the GEMM can read in place (copying only an unreadable layout)."""
    x2 = x.reshape(-1, x.shape[-1])
    if x2.shape[0] > 1 and x2.strides[-1] != x2.itemsize:
        x2 = np.ascontiguousarray(x2)
    if x2.shape[0] > 1 and x2.strides[0] < x2.shape[1] * x2.itemsize:
        x2 = np.ascontiguousarray(x2)
    return x2


# ctx.layout of the common case: neither the input nor the weight read transposed
_PLAIN_LAYOUT = (False, False)


class LinearFn(Function):
    """linear(x (..., in), W (out, in), b (out,) or None, activation None or "relu")
    = [activation](x @ W.T + b), one GEMM whose epilogue adds b and applies the activation.

    Backward, with g the output gradient (masked by out > 0 after a fused ReLU):
        dx = g @ W,   dW = g.T @ x,   db = g.sum(0)   -- the GEMM reads the transposes in place.
    """

    kernel = "gemm"
    capturable = True  # firstepoch.capture: the plain layout only (the general path refuses)
    backward_flops = staticmethod(product_backward_flops)

    @staticmethod
    def flops(ctx, inputs, out):
        return 2 * int(out.size) * int(inputs[1].shape[1])  # (N, out) outputs, each a dot over in_features

    @staticmethod
    def forward(ctx, x, weight, bias=None, activation=None):
        # The common case, a 2-D C-contiguous input and weight of one dtype (every nn.Linear of a batch
        # of feature rows), is checked in one expression and goes straight to the kernel; anything else
        # takes the general path below, which names what is wrong.
        dt = x.dtype
        ws = weight.shape
        xs = x.shape
        if (len(xs) == 2 and dt is weight.dtype and xs[1] == ws[1] and x.flags.c_contiguous
                and weight.flags.c_contiguous and (bias is None or (bias.dtype is dt and bias.shape == ws[:1]))
                and (activation is None or activation == "relu")):
            relu = activation is not None
            out = np.empty((xs[0], ws[0]), dtype=dt)
            _C.gemm(x, weight, out, trans_b=True, bias=bias, relu=relu)  # bias, ReLU: the epilogue
            ctx.saved_tensors = (x, weight, out if relu else None)
            ctx.layout = _PLAIN_LAYOUT
            ctx.in_shape = xs
            ctx.has_bias = bias is not None
            return out
        return LinearFn._forward_general(ctx, x, weight, bias, activation)

    @staticmethod
    def _forward_general(ctx, x, weight, bias, activation):
        capture_refuse("linear: a strided, batched or mixed-dtype input copies outside the kernel")
        if x.ndim == 0 or x.shape[-1] != weight.shape[1]:  # torch: RuntimeError ("mat1 and mat2 shapes ...")
            raise RuntimeError(f"linear: input has {x.shape[-1] if x.ndim else 0} features (shape {x.shape}), weight "
                             f"expects {weight.shape[1]} (weight shape {weight.shape})")
        if x.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
            # as torch (RuntimeError, its message): the input is never cast to the layer's dtype
            bad = x.dtype if x.dtype != weight.dtype else bias.dtype
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_torch_name(bad)} and "
                               f"{_torch_name(weight.dtype)} (linear: input {x.dtype} {x.shape}, weight "
                               f"{weight.dtype} {weight.shape}" + (f", bias {bias.dtype})" if bias is not None else ")"))
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},) for weight "
                             f"shape {weight.shape}")
        if activation is not None and not fusable(activation):
            raise ValueError(f"linear: activation must be None or one of {EPILOGUES}, got {activation!r}")
        relu = activation == "relu"
        x2 = x if x.ndim == 2 and x.flags.c_contiguous else _rows(x)
        out = np.empty((x2.shape[0], weight.shape[0]), dtype=x2.dtype)
        vx, tx = _operand(x2, "input", copy=True)
        vw, tw = _operand(weight, "weight", copy=True)
        _C.gemm(vx, vw, out, trans_a=tx, trans_b=not tw, bias=bias, relu=relu)  # bias, ReLU: the epilogue
        ctx.save_for_backward(vx, vw, out if relu else None)  # the layouts the kernel read, with their flags
        ctx.layout = (tx, tw)
        ctx.in_shape = x.shape
        ctx.has_bias = bias is not None
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, grad):
        vx, vw, out = ctx.saved_tensors
        tx, tw = ctx.layout
        w_shape = vw.shape[::-1] if tw else vw.shape
        g = grad if grad.ndim == 2 else grad.reshape(-1, w_shape[0])
        if not g.flags.c_contiguous:
            capture_refuse("linear backward: a strided output gradient is copied outside the kernel")
            g = np.ascontiguousarray(g)
        if out is not None:
            g = _relu_grad(g, out)  # the fused ReLU's gradient: zero where the output was clamped (NaN too)
        needs = ctx.needs_input_grad
        dx = dw = db = None
        dt = g.dtype
        if needs[0]:
            dx = np.empty((g.shape[0], w_shape[1]), dtype=dt)
            _C.gemm(g, vw, dx, trans_b=tw)              # (N, out) @ (out, in)
            if len(ctx.in_shape) != 2:
                dx = dx.reshape(ctx.in_shape)
        if needs[1]:
            dw = np.empty(w_shape, dtype=dt)
            _C.gemm(g, vx, dw, trans_a=True, trans_b=tx)  # (N, out).T @ (N, in)
        if ctx.has_bias and needs[2]:
            db = np.empty(g.shape[1], dtype=dt)
            capture_record(np.add.reduce, g, axis=0, out=db)
        return dx, dw, db, None

    @staticmethod
    def backward_graph(ctx, grad):
        x, weight = ctx.parents[0], constant_like(ctx.parents[1], grad)
        out = ctx.saved_tensors[2]
        g = grad if grad.ndim == 2 else grad.reshape(-1, weight.shape[0])
        if out is not None:  # the fused ReLU's mask: constant almost everywhere
            g = _relu_mask_graph(g, out)
        needs = ctx.needs_input_grad
        dx = dw = db = None
        if needs[0]:
            dx = (g @ weight).reshape(ctx.in_shape)
        if needs[1]:
            x2 = constant_like(x, grad)
            dw = g.transpose(0, 1) @ x2.reshape(-1, weight.shape[1])
        if ctx.has_bias and needs[2]:
            db = g.sum(0)
        return dx, dw, db, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((5, 3))
        w = rng.standard_normal((4, 3))
        b = rng.standard_normal(4)
        return [((x, w, b), {}), ((x, w, None), {}), ((rng.standard_normal((2, 3, 3)), w, b), {}),
                ((x, w, b + 0.3, "relu"), {})]


def linear(input, weight, bias=None):
    """As torch.nn.functional.linear: input @ weight.T + bias, weight (out_features, in_features).
    As torch, a 1-D weight (in_features,) gives input @ weight (no output axis) and takes no bias
    (RuntimeError), and a bias that is not (out_features,) broadcasts against the product of a 2-D weight
    (a 0-d bias, say): a matmul and an add."""
    if weight.ndim == 1:
        if bias is not None:  # torch 2.13's addmm path: "mat2 must be a matrix"
            raise RuntimeError(f"mat2 must be a matrix, got 1-D tensor (linear: a weight of shape {weight.shape} "
                               "takes no bias)")
        return input.matmul(weight)
    if bias is not None and bias.shape != weight.shape[:1]:
        out = LinearFn.apply(input, weight, None, None)
        try:
            np.broadcast_shapes(bias.shape, out.shape)
        except ValueError:  # torch: RuntimeError ("The expanded size of the tensor ...")
            raise RuntimeError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},) for weight "
                               f"shape {weight.shape} (or a shape that broadcasts to {out.shape})") from None
        return out + bias
    return LinearFn.apply(input, weight, bias, None)


def linear_relu(input, weight, bias=None):
    """relu(linear(...)) in one kernel call."""
    return LinearFn.apply(input, weight, bias, "relu")


# ---- einsum ---------------------------------------------------------------------------------------

_SUBSCRIPTS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_subscripts(equation, shapes, broadcast=False):
    """(one subscript string per operand, the output's) for `equation` and the operands' shapes, with
    '...' spelled out as letters the equation does not use and the implicit output ('ij,jk' means
    'ij,jk->ik': the letters seen once, in alphabetical order, after the ellipsis axes) made explicit.
    Raises RuntimeError for a malformed equation or sizes that differ for one letter; with broadcast=True
    a letter of size 1 in one operand takes another operand's size (torch's broadcasting: the caller
    expands; the letters of '...' still must match)."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): the equation {equation!r} names {len(terms)} operands, got {len(shapes)}")
    unused = [c for c in _SUBSCRIPTS if c not in eq]
    ell_ndim = max([len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes) if "..." in t], default=0)
    ell = "".join(unused[:ell_ndim])
    spelled = []
    for i, (t, shape) in enumerate(zip(terms, shapes)):
        if "..." in t:
            n = len(shape) - len(t.replace("...", ""))
            t = t.replace("...", ell[ell_ndim - n:] if n > 0 else "", 1)
        if (t and not t.isalpha()) or len(t) != len(shape):
            raise RuntimeError(f"einsum(): operand {i} has subscripts {terms[i]!r} for shape {tuple(shape)}")
        spelled.append(t)
    letters = "".join(spelled)
    if arrow:
        out = out.replace("...", ell)
        for c in out:
            if c not in letters or out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c!r} of {equation!r} appears in no operand, or twice")
    else:
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    sizes = {}
    for i, (t, shape) in enumerate(zip(spelled, shapes)):
        for k, (c, n) in enumerate(zip(t, shape)):
            if broadcast and c not in ell and c not in t[:k] and c in sizes and 1 in (sizes[c], n):
                sizes[c] = max(sizes[c], n)  # a size-1 letter broadcasts (not within one operand: a diagonal)
            if sizes.setdefault(c, n) != n and not (broadcast and n == 1 and c not in ell and c not in t[:k]):
                what = "an axis of '...'" if c in ell else f"subscript {c!r}"
                raise RuntimeError(f"einsum(): {what} has size {sizes[c]} in one operand and {n} in operand {i} (shape "
                                   f"{tuple(shape)}) of {equation!r} (sizes must match"
                                   f"{', or one be 1' if broadcast and c not in ell else ': no size-1 broadcasting'})")
    return spelled, out, sizes


def _einsum_grad_letters(terms, out, i):
    """The letters of operand i's gradient: the other operands' terms, every letter the gradient's
    einsum sees (output and others), operand i's letters each once in order, and those of them that
    einsum can give (the rest were summed over operand i alone)."""
    others = terms[:i] + terms[i + 1:]
    seen = out + "".join(others)
    unique = "".join(dict.fromkeys(terms[i]))
    return others, seen, unique, "".join(c for c in unique if c in seen)


class EinsumFn(Function):
    """np.einsum(equation, *operands). Called as EinsumFn.apply(equation, *tensors). The gradient of an
    operand is the einsum of the output's gradient with the other operands; its letters summed in no
    other place are broadcast back, and a repeated letter (a diagonal, 'ii->') is written to the diagonal."""

    @staticmethod
    def forward(ctx, equation, *xs):
        terms, out, sizes = einsum_subscripts(equation, [x.shape for x in xs])
        ctx.terms, ctx.out, ctx.sizes = terms, out, sizes
        ctx.save_for_backward(*xs)
        return np.asarray(np.einsum(",".join(terms) + "->" + out, *xs, optimize=len(xs) > 1))

    @staticmethod
    def backward(ctx, grad):
        xs = ctx.saved_tensors
        terms, out, sizes = ctx.terms, ctx.out, ctx.sizes
        grads = [None]
        for i, need in enumerate(ctx.needs_input_grad[1:]):
            if not need:
                grads.append(None)
                continue
            others, seen, unique, kept = _einsum_grad_letters(terms, out, i)
            g = np.einsum(",".join([out, *others]) + "->" + kept, grad, *xs[:i], *xs[i + 1:],
                          optimize=len(others) > 0)
            g = np.broadcast_to(g.reshape([sizes[c] if c in seen else 1 for c in unique]),
                                [sizes[c] for c in unique])
            if unique == terms[i]:
                grads.append(np.array(g, dtype=xs[i].dtype))
            else:  # a repeated letter: the gradient lives on the diagonal (einsum's view is writeable)
                full = np.zeros(xs[i].shape, xs[i].dtype)
                np.einsum(terms[i] + "->" + unique, full)[...] = g
                grads.append(full)
        return tuple(grads)

    @staticmethod
    def backward_graph(ctx, grad):
        # backward's einsums on Tensors (EinsumFn again, so every further derivative exists)
        xs = [constant_like(p, grad) for p in ctx.parents[1:]]
        terms, out, sizes = ctx.terms, ctx.out, ctx.sizes
        grads = [None]
        for i, need in enumerate(ctx.needs_input_grad[1:]):
            if not need:
                grads.append(None)
                continue
            others, seen, unique, kept = _einsum_grad_letters(terms, out, i)
            g = EinsumFn.apply(",".join([out, *others]) + "->" + kept, grad, *xs[:i], *xs[i + 1:])
            full = tuple(sizes[c] for c in unique)
            if kept != unique:  # letters summed over this operand alone: broadcast back (adding zeros)
                g = g.reshape([sizes[c] if c in seen else 1 for c in unique])
                g = g + constant_like(np.zeros(full, xs[i].dtype), grad)
            if unique != terms[i]:  # a repeated letter: g goes on the diagonal (times identities), zeros elsewhere
                fresh = iter(c for c in _SUBSCRIPTS if c not in sizes)
                spread, eyes = "", []
                for k, c in enumerate(terms[i]):
                    if c in terms[i][:k]:  # a later copy of c: a new letter tied to c by an identity
                        spread += next(fresh)
                        eyes.append((c + spread[-1], constant_like(np.eye(sizes[c], dtype=xs[i].dtype), grad)))
                    else:
                        spread += c
                g = EinsumFn.apply(",".join([unique] + [e for e, _ in eyes]) + "->" + spread, g, *(t for _, t in eyes))
            grads.append(g)
        return tuple(grads)

    @staticmethod
    def gradcheck_cases(rng):
        r = rng.standard_normal
        return [(("ij,jk->ik", r((3, 4)), r((4, 2))), {}),
                (("bij,bjk->bik", r((2, 3, 4)), r((2, 4, 5))), {}),
                (("ij,jk", r((2, 3)), r((3, 4))), {}),
                (("...ij,...jk->...ik", r((2, 3, 4)), r((2, 4, 2))), {}),
                (("i,j->ij", r(3), r(4)), {}),
                (("ij->", r((2, 3))), {}),
                (("ii->", r((3, 3))), {}),
                (("ii->i", r((3, 3))), {}),
                (("ij,k->ik", r((2, 3)), r(4)), {}),
                (("ij,jk,kl->il", r((2, 3)), r((3, 4)), r((4, 2))), {})]
