"""Embedding lookup: out[...] = weight[indices[...]]. Backward scatters each output row's gradient back
to the row it was read from; repeated indices add up (np.add.at), the padding row gets none.

No `_C` entry: a gather and a scatter-add in NumPy. Reference: `firstepoch.reference.embedding`
(`embedding_forward`, `embedding_backward`).
"""
import numpy as np

from ..autograd.function import Function, constant_like
from .shape import GetItemGradFn


def check_indices(indices, num_embeddings):
    """indices as an int64 array; TypeError for a non-integer dtype, IndexError naming an out-of-range value."""
    indices = np.asarray(indices)
    if indices.dtype == bool or not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"embedding: indices must be an integer tensor, got dtype {indices.dtype}")
    if indices.size:
        lo, hi = int(indices.min()), int(indices.max())
        bad = lo if lo < 0 else hi
        if lo < 0 or hi >= num_embeddings:
            raise IndexError(f"embedding: index {bad} is out of range [0, {num_embeddings}) "
                             f"(indices of shape {indices.shape})")
    return indices.astype(np.int64, copy=False)


class EmbeddingFn(Function):
    """embedding(weight (N, D), indices (any shape, int), padding_idx) -> (*indices.shape, D).

    Backward: dweight[i] = sum of grad rows whose index is i; dweight[padding_idx] = 0.
    """

    @staticmethod
    def forward(ctx, weight, indices, padding_idx=None):
        if weight.ndim != 2:
            raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
        indices = check_indices(indices, weight.shape[0])
        ctx.indices, ctx.padding_idx, ctx.weight_shape = indices, padding_idx, weight.shape
        return weight[indices]

    @staticmethod
    def backward(ctx, grad):
        dweight = np.zeros(ctx.weight_shape, dtype=grad.dtype)
        np.add.at(dweight, ctx.indices.reshape(-1), grad.reshape(-1, ctx.weight_shape[1]))
        if ctx.padding_idx is not None:
            dweight[ctx.padding_idx] = 0
        return dweight, None, None

    @staticmethod
    def backward_graph(ctx, grad):
        # the scatter-add of backward is the gradient op of weight[indices]: GetItemGradFn
        dweight = GetItemGradFn.apply(grad, ctx.weight_shape, (ctx.indices,))
        if ctx.padding_idx is not None:
            rows = np.ones((ctx.weight_shape[0], 1), dtype=grad.dtype)
            rows[ctx.padding_idx] = 0
            dweight = dweight * constant_like(rows, grad)
        return dweight, None, None

    @staticmethod
    def gradcheck_cases(rng):
        # no padding_idx case: its zero gradient is a convention (PyTorch's), not the derivative
        w = rng.standard_normal((6, 3))
        return [((w, np.array([0, 2, 2, 5])), {}),                       # a repeated row: gradients add up
                ((w, np.array([[1, 4, 1], [0, 0, 3]])), {}),
                ((w, np.array(3)), {})]


def embedding(input, weight, padding_idx=None):
    """weight[input]: input an integer Tensor or array of any shape; output shape (*input.shape, D).
    (torch.nn.functional.embedding's first two arguments, in its order.)"""
    return EmbeddingFn.apply(weight, np.asarray(input), padding_idx)
