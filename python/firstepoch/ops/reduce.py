"""Reductions over `dim` (an int, a tuple, or None for all), with keepdim.

`_C` entry: `reduce_sum`, the sum of every element of a C-contiguous float32/float64 array in a fixed
block order (kernels/reduce/reduce.h): what sum() and mean() with no dim run on such an input. Other
reductions are NumPy's. Reference: `firstepoch.reference.reduce.reduce_sum`, the same order in NumPy."""
import numpy as np

from .. import _C
from ..autograd.function import Function, constant_like
from .shape import WhereFn

_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _kernel_sums(x):
    """True where the sum kernel takes x: a C-contiguous float32/float64 array."""
    return x.dtype in _KERNEL_DTYPES and x.flags.c_contiguous


def _sum_all(x):
    """The sum of every element of x as a 0-d array of x's dtype: the kernel's (its fixed order: no bit
    depends on the thread count) where it takes x, else NumPy's sum."""
    if _kernel_sums(x):
        return np.asarray(_C.reduce_sum(x), dtype=x.dtype)
    return np.asarray(x.sum(dtype=x.dtype))  # int32 stays int32 (NumPy: int64)


def _expand(grad, shape, dim, keepdim):
    """Re-insert the reduced axes so grad broadcasts against the input."""
    if dim is None or keepdim:
        return grad if dim is not None else np.reshape(grad, (1,) * len(shape))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = sorted(d % len(shape) for d in dims)
    for d in dims:
        grad = np.expand_dims(grad, d)
    return grad


def _expand_graph(grad, shape, dim, keepdim):
    """_expand on a gradient Tensor (backward_graph): grad reshaped to keepdim form, recorded."""
    if dim is None:
        kept = (1,) * len(shape)
    elif keepdim:
        return grad
    else:
        dims = {d % len(shape) for d in ((dim,) if isinstance(dim, int) else dim)}
        kept = tuple(1 if i in dims else s for i, s in enumerate(shape))
    return grad if grad.shape == kept else grad.reshape(kept)


def _broadcast_graph(grad, shape):
    """grad broadcast to shape as a recorded op (adding zeros: its backward sums back)."""
    if grad.shape == tuple(shape):
        return grad
    return grad + constant_like(np.zeros(shape, dtype=grad.dtype), grad)


def _count(shape, dim):
    if dim is None:
        return int(np.prod(shape))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return int(np.prod([shape[d] for d in dims]))


class SumFn(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        if dim is None and not keepdim:
            return _sum_all(x)
        return np.asarray(x.sum(axis=dim, keepdims=keepdim, dtype=x.dtype))  # int32 stays int32 (NumPy: int64)

    @staticmethod
    def backward(ctx, grad):
        g = _expand(grad, ctx.shape, ctx.dim, ctx.keepdim)
        return np.broadcast_to(g, ctx.shape).copy(), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        return _broadcast_graph(_expand_graph(grad, ctx.shape, ctx.dim, ctx.keepdim), ctx.shape), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4, 2))
        return [((x,), {}), ((x,), {"dim": 1}), ((x,), {"dim": (0, 2), "keepdim": True})]


