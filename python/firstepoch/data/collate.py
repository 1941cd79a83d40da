"""Collation: a list of samples -> one batch of arrays, keeping the samples' structure (the DataLoader's
and Subset.batch's slow path, for datasets without a `batch(indices)` method)."""
import numpy as np


def default_collate(samples):
    """A list of samples -> stacked arrays, keeping the samples' structure: a tuple/list of fields gives a
    tuple of arrays, a dict gives a dict of arrays, anything else one array."""
    if not samples:
        raise ValueError("default_collate: no samples")
    first = samples[0]
    if isinstance(first, (tuple, list)):
        for s in samples:
            if not isinstance(s, (tuple, list)) or len(s) != len(first):
                raise ValueError(f"default_collate: samples have different numbers of fields "
                                 f"({len(first)} and {len(s) if isinstance(s, (tuple, list)) else type(s).__name__})")
        return tuple(_stack([s[k] for s in samples], k) for k in range(len(first)))
    if isinstance(first, dict):
        return {key: _stack([s[key] for s in samples], key) for key in first}
    return _stack(samples, 0)


def _stack(values, field):
    arrays = [np.asarray(v) for v in values]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: field {field!r} has samples of different shapes {sorted(shapes)}")
    return np.stack(arrays)
