"""Reductions over `dim` (an int, a tuple, or None for all), with keepdim."""
import numpy as np

from ..autograd.function import Function, constant_like


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
        return np.asarray(x.sum(axis=dim, keepdims=keepdim))

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
    def forward(ctx, x, dim=None, keepdim=False, unbiased=True):
        n = _count(x.shape, dim)
        ddof = 1 if unbiased else 0
        if n - ddof <= 0:
            raise ValueError(f"var: {n} element(s) along dim={dim} of shape {x.shape}: too few for unbiased={unbiased}")
        mean = x.mean(axis=dim, keepdims=True)
        ctx.save_for_backward(x - mean)
        ctx.shape, ctx.dim, ctx.keepdim, ctx.denom = x.shape, dim, keepdim, n - ddof
        return np.asarray(x.var(axis=dim, keepdims=keepdim, ddof=ddof))

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_tensors
        g = _expand(grad, ctx.shape, ctx.dim, ctx.keepdim)
        return (2.0 / ctx.denom) * centered * g, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        x = ctx.parents[0]
        centered = x - MeanFn.apply(x, ctx.dim, True)
        return centered * (2.0 / ctx.denom) * _expand_graph(grad, ctx.shape, ctx.dim, ctx.keepdim), None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        return [((x,), {}), ((x,), {"dim": 1}), ((x,), {"dim": 0, "keepdim": True, "unbiased": False})]


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
