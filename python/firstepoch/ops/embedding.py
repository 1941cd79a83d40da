"""Embedding lookup: out[...] = weight[indices[...]]. Backward scatters each output row's gradient back
to the row it was read from; repeated indices add up (np.add.at, on the flat weight: add_rows_at), the
padding row gets none, and with scale_grad_by_freq each row's gradient is divided by how often its index
occurs in the batch. max_norm renormalises the rows looked up, in the weight itself, before the lookup (as
torch: not recorded).

embedding_bag: the rows of each bag (a run of indices between two offsets) summed, averaged or maxed,
vectorised over bags: a bag id per index (np.repeat), the sums by add_rows_at, the maxima by
np.maximum.reduceat; backward scatters each bag's gradient to the rows it read (max: to the row that
held each column's maximum).

No `_C` entry: a gather and a scatter-add in NumPy. Reference: `firstepoch.reference.embedding`
(`embedding_forward`, `embedding_backward`, `embedding_bag_forward`, `embedding_bag_backward`).
"""
import warnings

import numpy as np

from ..autograd.function import Function, TensorBase, bump_version, constant_like
from .shape import GetItemGradFn


# values per np.add.at call in add_rows_at: its flat index array (int64) stays at 8 MiB
_ADD_ROWS_CHUNK = 1 << 20


