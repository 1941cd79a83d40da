"""Shape ops: reshape, permute, indexing, cat, stack, where. Backward routes gradients back to where
each element came from (indexing scatters and accumulates repeated indices)."""
import numpy as np

from ..autograd.function import CAPTURE, Context, Function, capture_refuse, constant_like, unbroadcast, unbroadcast_graph


def _view_or_refuse(out, src):
    """out, a reshape of src; while a step is captured, refused if NumPy copied (firstepoch.capture: the
    tape would keep this batch's copy)."""
    if CAPTURE[0] is not None and out.size and not np.may_share_memory(out, src):
        capture_refuse("a reshape that copies (of a strided tensor) cannot be captured")
    return out


class ReshapeFn(Function):
    capturable = True  # firstepoch.capture: as a view only

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return _view_or_refuse(x.reshape(shape), x)
        except ValueError:
            raise RuntimeError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                               f"into {tuple(shape)}") from None  # torch's class (NumPy's is ValueError)

    @staticmethod
    def backward(ctx, grad):
        return _view_or_refuse(grad.reshape(ctx.shape), grad), None

    @staticmethod
    def backward_graph(ctx, grad):
        return grad.reshape(ctx.shape), None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 4)), (2, 6)), {}), ((rng.standard_normal((2, 3, 2)), (-1,)), {})]


class PermuteFn(Function):
    capturable = True  # firstepoch.capture: a view, both ways

    @staticmethod
    def forward(ctx, x, dims):
        dims = tuple(d % x.ndim for d in dims)
        if sorted(dims) != list(range(x.ndim)):
            raise RuntimeError(f"permute: dims {dims} are not a permutation of the {x.ndim} axes of shape {x.shape}")
        ctx.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.inverse), None

    @staticmethod
    def backward_graph(ctx, grad):
        return grad.permute(tuple(int(d) for d in ctx.inverse)), None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((2, 3, 4)), (2, 0, 1)), {}), ((rng.standard_normal((3, 4)), (1, 0)), {})]


