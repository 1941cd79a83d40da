"""Collation: a list of samples -> one batch of arrays, keeping the samples' structure (the DataLoader's
and Subset.batch's slow path, for datasets without a `batch(indices)` method)."""
import numpy as np


def default_collate(samples):
    """A list of samples -> stacked arrays, keeping the samples' structure as torch's default_collate: a
    tuple/list of fields gives a tuple with one entry per field, a dict a dict, strings stay a list of
    strings, fields that are themselves lists or tuples are collated entry by entry (a list), anything
    else is stacked into one array (numbers: int64, float64 or bool). The DataLoader then makes the arrays
    Tensors. Samples of different shapes raise ValueError; a type that cannot be stacked (None, an
    arbitrary object) raises TypeError."""
    if not samples:
        raise ValueError("default_collate: no samples")
    first = samples[0]
    if isinstance(first, (tuple, list)) and not isinstance(first, (str, bytes)):
        return tuple(_fields(samples, None))
    return _collate(samples, 0)


def _fields(values, field):
    first = values[0]
    for s in values:
        if not isinstance(s, (tuple, list)) or len(s) != len(first):
            where = "samples have" if field is None else f"field {field!r} has entries with"
            raise ValueError(f"default_collate: {where} different numbers of fields "
                             f"({len(first)} and {len(s) if isinstance(s, (tuple, list)) else type(s).__name__})")
    return [_collate([s[k] for s in values], k if field is None else f"{field}[{k}]") for k in range(len(first))]


def _collate(values, field):
    first = values[0]
    if isinstance(first, (str, bytes)):
        return list(values)
    if isinstance(first, dict):
        return {key: _collate([v[key] for v in values], key) for key in first}
    if isinstance(first, (tuple, list)):
        return _fields(values, field)
    return _stack(values, field)


def _stack(values, field):
    arrays = [np.asarray(v) for v in values]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: field {field!r} has samples of different shapes {sorted(shapes)}")
    out = np.stack(arrays)
    if out.dtype.kind not in "biufc":
        raise TypeError(f"default_collate: batch must contain arrays, numbers, dicts, lists or strings; field "
                        f"{field!r} holds {type(values[0]).__name__}")
    return out