class MeanFn(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        if _count(x.shape, dim) == 0:  # the mean of nothing is nan, as in PyTorch (without NumPy's warning)
            with np.errstate(invalid="ignore"):
                return np.asarray(x.sum(axis=dim, keepdims=keepdim) / 0.0).astype(np.result_type(x.dtype, 0.0))
        if dim is None and not keepdim and _kernel_sums(x):
            # the sum divided in float64 and rounded to x's dtype, as NumPy's mean divides its sum
            return np.asarray(float(_C.reduce_sum(x)) / x.size, dtype=x.dtype)
        return np.asarray(x.mean(axis=dim, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        n = _count(ctx.shape, ctx.dim)
        if n == 0:  # the input was empty: so is its gradient
            return np.zeros(ctx.shape, dtype=grad.dtype), None, None
        g = _expand(grad, ctx.shape, ctx.dim, ctx.keepdim) / n
        return np.broadcast_to(g, ctx.shape).astype(grad.dtype), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        n = _count(ctx.shape, ctx.dim)
        g = _expand_graph(grad, ctx.shape, ctx.dim, ctx.keepdim)
        return _broadcast_graph(g * 0.0 if n == 0 else g / n, ctx.shape), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4, 2))
        return [((x,), {}), ((x,), {"dim": -1}), ((x,), {"dim": 0, "keepdim": True})]


class VarFn(Function):
    """Variance with Bessel's correction by default (unbiased=True, as torch.var)."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False, unbiased=True, correction=None):
        # correction (torch's name; Tensor.var passes it): the count is reduced by it, down to 0, and too few
        # entries give inf or nan as in PyTorch. Without it, unbiased picks 1 or 0 and too few raise.
        n = _count(x.shape, dim)
        ddof = (1 if unbiased else 0) if correction is None else correction
        if correction is None and n - ddof <= 0:
            raise ValueError(f"var: {n} element(s) along dim={dim} of shape {x.shape}: too few for unbiased={unbiased}")
        mean = x.mean(axis=dim, keepdims=True) if n else np.zeros((1,) * x.ndim, x.dtype)
        centered = x - mean
        ctx.save_for_backward(centered)
        ctx.shape, ctx.dim, ctx.keepdim, ctx.dof = x.shape, dim, keepdim, n - ddof
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sum(centered * centered, axis=dim, keepdims=keepdim) / x.dtype.type(max(ctx.dof, 0))
        return np.asarray(out).astype(x.dtype, copy=False)

    @staticmethod
    def _no_dof(ctx, centered):
        """torch's var_backward over all entries with no degrees of freedom: inf, NaN where an entry
        equals the mean (inf * 0), in place of 2 / (n - correction) * centered; None otherwise."""
        if ctx.dim is None and ctx.dof <= 0:
            return np.where(centered == 0, np.nan, np.inf).astype(centered.dtype)
        return None

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_tensors
        g = _expand(grad, ctx.shape, ctx.dim, ctx.keepdim)
        factor = VarFn._no_dof(ctx, centered)
        with np.errstate(invalid="ignore"):
            if factor is None:  # along a dim torch takes 2 / (n - correction) as is: inf at 0, negative below
                factor = (2.0 / ctx.dof if ctx.dof else np.inf) * centered
            return (factor * g).astype(centered.dtype, copy=False), None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        g = _expand_graph(grad, ctx.shape, ctx.dim, ctx.keepdim)
        factor = VarFn._no_dof(ctx, ctx.saved_tensors[0])
        if factor is not None:
            return constant_like(factor, grad) * g, None, None, None
        centered = x - MeanFn.apply(x, ctx.dim, True)
        return centered * (2.0 / ctx.dof if ctx.dof else np.inf) * g, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        return [((x,), {}), ((x,), {"dim": 1}), ((x,), {"dim": 0, "keepdim": True, "unbiased": False}),
                ((x,), {"dim": 1, "correction": 2})]


class StdFn(Function):
    """The square root of VarFn (same arguments). Backward is torch's std_backward: grad / (2 std), taken
    as 0 where the std is 0 (all entries equal: sqrt's derivative is infinite there, the variance's 0),
    then VarFn's backward."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False, unbiased=True, correction=None):
        out = np.sqrt(VarFn.forward(ctx, x, dim, keepdim, unbiased, correction))
        ctx.out, ctx.correction = out, (1 if unbiased else 0) if correction is None else correction
        return out

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(ctx.out == 0, 0, grad / (2 * ctx.out)).astype(grad.dtype, copy=False)
        return VarFn.backward(ctx, g)

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        out = StdFn.apply(x, ctx.dim, ctx.keepdim, correction=ctx.correction)  # recomputed: its derivative is kept
        zero = ctx.out == 0
        if zero.any():  # divide by 1 there, then mask
            g = grad / (2 * (out + constant_like(zero.astype(ctx.out.dtype), grad))) * constant_like(~zero, grad)
        else:
            g = grad / (2 * out)
        return VarFn.backward_graph(ctx, g)

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        return [((x,), {}), ((x,), {"dim": 1}), ((x,), {"dim": 0, "keepdim": True, "correction": 0})]


class _Extreme(Function, register=False):
    """max/min over dim (None, an int or a tuple; Tensor.max() and amax/amin). The gradient goes to
    the extreme element; ties share it equally (as PyTorch's max() and amax()), so the gradients of
    the tied entries still sum to the incoming gradient."""

    pick = None

    @classmethod
    def _reduce(cls, x, dim, keepdim):
        return cls.pick(x, axis=dim, keepdims=keepdim)

    @classmethod
    def forward(cls, ctx, x, dim=None, keepdim=False):
        out = np.asarray(cls._reduce(x, dim, keepdim))
        ctx.save_for_backward(x, out)
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        o = _expand(out, ctx.shape, ctx.dim, ctx.keepdim)
        g = _expand(grad, ctx.shape, ctx.dim, ctx.keepdim)
        mask = (x == o)
        count = mask.sum(axis=ctx.dim, keepdims=True)
        return (mask * g / count).astype(grad.dtype), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # the share of each entry is constant almost everywhere: only grad carries a graph
        x, out = ctx.saved_tensors
        mask = x == _expand(out, ctx.shape, ctx.dim, ctx.keepdim)
        share = (mask / mask.sum(axis=ctx.dim, keepdims=True)).astype(x.dtype)
        return _expand_graph(grad, ctx.shape, ctx.dim, ctx.keepdim) * constant_like(share, grad), None, None


class MaxFn(_Extreme):
    pick = staticmethod(np.max)

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(24).reshape(4, 6).astype(np.float64) * 0.1  # distinct values
        return [((x,), {}), ((x,), {"dim": 1}), ((x,), {"dim": 0, "keepdim": True})]


class MinFn(_Extreme):
    pick = staticmethod(np.min)

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(24).reshape(4, 6).astype(np.float64) * 0.1
        return [((x,), {}), ((x,), {"dim": -1})]


class EvenlySplitFn(Function):
    """pick(x), a value over all of x (max(), min(), median(), nanmedian() without dim), as a 0-d array.
    As torch's evenly_distribute_backward, its gradient is split evenly among the entries equal to it, a
    NaN counting as equal to a NaN value (amax and max(dim) give NaN or one entry)."""

    @staticmethod
    def forward(ctx, x, pick):
        out = np.asarray(pick(x), dtype=x.dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def _share(ctx):
        x, out = ctx.saved_tensors
        mask = x == out
        if x.dtype.kind == "f" and np.isnan(out):
            mask |= np.isnan(x)
        return (mask / max(int(mask.sum()), 1)).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad * EvenlySplitFn._share(ctx), None

    @staticmethod
    def backward_graph(ctx, grad):
        return grad * constant_like(EvenlySplitFn._share(ctx), grad), None  # which entries: constant a.e.

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(12).reshape(3, 4).astype(np.float64) * 0.1  # distinct values
        return [((x, np.max), {}), ((x, np.min), {})]


class TakeAlongDimFn(Function):
    """x's entries at `index` along dim: the values of max(dim)/min(dim), whose index picks one entry
    per slice (the first of any ties). index has x's shape with dim of size 1. Backward puts each
    gradient back where its value came from; the other entries get zero."""

    @staticmethod
    def forward(ctx, x, index, dim, keepdim=False):
        out = np.take_along_axis(x, index, axis=dim)
        ctx.shape, ctx.index, ctx.dim, ctx.keepdim = x.shape, index, dim, keepdim
        return out if keepdim else np.squeeze(out, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        g = grad if ctx.keepdim else np.expand_dims(grad, ctx.dim)
        dx = np.zeros(ctx.shape, dtype=grad.dtype)
        np.put_along_axis(dx, ctx.index, g, axis=ctx.dim)
        return dx, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        picked = np.zeros(ctx.shape, dtype=grad.dtype)
        np.put_along_axis(picked, ctx.index, 1, axis=ctx.dim)
        g = grad if ctx.keepdim else _expand_graph(grad, ctx.shape, ctx.dim, False)
        return g * constant_like(picked, grad), None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((4, 6))
        return [((x, np.argmax(x, axis=1, keepdims=True), 1), {}),
                ((x, np.argmin(x, axis=0, keepdims=True), 0), {"keepdim": True})]


# ---- more reductions (ported code, issue 16) ------------------------------------------------------------

def _product_of_others(x, axis):
    """For each entry, the product of the other entries along axis, from prefix and suffix products
    (no division, so zeros give PyTorch's gradient: nonzero only where a slice has one zero)."""
    xm = np.moveaxis(x, axis, -1)
    if xm.shape[-1] == 0:
        return np.zeros(x.shape, dtype=x.dtype)
    ones = np.ones(xm.shape[:-1] + (1,), dtype=x.dtype)
    left = np.concatenate([ones, np.cumprod(xm[..., :-1], axis=-1)], axis=-1)
    right = np.concatenate([np.cumprod(xm[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
    return np.moveaxis(left * right, -1, axis)


class ProdFn(Function):
    """Product over dim (an int, or None for all entries); integer and bool inputs give int64."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.save_for_backward(x)
        ctx.dim, ctx.keepdim = dim, keepdim
        out = np.asarray(np.prod(x, axis=dim, keepdims=keepdim))
        return out.astype(np.int64) if out.dtype.kind in "iub" else out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if x.ndim == 0:
            return grad, None, None
        g = _expand(grad, x.shape, ctx.dim, ctx.keepdim)
        zeros = np.count_nonzero(x == 0)
        if zeros == 0:  # as torch's prod_backward: prod / x, so a NaN or inf spreads as the division spreads it
            with np.errstate(divide="ignore", invalid="ignore"):
                return g * (np.prod(x, axis=ctx.dim, keepdims=True) / x), None, None
        if ctx.dim is None and zeros > 1:  # torch's shortcut over all entries: 0, even beside a NaN
            return np.zeros(x.shape, grad.dtype), None, None
        with np.errstate(invalid="ignore"):
            if ctx.dim is None:
                others = _product_of_others(x.reshape(-1), 0).reshape(x.shape)
            else:
                others = _product_of_others(x, ctx.dim)
            return g * others, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        shape, dim = x.shape, ctx.dim
        g = _expand_graph(grad, shape, dim, ctx.keepdim)
        if np.all(x._data):  # no zero: d prod / d x_i = prod / x_i (as PyTorch); which branch is constant a.e.
            return g * ProdFn.apply(x, dim, True) / x, None, None
        # a zero: the product of the others along the axis, prefix times suffix products (as backward),
        # built by a log-step scan of recorded products (roll, then 1 in the places rolled in from the
        # far end), so their derivative, the product of all but two (nonzero next to a zero), is kept
        xs, d = (x.reshape(-1), 0) if dim is None or not shape else (x, dim % len(shape))
        n = xs.shape[d]
        at = np.arange(n).reshape((n,) + (1,) * (xs.ndim - d - 1))

        def shifted(t, step):  # t moved step places along d (toward the end), 1 in the first step places
            return t.roll(step, d) * constant_like(at >= step, grad) + constant_like(at < step, grad)

        def running_product(t):
            step = 1
            while step < n:
                t = t * shifted(t, step)
                step *= 2
            return t

        left = shifted(running_product(xs), 1)
        right = shifted(running_product(xs.flip(d)), 1).flip(d)
        others = left * right
        return g * others.reshape(shape), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.uniform(0.5, 1.5, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
        z = x.copy()
        z[0, 1] = 0.0             # one zero in row 0: only that entry has a gradient there
        z[2, 0] = z[2, 3] = 0.0   # two zeros in row 2: no gradient at all
        return [((x,), {}), ((x,), {"dim": 1}), ((z,), {"dim": 1, "keepdim": True}), ((z[:1],), {})]


class CumsumFn(Function):
    """Running sum along dim; integer and bool inputs give int64 (as PyTorch). Backward is the
    running sum of the gradient from the other end."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(x, axis=dim, dtype=np.int64 if x.dtype.kind in "iub" else x.dtype)

    @staticmethod
    def backward(ctx, grad):
        d = ctx.dim
        return np.flip(np.cumsum(np.flip(grad, d), axis=d), d), None

    @staticmethod
    def backward_graph(ctx, grad):
        d = ctx.dim
        return CumsumFn.apply(grad.flip(d), d).flip(d), None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        return [((x, 1), {}), ((x, 0), {}), ((x[0], -1), {})]


class LogSumExpFn(Function):
    """log(sum(exp(x))) over dim (an int or a tuple), computed as m + log(sum(exp(x - m))) with m the
    maximum (an infinite maximum is taken as 0, as PyTorch), so it neither overflows nor underflows.
    Its gradient is softmax(x) along dim."""

    @staticmethod
    def forward(ctx, x, dim, keepdim=False):
        m = np.max(x, axis=dim, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
        ctx.save_for_backward(x, out)
        ctx.dim = dim
        return out if keepdim else np.squeeze(out, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        g = grad.reshape(out.shape)  # out kept the reduced axes
        return g * np.exp(x - out), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        out = LogSumExpFn.apply(x, ctx.dim, True)  # recomputed from x, so softmax's own derivative is kept
        return grad.reshape(out.shape) * (x - out).exp(), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4, 2)) * 3
        return [((x, 1), {}), ((x, (0, 2)), {"keepdim": True}), ((x + 500, -1), {})]


def _reverse_logcumsumexp(x, d):
    return np.flip(np.logaddexp.accumulate(np.flip(x, d), axis=d), d)


class LogCumSumExpFn(Function):
    """log(cumsum(exp(x))) along dim as a running log-add-exp: each prefix is shifted by its own
    maximum, so a large entry late in a slice underflows none before it and a NaN spreads forward only.
    Backward is PyTorch's: dx_i = sum over k >= i of g_k exp(x_i - out_k), the positive and negative
    parts of g each summed as a reversed logcumsumexp of log|g| - out, so no exp(-out) overflows."""

    @staticmethod
    def forward(ctx, x, dim):
        out = np.logaddexp.accumulate(x, axis=dim)
        ctx.save_for_backward(x, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        d, lowest = ctx.dim, np.finfo(grad.dtype).min
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_abs = np.log(np.abs(grad))
            parts = [_reverse_logcumsumexp(np.where(side, log_abs, lowest) - out, d) + x
                     for side in (grad > 0, grad < 0)]
            return (np.exp(parts[0]) - np.exp(parts[1])).astype(grad.dtype, copy=False), None

    @staticmethod
    def backward_graph(ctx, grad):
        x, d = ctx.parents[0], ctx.dim
        out = LogCumSumExpFn.apply(x, d)  # recomputed from x, so its own derivative is kept
        lowest = constant_like(np.asarray(np.finfo(grad._data.dtype).min, grad._data.dtype), grad)
        log_abs = grad.abs().log()
        parts = [LogCumSumExpFn.apply((WhereFn.apply(side, log_abs, lowest) - out).flip(d), d).flip(d) + x
                 for side in (grad._data > 0, grad._data < 0)]  # which side: constant a.e.
        return parts[0].exp() - parts[1].exp(), None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4)) * 3
        return [((x, 1), {}), ((x, 0), {}), ((x[0] + 500, 0), {})]


class NormFn(Function):
    """The vector p-norm over dim (None: all entries, an int or a tuple), p a number (inf, -inf and 0
    included). Gradients as PyTorch: 0 where the norm is 0; for p = +-inf split evenly among the entries
    whose |x| equals the norm."""

    @staticmethod
    def forward(ctx, x, p=2.0, dim=None, keepdim=False):
        a = np.abs(x)
        if p == 2:
            out = np.sqrt(np.sum(a * a, axis=dim, keepdims=True))
        elif p == 1:
            out = np.sum(a, axis=dim, keepdims=True)
        elif p == np.inf:
            out = np.max(a, axis=dim, keepdims=True)
        elif p == -np.inf:
            out = np.min(a, axis=dim, keepdims=True)
        elif p == 0:
            out = np.sum(a != 0, axis=dim, keepdims=True).astype(x.dtype)
        else:
            out = np.sum(a ** p, axis=dim, keepdims=True) ** (1.0 / p)
        ctx.save_for_backward(x, out)
        ctx.p, ctx.dim = p, dim
        return out if keepdim else np.squeeze(out, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p, dim = ctx.p, ctx.dim
        g = grad.reshape(out.shape)
        if p == 0:
            return np.zeros_like(x), None, None, None
        if p == 1:
            return g * np.sign(x), None, None, None
        if p in (np.inf, -np.inf):
            mask = np.abs(x) == out
            share = (g / mask.sum(axis=dim, keepdims=True)).astype(x.dtype, copy=False)  # ties split evenly
            return np.sign(x) * mask * share, None, None, None
        a = np.abs(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p < 1:  # as torch's norm_backward: |x|^(p-1) is taken as 0 at x = 0 (it is inf there)
                dx = np.sign(x) * np.where(x == 0, 0, a ** (p - 1)) * g * out ** (1 - p)
                return dx.astype(x.dtype, copy=False), None, None, None
            if p == 2:
                dx = x * (g / out)
            elif p < 2:  # sign(x) |x|^(p-1), not x |x|^(p-2): 0, not 0 * inf, at x = 0
                dx = np.sign(x) * a ** (p - 1) * (g / out ** (p - 1))
            else:
                dx = x * a ** (p - 2) * (g / out ** (p - 1))
        return np.where(out == 0, 0, dx).astype(x.dtype, copy=False), None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        x_arr, out_arr = ctx.saved_tensors
        p, dim = ctx.p, ctx.dim
        g = grad.reshape(out_arr.shape)
        if p == 0:
            return g * constant_like(np.zeros(x_arr.shape, x_arr.dtype), grad), None, None, None
        if p == 1:  # sign(x): constant a.e.
            return g * constant_like(np.sign(x_arr), grad), None, None, None
        if p in (np.inf, -np.inf):  # which entries are extreme (and their even split): constant a.e.
            mask = np.abs(x_arr) == out_arr
            share = np.sign(x_arr) * mask / mask.sum(axis=dim, keepdims=True)
            return g * constant_like(share.astype(x_arr.dtype, copy=False), grad), None, None, None
        x = ctx.parents[0]
        out = NormFn.apply(x, p, dim, True)
        if p < 2 and p != 1:  # sign(x) |x|^(p-1), with |x| taken as 1 where x = 0 (sign(x) is 0 there)
            zero_x = x_arr == 0
            a = x.abs() + constant_like(zero_x.astype(x_arr.dtype), grad) if zero_x.any() else x.abs()
            scaled = constant_like(np.sign(x_arr), grad) * a ** (p - 1)
            if p < 1:
                return scaled * g * out ** (1 - p), None, None, None
        zero = out_arr == 0  # a zero norm gives a zero gradient (as PyTorch): divide by 1 there, then mask
        safe = out + constant_like(zero.astype(x_arr.dtype), grad) if zero.any() else out
        if p == 2:
            dx = x * (g / safe)
        elif p < 2:
            dx = scaled * (g / safe ** (p - 1))
        else:
            dx = x * x.abs() ** (p - 2) * (g / safe ** (p - 1))
        if zero.any():
            dx = dx * constant_like(~zero, grad)
        return dx, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.permutation(12).reshape(3, 4) * 0.3 - 1.6  # distinct |x| (no tie: -inf is smooth there), none 0
        return [((x,), {}), ((x, 2.0, 1), {}), ((x, 1.0, (0, 1), True), {}), ((x, np.inf, 0), {}),
                ((x, -np.inf), {}), ((x, 3.0, -1), {}), ((x, 0.5), {}), ((x, 1.5, 0), {}), ((x, -1.0), {}),
                ((x, 0), {})]


class CumprodFn(Function):
    """The running product along dim. Backward is torch's cumprod_backward (first order): without a
    zero, the reversed running sum of out * grad divided by x; with zeros, per slice, that sum over the
    entries before the first zero, then for the first zero the sum over k in [z1, z2) of grad_k times
    out_{z1-1} times x_{z1+1} ... x_k, and exactly 0 after it (a NaN there changes nothing)."""

    @staticmethod
    def forward(ctx, x, dim):
        out = np.cumprod(x, axis=dim)
        ctx.save_for_backward(x, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        d = ctx.dim
        if x.size <= 1 or x.shape[d] == 1:
            return grad, None

        def reversed_cumsum(t):
            return np.flip(np.cumsum(np.flip(t, d), axis=d), d)

        w = out * grad
        is_zero = x == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            if not is_zero.any():
                return reversed_cumsum(w) / x, None
            zeros_so_far = np.cumsum(is_zero, axis=d)
            before = zeros_so_far == 0
            dx = np.where(before, reversed_cumsum(np.where(before, w, 0)) / np.where(before, x, 1), 0)
            from_first = zeros_so_far == 1  # the first zero up to (not including) the second
            first_zero = from_first & is_zero
            between = from_first & ~first_zero
            first_index = np.argmax(from_first, axis=d)[(slice(None),) * d + (None,)]
            previous = np.take_along_axis(out, np.maximum(first_index - 1, 0), axis=d)
            previous = np.where(first_index == 0, 1, previous)
            at_first = np.sum(np.cumprod(np.where(between, x, 1), axis=d) * np.where(from_first, grad, 0),
                              axis=d, keepdims=True) * previous
            return np.where(first_zero, at_first, dx).astype(grad.dtype, copy=False), None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 5))
        x[1, 2] = 0.0  # one zero in a row
        x[2, 1] = x[2, 3] = 0.0  # two zeros
        return [((x, 1), {}), ((x, 0), {}), ((x[0], 0), {})]