def _is_basic(index):
    """True for an index of ints, slices, None and Ellipsis only: it picks each element at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) and not isinstance(p, bool)
               for p in parts)


class GetItemFn(Function):
    """x[index]. Backward scatters the gradient into zeros: a plain assignment for basic indices
    (ints and slices select each element once), np.add.at for fancy ones, so repeated indices add up."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        try:
            out = x[index]
            if not isinstance(out, np.ndarray):  # all ints: a 0-d view (as torch's x[i]), not a NumPy scalar
                out = x[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
            return out
        except IndexError as e:
            raise IndexError(f"index {index!r} is out of range for a tensor of shape {x.shape}: {e}") from None

    @staticmethod
    def backward(ctx, grad):
        return GetItemFn.backward_into(ctx, grad, None), None

    @staticmethod
    def backward_into(ctx, grad, into):
        """The gradient added into `into` (None: into zeros) at the index, in place."""
        fresh = into is None
        if fresh:
            into = np.zeros(ctx.shape, dtype=grad.dtype)
        if not _is_basic(ctx.index):
            np.add.at(into, ctx.index, grad)
        elif fresh:
            into[ctx.index] = grad  # each element picked once: a plain store
        else:
            into[ctx.index] += grad
        return into

    @staticmethod
    def backward_graph(ctx, grad):
        return GetItemGradFn.apply(grad, ctx.shape, ctx.index), None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((4, 5))
        return [((x, (slice(1, 3), slice(None, None, 2))), {}),
                ((x, (np.array([0, 2, 0]),)), {}),               # a repeated row: gradients add up
                ((x, (x > 0.2,)), {}),
                ((x, (1, -1)), {}),
                ((x, (Ellipsis, None, slice(None, None, -1))), {}),
                ((x, (np.array([[1, 1], [3, 0]]), slice(1, 4))), {})]


class CatFn(Function):
    """Concatenate along dim. Called as CatFn.apply(dim, *tensors)."""

    @staticmethod
    def forward(ctx, dim, *xs):
        if not xs:
            raise RuntimeError("cat: expected at least one tensor")
        ref = xs[0]
        for i, x in enumerate(xs):
            if x.ndim != ref.ndim or any(a != b for k, (a, b) in enumerate(zip(x.shape, ref.shape))
                                         if k != dim % ref.ndim):
                raise RuntimeError(f"cat: tensor {i} has shape {x.shape}, which does not match {ref.shape} "
                                   f"outside dim {dim}")
        ctx.dim = dim % ref.ndim
        ctx.sizes = [x.shape[ctx.dim] for x in xs]
        return np.concatenate(xs, axis=ctx.dim)

    @staticmethod
    def backward(ctx, grad):
        bounds = np.cumsum(ctx.sizes)[:-1]
        return (None, *np.split(grad, bounds, axis=ctx.dim))

    @staticmethod
    def backward_graph(ctx, grad):
        lead = (slice(None),) * ctx.dim
        bounds = np.cumsum([0] + ctx.sizes)
        return (None, *(grad[lead + (slice(int(lo), int(hi)),)] for lo, hi in zip(bounds[:-1], bounds[1:])))

    @staticmethod
    def gradcheck_cases(rng):
        return [((1, rng.standard_normal((2, 3)), rng.standard_normal((2, 1)), rng.standard_normal((2, 2))), {}),
                ((0, rng.standard_normal((1, 3)), rng.standard_normal((2, 3))), {})]


class StackFn(Function):
    """Stack along a new axis dim. Called as StackFn.apply(dim, *tensors)."""

    @staticmethod
    def forward(ctx, dim, *xs):
        if not xs:
            raise RuntimeError("stack: expected at least one tensor")
        for i, x in enumerate(xs):
            if x.shape != xs[0].shape:
                raise RuntimeError(f"stack: tensor {i} has shape {x.shape}, tensor 0 has {xs[0].shape}")
        ctx.dim = dim % (xs[0].ndim + 1)
        return np.stack(xs, axis=ctx.dim)

    @staticmethod
    def backward(ctx, grad):
        return (None, *(np.take(grad, i, axis=ctx.dim) for i in range(grad.shape[ctx.dim])))

    @staticmethod
    def backward_graph(ctx, grad):
        lead = (slice(None),) * ctx.dim
        return (None, *(grad[lead + (i,)] for i in range(grad.shape[ctx.dim])))

    @staticmethod
    def gradcheck_cases(rng):
        return [((0, rng.standard_normal((2, 3)), rng.standard_normal((2, 3))), {}),
                ((-1, rng.standard_normal((3,)), rng.standard_normal((3,)), rng.standard_normal((3,))), {})]


class WhereFn(Function):
    """where(cond, a, b) with broadcasting; cond is a boolean array (no gradient)."""

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond, dtype=bool)
        ctx.save_for_backward(cond)
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        zero = np.zeros((), dtype=grad.dtype)
        return None, unbroadcast(np.where(cond, grad, zero), sa), unbroadcast(np.where(cond, zero, grad), sb)

    @staticmethod
    def backward_graph(ctx, grad):
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        zero = constant_like(np.zeros((), dtype=grad.dtype), grad)
        need = ctx.needs_input_grad
        return (None, unbroadcast_graph(WhereFn.apply(cond, grad, zero), sa) if need[1] else None,
                unbroadcast_graph(WhereFn.apply(cond, zero, grad), sb) if need[2] else None)

    @staticmethod
    def gradcheck_cases(rng):
        cond = rng.standard_normal((3, 4)) > 0
        return [((cond, rng.standard_normal((3, 4)), rng.standard_normal((4,))), {})]


# ---- more shape ops (ported code, issue 16) --------------------------------------------------------------

class ExpandFn(Function):
    """x broadcast to `shape` (a read-only broadcast view, as torch.expand's is a view); backward sums
    the gradient over the broadcast axes."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape), None

    @staticmethod
    def backward_graph(ctx, grad):
        return unbroadcast_graph(grad, ctx.shape), None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 1)), (2, 3, 4)), {}), ((rng.standard_normal((2,)), (3, 2)), {})]


class RepeatFn(Function):
    """x tiled `repeats` times along each axis (torch.repeat: len(repeats) >= x.ndim, new axes in
    front). Backward sums the gradient over the copies."""

    @staticmethod
    def forward(ctx, x, repeats):
        shape = (1,) * (len(repeats) - x.ndim) + x.shape
        ctx.shape, ctx.padded, ctx.repeats = x.shape, shape, tuple(repeats)
        return np.tile(x.reshape(shape), repeats)

    @staticmethod
    def backward(ctx, grad):
        split = [n for pair in zip(ctx.repeats, ctx.padded) for n in pair]  # (r0, s0, r1, s1, ...)
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return summed.reshape(ctx.shape), None

    @staticmethod
    def backward_graph(ctx, grad):
        split = [n for pair in zip(ctx.repeats, ctx.padded) for n in pair]
        return grad.reshape(split).sum(tuple(range(0, len(split), 2))).reshape(ctx.shape), None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((2, 3)), (2, 1)), {}), ((rng.standard_normal((3,)), (2, 2, 3)), {})]


class FlipFn(Function):
    """x reversed along the axes in dims (a tuple)."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.flip(grad, ctx.dims), None

    @staticmethod
    def backward_graph(ctx, grad):
        return FlipFn.apply(grad, ctx.dims), None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((2, 3, 4))
        return [((x, (0,)), {}), ((x, (2, 0)), {})]


