"""Collation: a list of samples -> one batch of arrays, keeping the samples' structure (the DataLoader's
and Subset.batch's slow path, for datasets without a `batch(indices)` method)."""
import numpy as np


class CollateError(ValueError, RuntimeError):
    """Samples that cannot be stacked (different numbers of fields, different shapes): a RuntimeError, the
    class torch's default_collate raises there, and a ValueError, as firstepoch raised before."""


def default_collate(samples):
    """A list of samples -> stacked arrays, keeping the samples' structure as torch's default_collate: a
    tuple/list of fields gives a tuple with one entry per field, a dict a dict, strings stay a list of
    strings (a tuple where they are a field of tuple samples, as torch), fields that are themselves
    lists or tuples are collated entry by entry (a list), a namedtuple stays its namedtuple type, anything else is stacked into one array. Python numbers follow torch's
    rule, read off the first sample: a float gives float64; an int or bool gives what torch.tensor infers
    (bool if all are bools, the default float dtype if any is a float, else int64). The DataLoader then
    makes the arrays Tensors. Samples of different shapes or numbers of fields raise CollateError (a
    RuntimeError, as torch, and a ValueError); a type that cannot be stacked (None, an arbitrary object)
    raises TypeError."""
    if not samples:
        raise ValueError("default_collate: no samples")
    first = samples[0]
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple keeps its type, as torch
        return type(first)(*_fields(samples, None))
    if isinstance(first, (tuple, list)) and not isinstance(first, (str, bytes)):
        return tuple(_fields(samples, None))
    return _collate(samples, 0)


def _fields(values, field):
    first = values[0]
    for s in values:
        if not isinstance(s, (tuple, list)) or len(s) != len(first):
            where = "samples have" if field is None else f"field {field!r} has entries with"
            other = len(s) if isinstance(s, (tuple, list)) else type(s).__name__
            raise CollateError(f"each element in list of batch should be of equal size (default_collate: "
                               f"{where} different numbers of fields ({len(first)} and {other}))")
    # a field of strings stays a tuple, as torch (its zip(*batch) transposes into tuples); elsewhere a list
    return [tuple(s[k] for s in values) if isinstance(first[k], (str, bytes))
            else _collate([s[k] for s in values], k if field is None else f"{field}[{k}]") for k in range(len(first))]


def _collate(values, field):
    first = values[0]
    if isinstance(first, (str, bytes)):
        return list(values)
    if isinstance(first, dict):
        return {key: _collate([v[key] for v in values], key) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*_fields(values, field))
    if isinstance(first, (tuple, list)):
        return _fields(values, field)
    return _stack(values, field)


def _python_numbers(values):
    """The array torch's default_collate makes of Python numbers, or None when the first value is not one:
    a float first gives float64 (torch.tensor(batch, dtype=float64)); an int or bool first gives
    torch.tensor(batch)'s inferred dtype: bool for all bools, the default float dtype if any is a float,
    else int64."""
    first = values[0]
    if not isinstance(first, (int, float)) or any(isinstance(v, np.generic) for v in values):
        return None  # a NumPy scalar among them carries its dtype: NumPy's promotion, as torch.tensor's
    if isinstance(first, float):
        dtype = np.float64
    elif all(isinstance(v, (bool, np.bool_)) for v in values):
        dtype = np.bool_
    elif any(isinstance(v, (float, np.floating)) for v in values):
        from ..tensor import get_default_dtype
        dtype = get_default_dtype()
    else:
        dtype = np.int64
    try:
        return np.asarray(values, dtype=dtype)
    except OverflowError:  # an int beyond int64: torch's class and words
        raise ValueError(f"Overflow when unpacking long long (default_collate: {values})") from None
    except (TypeError, ValueError):
        return None


def _stack(values, field):
    numbers = _python_numbers(values)
    if numbers is not None:
        return numbers
    arrays = [np.asarray(v) for v in values]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise CollateError(f"stack expects each tensor to be equal size (default_collate: field {field!r} has "
                           f"samples of different shapes {sorted(shapes)})")
    out = np.stack(arrays)
    if out.dtype.kind not in "biufc":
        raise TypeError(f"default_collate: batch must contain arrays, numbers, dicts, lists or strings; field "
                        f"{field!r} holds {type(values[0]).__name__}")
    return out