def add_rows_at(out, rows, values):
    """out[rows[i]] += values[i] for each i in order, repeated rows adding up: np.add.at(out, rows, values)
    for a C-contiguous 2-D out, with the same sums in the same order. np.add.at on the 2-D array walks a
    row at a time (1.1 ms for GPT's 2048 x 128 token gradients); on out's flat view, with one index per
    value, it runs 3.5x faster. Done in chunks of rows, so the flat index never holds more than
    _ADD_ROWS_CHUNK values."""
    n, D = values.shape
    if n == 0 or D == 0:
        return out
    if not out.flags.c_contiguous or out.ndim != 2:
        np.add.at(out, rows, values)
        return out
    flat = out.reshape(-1)
    cols = np.arange(D, dtype=np.int64)
    step = max(1, _ADD_ROWS_CHUNK // D)
    for r0 in range(0, n, step):
        r = rows[r0:r0 + step].astype(np.int64, copy=False)
        np.add.at(flat, (r[:, None] * D + cols).reshape(-1), values[r0:r0 + step].reshape(-1))
    return out


def check_indices(indices, num_embeddings):
    """indices as an int64 array; RuntimeError for a float or bool dtype (torch's class and words), IndexError
    naming an out-of-range value. Any integer dtype is taken (torch takes int64 and int32 only; README,
    "Porting from PyTorch")."""
    indices = np.asarray(indices)
    if indices.dtype == bool or not np.issubdtype(indices.dtype, np.integer):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {indices.dtype} instead (embedding: indices must be an integer "
                           f"tensor)")
    if indices.size:
        lo, hi = int(indices.min()), int(indices.max())
        bad = lo if lo < 0 else hi
        if lo < 0 or hi >= num_embeddings:
            raise IndexError(f"embedding: index {bad} is out of range [0, {num_embeddings}) "
                             f"(indices of shape {indices.shape})")
    return indices.astype(np.int64, copy=False)


def check_padding_idx(padding_idx, num_embeddings):
    """torch's check (an AssertionError, its message): -num_embeddings <= padding_idx < num_embeddings."""
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError("Padding_idx must be within num_embeddings")


class EmbeddingFn(Function):
    """embedding(weight (N, D), indices (any shape, int), padding_idx, scale_grad_by_freq) -> (*indices.shape, D).

    Backward: dweight[i] = sum of grad rows whose index is i (each divided by the count of i in
    indices when scale_grad_by_freq); dweight[padding_idx] = 0.
    """

    @staticmethod
    def forward(ctx, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        if weight.ndim != 2:
            raise RuntimeError(f"'weight' must be 2-D (embedding: (num_embeddings, embedding_dim)), got shape "
                               f"{weight.shape}")
        indices = check_indices(indices, weight.shape[0])
        ctx.indices, ctx.padding_idx, ctx.weight_shape = indices, padding_idx, weight.shape
        ctx.scale_grad_by_freq = scale_grad_by_freq
        return weight[indices]

    @staticmethod
    def _row_scale(ctx, dtype):
        """1 / (count of each output row's index): torch's scale_grad_by_freq, as a (*indices.shape, 1) array."""
        counts = np.bincount(ctx.indices.reshape(-1), minlength=ctx.weight_shape[0])
        return (1.0 / counts[ctx.indices]).astype(dtype)[..., None]

    @staticmethod
    def backward(ctx, grad):
        if ctx.scale_grad_by_freq:
            grad = grad * EmbeddingFn._row_scale(ctx, grad.dtype)
        dweight = np.zeros(ctx.weight_shape, dtype=grad.dtype)
        add_rows_at(dweight, ctx.indices.reshape(-1), grad.reshape(ctx.indices.size, ctx.weight_shape[1]))
        if ctx.padding_idx is not None:
            dweight[ctx.padding_idx] = 0
        return dweight, None, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # the scatter-add of backward is the gradient op of weight[indices]: GetItemGradFn
        if ctx.scale_grad_by_freq:
            grad = grad * constant_like(EmbeddingFn._row_scale(ctx, grad.dtype), grad)
        dweight = GetItemGradFn.apply(grad, ctx.weight_shape, (ctx.indices,))
        if ctx.padding_idx is not None:
            rows = np.ones((ctx.weight_shape[0], 1), dtype=grad.dtype)
            rows[ctx.padding_idx] = 0
            dweight = dweight * constant_like(rows, grad)
        return dweight, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        # no padding_idx or scale_grad_by_freq case: those gradients are conventions (PyTorch's), not
        # the derivative
        w = rng.standard_normal((6, 3))
        return [((w, np.array([0, 2, 2, 5])), {}),                       # a repeated row: gradients add up
                ((w, np.array([[1, 4, 1], [0, 0, 3]])), {}),
                ((w, np.array(3)), {})]


def embedding_renorm_(weight, indices, max_norm, norm_type=2.0):
    """In place, as torch.embedding_renorm_: each row of weight that indices name and whose norm_type-norm
    exceeds max_norm is scaled by max_norm / (norm + 1e-7). Not recorded by autograd (torch does it
    under no_grad); the weight's version counter moves, as for any in-place change."""
    arr = weight._data if isinstance(weight, TensorBase) else weight
    rows = np.unique(check_indices(indices, arr.shape[0]))
    if rows.size == 0:
        return weight
    norms = np.linalg.norm(arr[rows], ord=float(norm_type), axis=1).astype(np.float64)
    over = norms > max_norm
    if over.any():
        rows = rows[over]
        scale = (max_norm / (norms[over] + 1e-7)).astype(arr.dtype)
        arr[rows] *= scale[:, None]
        if isinstance(weight, TensorBase):
            bump_version(weight)
    return weight


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """As torch.nn.functional.embedding: weight[input], input an integer Tensor or array of any shape,
    output (*input.shape, D). padding_idx (negative counts from the end): that row gets no gradient.
    max_norm: the rows looked up are first renormalised in weight itself (embedding_renorm_).
    Deliberate difference: sparse=True is accepted and gives the same gradient, dense."""
    indices = input._data if isinstance(input, TensorBase) else np.asarray(input)
    n = weight.shape[0]
    if padding_idx is not None:
        check_padding_idx(padding_idx, n)
        padding_idx %= n  # negative counts from the end
    if max_norm is not None:
        embedding_renorm_(weight, indices, max_norm, norm_type)
    return EmbeddingFn.apply(weight, indices, padding_idx, bool(scale_grad_by_freq))


# ---- embedding_bag: a lookup reduced over bags --------------------------------------------------------

_BAG_MODES = ("sum", "mean", "max")


class _IndexOutOfRange(IndexError, RuntimeError):
    """An index outside [0, num_embeddings): torch's embedding_bag raises RuntimeError, firstepoch's
    embedding IndexError; this is both, so code that catches either keeps working."""


def check_bag_index_dtype(dtype):
    """torch's rule for embedding_bag: input and offsets of different dtypes are promoted together, and
    the result must be int64 or int32 (RuntimeError, torch's words, otherwise)."""
    if dtype not in (np.dtype(np.int64), np.dtype(np.int32)):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {dtype} instead (while checking arguments for embedding_bag)")


def check_bag_range(indices, num_embeddings):
    """torch's words for the first index of 1-D indices outside [0, num_embeddings)."""
    if indices.size:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < 0 or hi >= num_embeddings:
            j = int(np.flatnonzero((indices < 0) | (indices >= num_embeddings))[0])
            raise _IndexOutOfRange(f"Index {j} of input takes value {int(indices[j])} which is not in the valid "
                                   f"range [0, {num_embeddings})")


def bag_layout(indices, offsets, num_embeddings, include_last_offset):
    """For 1-D indices (n,) and 1-D offsets: (bag, num_bags), bag[j] the bag of indices[j] (np.repeat of
    the bag numbers; an empty bag takes no entry). With include_last_offset, offsets[-1] only closes the
    list: the last bag runs to the end of indices, as torch's general CPU kernel (its float32 fast path
    stops at offsets[-1] < n; torch's documentation asks for offsets[-1] == n). Checks the offsets and
    the index range with torch's error classes."""
    n = indices.shape[0]
    offsets = offsets.astype(np.int64, copy=False)
    if include_last_offset and offsets.size == 0:
        raise RuntimeError("include_last_offset: number of offset should be at least 1")
    if offsets.size and offsets.min() < 0:
        raise IndexError(f"embedding_bag: offsets must not be negative, got {int(offsets.min())} (index out of range "
                         f"in self)")
    if offsets.size and offsets[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {int(offsets[0])}")
    if offsets.size and offsets[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got offsets[-1] of "
                           f"{int(offsets[-1])}")
    if offsets.size and np.diff(offsets).min(initial=0) < 0:
        raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, got {offsets.tolist()}")
    starts = offsets[:-1] if include_last_offset else offsets
    lengths = np.diff(starts, append=n)  # the last bag runs to the end of indices, whatever offsets[-1] says
    check_bag_range(indices, num_embeddings)
    return np.repeat(np.arange(lengths.size, dtype=np.int64), lengths), int(lengths.size)


class EmbeddingBagFn(Function):
    """embedding_bag(weight (N, D), per_sample_weights (n,) or None, indices (n,) int, offsets (B or B+1,)
    int, mode, include_last_offset, padding_idx, scale_grad_by_freq) -> (B, D): each bag's rows of
    weight (times per_sample_weights, mode "sum" only) summed, averaged or maxed per column; the
    padding_idx entries are left out of their bag (and of "mean"'s count); an empty bag gives zeros.

    Backward: sum/mean scatter each bag's gradient (divided by the bag's count for "mean", times the
    entry's weight) to the rows it read, each divided by its index's count with scale_grad_by_freq;
    max gives each column's gradient to the row that held the maximum (the first, on ties);
    dper_sample_weights[j] = <grad of j's bag, weight[indices[j]]>.
    """

    @staticmethod
    def forward(ctx, weight, per_sample_weights, indices, offsets, mode="mean", include_last_offset=False,
                padding_idx=None, scale_grad_by_freq=False):
        N, D = weight.shape
        bag, B = bag_layout(indices, offsets, N, include_last_offset)
        used = np.arange(bag.size)  # positions in indices of the entries that count
        idx = indices[:bag.size].astype(np.int64, copy=False)
        if padding_idx is not None:
            keep = idx != padding_idx
            used, idx, bag = used[keep], idx[keep], bag[keep]
        ctx.used, ctx.idx, ctx.bag, ctx.mode, ctx.psw = used, idx, bag, mode, None
        ctx.weight_shape, ctx.n_input, ctx.scale_grad_by_freq = weight.shape, indices.shape[0], scale_grad_by_freq
        out = np.zeros((B, D), dtype=weight.dtype)
        rows = weight[idx]
        if mode == "max":
            if idx.size and D:
                first = np.flatnonzero(np.diff(bag, prepend=-1))  # where each non-empty bag begins
                ctx.full_bags = bag[first]
                best = np.maximum.reduceat(rows, first, axis=0)
                out[ctx.full_bags] = best
                # the first entry of each bag holding its column's maximum (NaN matches NaN)
                peak = best[np.searchsorted(ctx.full_bags, bag)]
                hit = (rows == peak) | (np.isnan(rows) & np.isnan(peak))
                where = np.where(hit, np.arange(idx.size)[:, None], idx.size)
                ctx.argmax_rows = idx[np.minimum.reduceat(where, first, axis=0)]
            else:
                ctx.full_bags, ctx.argmax_rows = np.zeros(0, np.int64), np.zeros((0, D), np.int64)
            return out
        if per_sample_weights is not None:
            ctx.weight, ctx.psw = weight, per_sample_weights[used]
            rows = rows * ctx.psw[:, None]
        add_rows_at(out, bag, rows)
        if mode == "mean":
            ctx.counts = np.bincount(bag, minlength=B)
            out /= np.maximum(ctx.counts, 1).astype(out.dtype)[:, None]
        return out

    @staticmethod
    def backward(ctx, grad):
        N, D = ctx.weight_shape
        dweight = np.zeros((N, D), dtype=grad.dtype)
        if ctx.mode == "max":
            if ctx.argmax_rows.size:
                flat = (ctx.argmax_rows * D + np.arange(D)).reshape(-1)
                np.add.at(dweight.reshape(-1), flat, grad[ctx.full_bags].reshape(-1))
            return dweight, None, None, None, None, None, None, None
        bag_grad = grad[ctx.bag]  # each entry's share: its bag's gradient
        dpsw = None
        if ctx.needs_input_grad[1]:
            dpsw = np.zeros(ctx.n_input, dtype=grad.dtype)
            dpsw[ctx.used] = np.einsum("nd,nd->n", bag_grad, ctx.weight[ctx.idx])
        if ctx.mode == "mean":
            bag_grad = bag_grad / ctx.counts[ctx.bag].astype(grad.dtype)[:, None]
        if ctx.psw is not None:
            bag_grad = bag_grad * ctx.psw[:, None]
        if ctx.scale_grad_by_freq:
            counts = np.bincount(ctx.idx, minlength=N)
            bag_grad = bag_grad / counts[ctx.idx].astype(grad.dtype)[:, None]
        add_rows_at(dweight, ctx.idx, bag_grad)
        return dweight, dpsw, None, None, None, None, None, None

    @staticmethod
    def gradcheck_cases(rng):
        # bags of 2, 0, 3 and 1 entries, a repeated row, a padding entry; no scale_grad_by_freq case (a
        # convention, not the derivative)
        w = rng.standard_normal((6, 3))
        idx, offsets = np.array([0, 2, 2, 5, 1, 3]), np.array([0, 2, 2, 5])
        psw = rng.standard_normal(6)
        return [((w, None, idx, offsets), {"mode": mode}) for mode in _BAG_MODES] + [
            ((w, psw, idx, offsets), {"mode": "sum"}),
            ((w, psw, idx, np.array([0, 2, 2, 5])), {"mode": "sum", "include_last_offset": True, "padding_idx": 2}),
            ((w, None, idx, offsets), {"mode": "mean", "padding_idx": 2})]


def _array(x):
    return x._data if isinstance(x, TensorBase) else np.asarray(x)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """As torch.nn.functional.embedding_bag: (B, D), each bag's rows of weight reduced by mode ("sum",
    "mean" or "max"). input (B, N) with offsets None: B bags of N; input (n,) with offsets: bag k is
    input[offsets[k]:offsets[k+1]], the last one running to the end of input (with include_last_offset,
    offsets holds B + 1 bounds, the last one, which torch asks to be n, unread). An empty bag gives
    zeros. per_sample_weights (input's shape, weight's dtype), mode "sum" only, scale each row.
    padding_idx (negative counts from the end) entries are left out of their bag and of "mean"'s count.
    max_norm renormalises the rows input names, in weight itself, first (embedding_renorm_). Indices
    int64 or int32; input and offsets of different dtypes are promoted together, as torch.

    Deliberate differences (README, "Porting from PyTorch"): sparse=True gives the same gradient,
    dense; a NaN in a "max" bag gives NaN (torch's CPU kernel gives NaN only when the bag's first
    entry is); scale_grad_by_freq divides each row's gradient by its own index's count (torch 2.13's
    CPU kernel divides by another index's count when indices repeat); input (B, 0) gives B empty
    bags, zeros (torch raises 'step must be nonzero'); with include_last_offset and offsets[-1] < n,
    the last bag runs to the end of input (torch: so in its general kernel, to offsets[-1] in its
    float32 fast path); create_graph=True through it raises."""
    if getattr(weight, "dtype", None) is not None and np.issubdtype(np.dtype(weight.dtype), np.integer) and \
            np.issubdtype(np.dtype(getattr(input, "dtype", np.int64)), np.floating):
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, "
                      "input, ...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.")
        input, weight = weight, input
    indices = _array(input)
    psw = per_sample_weights
    if psw is not None and np.shape(psw) != indices.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({tuple(np.shape(psw))}) is not None, then it "
                         f"must have the same shape as the input ({indices.shape})")
    if np.ndim(weight) != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {np.ndim(weight)}")
    if indices.ndim == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        offs = np.arange(indices.shape[0], dtype=indices.dtype) * indices.shape[1]
        include_last_offset = False
        indices = indices.reshape(-1)
        if psw is not None:
            psw = psw.reshape(-1)
    elif indices.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        offs = _array(offsets)
        if offs.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {indices.ndim}")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    elif mode not in ("sum", "mean"):
        raise ValueError("mode has to be one of sum, mean or max")
    check_bag_index_dtype(np.promote_types(indices.dtype, offs.dtype))
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, -{n} through {n - 1}, but got "
                               f"{padding_idx}")
        padding_idx %= n
    wdtype = np.dtype(weight.dtype)
    if wdtype.kind != "f":
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have one of the following scalar types: "
                           f"Half, BFloat16, Float, Double; but got {wdtype} instead (while checking arguments for "
                           f"embedding_bag)")
    if max_norm is not None:
        check_bag_range(indices, n)
        embedding_renorm_(weight, indices, max_norm, norm_type)
    if psw is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                      f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                      f"on GitHub.")
        if np.dtype(psw.dtype) != wdtype:
            raise RuntimeError(f"Expected tensor for argument #1 'weight' to have the same type as tensor for "
                               f"argument #1 'per_sample_weights'; but type {wdtype} does not equal "
                               f"{np.dtype(psw.dtype)} (while checking arguments for embedding_bag)")
    return EmbeddingBagFn.apply(weight, psw, indices, offs, mode=mode, include_last_offset=bool(include_last_offset),
                                padding_idx=padding_idx, scale_grad_by_freq=bool(scale_grad_by_freq))
