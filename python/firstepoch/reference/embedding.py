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


def _bags(n, offsets, include_last_offset):
    """[(start, end)] of each bag, the last running to n (include_last_offset: offsets[-1] only closes the list)."""
    starts = [int(o) for o in offsets][:-1 if include_last_offset else None]
    return list(zip(starts, starts[1:] + [n]))


def embedding_bag_forward(weight, indices, offsets, mode="mean", per_sample_weights=None, include_last_offset=False,
                          padding_idx=None):
    """(B, D): bag k = indices[start:end] without padding_idx entries, its rows (times per_sample_weights)
    summed, averaged or maxed per column; an empty bag gives zeros."""
    bags = _bags(len(indices), offsets, include_last_offset)
    out = np.zeros((len(bags), weight.shape[1]), dtype=weight.dtype)
    for k, (s, e) in enumerate(bags):
        rows = [weight[indices[j]] * (1 if per_sample_weights is None else per_sample_weights[j])
                for j in range(s, e) if indices[j] != padding_idx]
        if rows:
            out[k] = {"sum": np.sum, "mean": np.mean, "max": np.max}[mode](np.array(rows), axis=0)
    return out


def embedding_bag_backward(dy, weight, indices, offsets, mode="mean", per_sample_weights=None,
                           include_last_offset=False, padding_idx=None, scale_grad_by_freq=False):
    """(dweight, dper_sample_weights or None): each entry's row gets its bag's gradient (divided by the
    bag's count for mean, times its weight; divided by its index's count with scale_grad_by_freq); max
    gives each column's gradient to the first entry holding the maximum."""
    bags = _bags(len(indices), offsets, include_last_offset)
    dweight = np.zeros_like(weight)
    dpsw = None if per_sample_weights is None else np.zeros_like(per_sample_weights)
    used = [(k, j) for k, (s, e) in enumerate(bags) for j in range(s, e) if indices[j] != padding_idx]
    counts = {}
    for _, j in used:
        counts[indices[j]] = counts.get(indices[j], 0) + 1
    for k, (s, e) in enumerate(bags):
        members = [j for kk, j in used if kk == k]
        if mode == "max":
            for d in range(weight.shape[1]):
                if members:
                    best = max(members, key=lambda j: (weight[indices[j], d], -j))
                    dweight[indices[best], d] += dy[k, d]
            continue
        for j in members:
            g = dy[k] / len(members) if mode == "mean" else dy[k].copy()
            if per_sample_weights is not None:
                dpsw[j] = np.dot(dy[k], weight[indices[j]])
                g = g * per_sample_weights[j]
            dweight[indices[j]] += g / counts[indices[j]] if scale_grad_by_freq else g
    return dweight, dpsw
