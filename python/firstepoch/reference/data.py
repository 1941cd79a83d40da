"""The data pipeline's row gather (_C.take_rows), as a learner would write it: one row at a time."""
import numpy as np


def take_rows(src, indices):
    """Rows `indices` of src along axis 0 (negative indices count from the end), a new array: src[indices]."""
    src = np.asarray(src)
    n = src.shape[0]
    out = np.empty((len(indices),) + src.shape[1:], dtype=src.dtype)
    for i, k in enumerate(indices):
        if not -n <= k < n:
            raise IndexError(f"index {k} is out of bounds for axis 0 with size {n}")
        out[i] = src[k]
    return out
