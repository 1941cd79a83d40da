"""Embedding lookup in plain NumPy: the oracle for firstepoch.ops.embedding."""
import numpy as np


def embedding_forward(weight, indices):
    """weight[indices]: (*indices.shape, D)."""
    return weight[indices]


def embedding_backward(dy, indices, num_embeddings, padding_idx=None):
    """dweight: each row the sum of the gradients of the outputs that read it; the padding row gets none."""
    dweight = np.zeros((num_embeddings, dy.shape[-1]), dtype=dy.dtype)
    for i, row in zip(np.ravel(indices), dy.reshape(-1, dy.shape[-1])):
        dweight[i] += row
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight
