"""Embedding lookup: out[...] = weight[indices[...]]. Backward scatters each output row's gradient back
to the row it was read from; repeated indices add up (np.add.at, on the flat weight: add_rows_at), the
padding row gets none, and with scale_grad_by_freq each row's gradient is divided by how often its index
occurs in the batch. max_norm renormalises the rows looked up, in the weight itself, before the lookup (as
torch: not recorded).

No `_C` entry: a gather and a scatter-add in NumPy. Reference: `firstepoch.reference.embedding`
(`embedding_forward`, `embedding_backward`).
"""
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
