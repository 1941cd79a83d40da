"""How a Tensor prints, as torch's (torch/_tensor_str.py): the dtype shown only when it is not a default
(float32, int64, bool); floats with 4 decimals, or as whole numbers with a trailing point when every
value is one, or in scientific notation when the values span more than 1000x, pass 1e8 or fall below
1e-4; every element padded to one width; more than 1000 elements summarised with "..." (3 at each edge).
Deliberate difference: the dtype prints as NumPy names it (float64, not torch.float64), and the line
breaks of a long tensor are NumPy's."""
import numpy as np

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80
_DEFAULT_DTYPES = (np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_))


def _summarized(a):
    """What is printed of a: all of it, or its first and last EDGEITEMS along each long axis."""
    if a.size <= THRESHOLD:
        return a
    for axis in range(a.ndim):
        if a.shape[axis] > 2 * EDGEITEMS:
            a = np.concatenate([np.take(a, range(EDGEITEMS), axis),
                                np.take(a, range(a.shape[axis] - EDGEITEMS, a.shape[axis]), axis)], axis)
    return a


def _float_formatter(shown):
    """torch's _Formatter for a floating tensor: one function value -> padded string."""
    flat = shown.reshape(-1).astype(np.float64)
    vals = np.abs(flat[np.isfinite(flat) & (flat != 0)])
    int_mode, sci_mode, width = True, False, 1
    if vals.size:
        lo, hi = vals.min(), vals.max()
        int_mode = bool(np.all(vals == np.ceil(vals)))
        if int_mode:
            sci_mode = hi / lo > 1000.0 or hi > 1.0e8
        else:
            sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        signed = flat[np.isfinite(flat) & (flat != 0)]
        if sci_mode:
            width = max(len(f"{v:.{PRECISION}e}") for v in signed)
        elif int_mode:
            width = max(len(f"{v:.0f}") + 1 for v in signed)
        else:
            width = max(len(f"{v:.{PRECISION}f}") for v in signed)

    def fmt(v):
        v = float(v)
        if sci_mode:
            s = f"{v:.{PRECISION}e}"
        elif int_mode:
            s = f"{v:.0f}" + ("" if np.isinf(v) or np.isnan(v) else ".")
        else:
            s = f"{v:.{PRECISION}f}"
        return s.rjust(width)
    return fmt


def tensor_repr(data, grad_fn_name=None, requires_grad=False):
    """The repr of a Tensor holding `data`."""
    kind = data.dtype.kind
    if data.size == 0:
        body = "[]"
    else:
        shown = _summarized(data)
        if kind == "f":
            fmt = _float_formatter(shown)
        elif kind == "b":
            width = max(len(str(bool(v))) for v in shown.reshape(-1))
            fmt = lambda v: str(bool(v)).rjust(width)  # noqa: E731
        else:
            width = max(len(str(v)) for v in shown.reshape(-1))
            fmt = lambda v: str(v).rjust(width)  # noqa: E731
        body = np.array2string(data, separator=", ", prefix="tensor(", formatter={"all": fmt},
                               threshold=THRESHOLD, edgeitems=EDGEITEMS, max_line_width=LINEWIDTH)
        body = body.replace(", ...,", ",  ...,")  # torch's ellipsis inside a row is " ..."
    suffix = []
    if data.size == 0 and data.shape != (0,):
        suffix.append(f"size={tuple(data.shape)}")
    if data.dtype not in _DEFAULT_DTYPES:
        suffix.append(f"dtype={data.dtype}")
    if grad_fn_name is not None:
        suffix.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"
