"""Embedding lookup in plain NumPy: the oracle for firstepoch.ops.embedding."""
import numpy as np


def embedding_forward(weight, indices):
    """weight[indices]: (*indices.shape, D)."""
    return weight[indices]


def embedding_backward(dy, indices, num_embeddings, padding_idx=None, scale_grad_by_freq=False):
    """dweight: each row the sum of the gradients of the outputs that read it (each divided by how many
    times its index occurs, with scale_grad_by_freq); the padding row gets none."""
    flat = np.ravel(indices)
    counts = np.zeros(num_embeddings, dtype=np.int64)
    for i in flat:
        counts[i] += 1
    dweight = np.zeros((num_embeddings, dy.shape[-1]), dtype=dy.dtype)
    for i, row in zip(flat, dy.reshape(-1, dy.shape[-1])):
        dweight[i] += row / counts[i] if scale_grad_by_freq else row
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight


def embedding_renorm_(weight, indices, max_norm, norm_type=2.0):
    """In place: every row that indices name, if its norm_type-norm is above max_norm, is scaled by
    max_norm / (norm + 1e-7)."""
    for i in sorted(set(np.ravel(indices).tolist())):
        norm = np.linalg.norm(weight[i], ord=norm_type)
        if norm > max_norm:
            weight[i] *= max_norm / (norm + 1e-7)
    return weight