class RollFn(Function):
    """x shifted cyclically by shifts along dims (dims None: over the flattened tensor, shape kept)."""

    @staticmethod
    def forward(ctx, x, shifts, dims=None):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        back = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return np.roll(grad, back, axis=ctx.dims), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        back = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return RollFn.apply(grad, back, ctx.dims), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        return [((x, 1), {}), ((x, (1, -3), (0, 1)), {}), ((x, 5, 1), {})]


def _along(index, dim):
    """The NumPy index that picks, for every position of `index`, the entry at index[pos] along dim
    and at pos along the other axes (what torch.gather and torch.scatter address)."""
    grids = list(np.indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


class GatherFn(Function):
    """torch.gather: out[i][j] = x[index[i][j]][j] for dim 0 (and so on); index may be smaller than x
    along every axis. Backward adds each gradient back where its value came from (repeats add up)."""

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.where = x.shape, _along(index, dim)
        return x[ctx.where]

    @staticmethod
    def backward(ctx, grad):
        dx = np.zeros(ctx.shape, dtype=grad.dtype)
        np.add.at(dx, ctx.where, grad)
        return dx, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # ctx.where is a fancy index: GetItemGradFn adds repeats up, and its own backward gathers again
        return GetItemGradFn.apply(grad, ctx.shape, ctx.where), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        return [((x, 1, np.array([[0, 0, 3], [1, 2, 1]])), {}), ((x, 0, np.array([[2, 0, 1, 2]])), {})]


class ScatterFn(Function):
    """torch.scatter, out of place: a copy of x with out[index[i][j]][j] = src[i][j] (dim 0; src may be
    larger than index, only its first index.shape entries are used) or = value when src is None.
    With repeated indices the last write wins (PyTorch leaves it unspecified). Gradients as PyTorch:
    x's is grad with the written positions zeroed, src's is grad gathered at index."""

    @staticmethod
    def forward(ctx, x, dim, index, src, value=None):
        where = _along(index, dim)
        ctx.shape, ctx.where = np.shape(src), where
        out = x.copy()
        if src is None:
            out[where] = value
        else:
            out[where] = src[tuple(slice(0, n) for n in index.shape)]
        return out

    @staticmethod
    def backward(ctx, grad):
        dx = dsrc = None
        if ctx.needs_input_grad[0]:
            dx = grad.copy()
            dx[ctx.where] = 0
        if ctx.needs_input_grad[3]:
            dsrc = np.zeros(ctx.shape, dtype=grad.dtype)
            picked = grad[ctx.where]
            dsrc[tuple(slice(0, n) for n in picked.shape)] = picked
        return dx, None, None, dsrc

    @staticmethod
    def backward_graph(ctx, grad):
        dx = dsrc = None
        if ctx.needs_input_grad[0]:
            dx = SetItemFn.apply(grad, ctx.where, np.zeros((), grad.dtype))
        if ctx.needs_input_grad[3]:
            dsrc = GetItemFn.apply(grad, ctx.where)
            if dsrc.shape != tuple(ctx.shape):  # src larger than index: zeros past index's extent
                dsrc = GetItemGradFn.apply(dsrc, ctx.shape, tuple(slice(0, n) for n in dsrc.shape))
        return dx, None, None, dsrc

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        index = np.array([[0, 2, 1], [1, 0, 2]])  # no repeats along dim 0 within a column
        return [((x, 0, index, rng.standard_normal((2, 3))), {}), ((x, 1, np.array([[3], [0], [1]]),
                                                                   rng.standard_normal((3, 2))), {}),
                ((x, 1, np.array([[3, 1], [0, 2]]), None), {"value": 2.5})]


class IndexSelectFn(Function):
    """The entries of x at the positions `index` (a 1-D integer array) along dim; backward adds the
    gradients back (repeated positions add up)."""

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim, ctx.index = x.shape, dim, index
        return np.take(x, index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        dx = np.zeros(ctx.shape, dtype=grad.dtype)
        np.add.at(np.moveaxis(dx, ctx.dim, 0), ctx.index, np.moveaxis(grad, ctx.dim, 0))
        return dx, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # x.index_select(dim, index) is x[:, ..., index] (one fancy index keeps its place)
        where = (slice(None),) * (ctx.dim % max(len(ctx.shape), 1)) + (np.asarray(ctx.index),)
        return GetItemGradFn.apply(grad, ctx.shape, where), None, None

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((3, 4))
        return [((x, 1, np.array([2, 0, 2])), {}), ((x, 0, np.array([1])), {})]


class CloneFn(Function):
    """A copy in new memory (C order); the gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, x):
        return np.array(x, copy=True, order="C")

    @staticmethod
    def backward(ctx, grad):
        return (grad,)

    @staticmethod
    def backward_graph(ctx, grad):
        return (grad,)

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 4)),), {})]


class GetItemGradFn(Function):
    """The backward of GetItemFn as an op of its own: grad scattered into zeros of `shape` at index
    (repeated fancy indices add up). Its backward is indexing again, so the gradient of a gradient
    through x[index] exists (create_graph=True). Called as GetItemGradFn.apply(grad, shape, index)."""

    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.shape, ctx.index = shape, index
        return GetItemFn.backward(ctx, grad)[0]

    @staticmethod
    def backward(ctx, grad):
        return GetItemFn.forward(Context(), grad, ctx.index), None, None

    @staticmethod
    def backward_graph(ctx, grad):
        return GetItemFn.apply(grad, ctx.index), None, None

    @staticmethod
    def gradcheck_cases(rng):
        cases = []
        for (x, index), _ in GetItemFn.gradcheck_cases(rng):
            picked = GetItemFn.forward(Context(), x, index)
            cases.append(((rng.standard_normal(picked.shape), x.shape, index), {}))
        return cases


class SetItemFn(Function):
    """x with x[index] = value (value broadcast to the indexed shape, already of x's dtype): what
    `x[index] = value` records (Tensor.__setitem__ writes the result into x's own memory). Backward: x's
    gradient is the incoming one with the written places zeroed; value's is the incoming one at those
    places, summed down to value's shape. With a fancy index that names an element twice, one of the
    writes is kept (as torch's index_put_) and each copy of value still gets that element's gradient."""

    @staticmethod
    def forward(ctx, x, index, value):
        ctx.index, ctx.value_shape = index, np.shape(value)
        out = x.copy()
        try:
            out[index] = value
        except IndexError as e:
            raise IndexError(f"index {index!r} is out of range for a tensor of shape {x.shape}: {e}") from None
        except (ValueError, TypeError) as e:
            if isinstance(e, TypeError) and "boolean array indexing assignment" not in str(e):
                raise  # (NumPy's TypeError for a mask's value that does not broadcast is torch's RuntimeError)
            raise RuntimeError(f"setitem: shape mismatch: a value of shape {np.shape(value)} cannot be written "
                               f"into x[{index!r}] of a tensor of shape {x.shape}: {e}") from None
        return out

    @staticmethod
    def backward(ctx, grad):
        need_x, _, need_v = ctx.needs_input_grad
        dx = dv = None
        if need_x:
            dx = grad.copy()
            dx[ctx.index] = 0
        if need_v:
            dv = unbroadcast(np.asarray(grad[ctx.index]), ctx.value_shape)
        return dx, None, dv

    @staticmethod
    def backward_graph(ctx, grad):
        need_x, _, need_v = ctx.needs_input_grad
        dx = SetItemFn.apply(grad, ctx.index, np.zeros((), grad.dtype)) if need_x else None
        dv = unbroadcast_graph(GetItemFn.apply(grad, ctx.index), ctx.value_shape) if need_v else None
        return dx, None, dv

    @staticmethod
    def gradcheck_cases(rng):
        x = rng.standard_normal((4, 5))
        return [((x, (slice(1, 3), slice(None, None, 2)), rng.standard_normal((2, 3))), {}),
                ((x, (1,), rng.standard_normal(5)), {}),
                ((x, (slice(None), 2), rng.standard_normal(())), {}),        # broadcast: the sum comes back
                ((x, (x > 0.3,), rng.standard_normal(())), {}),              # a mask
                ((x, (np.array([0, 3]),), rng.standard_normal((2, 5))), {})]  # fancy rows


_REDUCE_UFUNCS = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _scatter_reduce(x, dim, index, src, reduce, include_self):
    """(result, positions written, how many entries of src each received) of torch.scatter_reduce."""
    part = src[tuple(slice(0, n) for n in index.shape)]
    where = _along(index, dim)
    count = np.zeros(x.shape, np.int64)
    np.add.at(count, where, 1)
    hit = count > 0
    out = x.copy()
    if not include_self:  # the reduction's identity where src writes: x's own value is left out there
        if reduce in ("sum", "mean"):
            out[hit] = 0
        elif reduce == "prod":
            out[hit] = 1
        else:
            big = np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).max
            out[hit] = -big if reduce == "amax" else big
    _REDUCE_UFUNCS[reduce].at(out, where, part)
    if reduce == "mean":
        n = np.maximum(count + (1 if include_self else 0), 1).astype(x.dtype)
        out = out / n if x.dtype.kind == "f" else np.floor_divide(out, n)  # torch: floor for integers
    return out.astype(x.dtype, copy=False), hit, count


class ScatterReduceFn(Function):
    """torch.scatter_reduce(x, dim, index, src, reduce, include_self): src's entries (index's leading part)
    reduced into a copy of x at index along dim, reduce one of sum, prod, mean, amax, amin; with
    include_self=False x's own value is left out where src writes. Backward as torch's
    (scatter_reduce_backward): mean divides by the count, amax/amin share the gradient evenly among the
    entries equal to the result (x's included, also with include_self=False, as torch counts it), prod
    takes the product of the others (exactly, also where an entry is 0)."""

    @staticmethod
    def forward(ctx, x, dim, index, src, reduce="sum", include_self=True):
        out, hit, count = _scatter_reduce(x, dim, index, src, reduce, include_self)
        ctx.args = (dim, index, reduce, include_self, hit, count)
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        dim, index, reduce, include_self, hit, count = ctx.args
        x, src, out = ctx.saved_tensors
        lead = tuple(slice(0, n) for n in index.shape)
        part = src[lead]
        at = _along(index, dim)  # the positions src writes (gather and scatter address)
        with np.errstate(divide="ignore", invalid="ignore"):
            if reduce == "sum":
                dx, dpart = grad.copy(), grad[at]
            elif reduce == "mean":
                n = (count + (1 if include_self else 0)).astype(grad.dtype)
                n[n == 0] = 1
                dx = grad / n
                dpart = dx[at]
            elif reduce in ("amax", "amin"):
                value = out[at]
                self_is = (x == out).astype(grad.dtype)
                src_is = (part == value).astype(grad.dtype)
                shares = self_is.copy()
                np.add.at(shares, at, src_is)
                spread = grad / shares
                dx = self_is * spread
                dpart = src_is * spread[at]
            else:  # prod
                masked_x = np.where(x == 0, 1, x).astype(x.dtype)
                dx = grad * _scatter_reduce(masked_x, dim, index, src, "prod", include_self)[0] / masked_x
                zero = part == 0
                zeros_at = np.zeros(x.shape, np.int64)
                np.add.at(zeros_at, at, zero)
                single = zero & (zeros_at[at] == 1)
                masked_src = src.copy()
                masked_src[lead] = np.where(single, 1, part)
                others = _scatter_reduce(x, dim, index, masked_src, "prod", include_self)[0]
                dpart = np.where(single, (grad * others)[at],
                                 (grad * out)[at] / np.where(zero, 1, part))
        if not include_self:
            dx = np.where(hit, 0, dx)
        dsrc = None
        if ctx.needs_input_grad[3]:
            dsrc = np.zeros(src.shape, dtype=grad.dtype)
            dsrc[lead] = dpart
        return dx.astype(grad.dtype, copy=False), None, None, dsrc, None, None

    @staticmethod
    def gradcheck_cases(rng):
        x, src = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
        index = np.array([[0, 1, 2, 0], [2, 2, 0, 1]])  # (2, 4): repeats, smaller than src
        return [((x, 0, index, src, reduce), {"include_self": include})
                for reduce in ("sum", "mean", "prod", "amax", "amin") for include in (True, False)]


class ScatterAddFn(Function):
    """x with src[i][j] added at out[index[i][j]][j] (dim 0, and so on): torch.scatter_add; repeated
    indices all add. index may be smaller than src (only src's leading part, index's shape, is used).
    Backward: x's gradient passes through; src's is the gradient gathered at index (zero beyond it)."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.index, ctx.src_shape = dim, index, src.shape
        part = src[tuple(slice(0, n) for n in index.shape)]
        out = x.copy()
        np.add.at(out, _along(index, dim), part)
        return out

    @staticmethod
    def backward(ctx, grad):
        dsrc = None
        if ctx.needs_input_grad[3]:
            dsrc = np.zeros(ctx.src_shape, dtype=grad.dtype)
            dsrc[tuple(slice(0, n) for n in ctx.index.shape)] = grad[_along(ctx.index, ctx.dim)]
        return grad, None, None, dsrc

    @staticmethod
    def gradcheck_cases(rng):
        x, src = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
        index = np.array([[0, 1, 2, 0], [2, 2, 0, 1]])  # (2, 4): repeats, smaller than src
        return [((x, 0, index, src), {})]
