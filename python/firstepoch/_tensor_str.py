"""How a Tensor prints, as torch's (torch/_tensor_str.py): the dtype shown only when it is not a default
(float32, int64, bool; an empty tensor names any but float32); floats with 4 decimals, or as whole numbers with a trailing point when every
value is one, or in scientific notation when the values span more than 1000x, pass 1e8 or fall below
1e-4; every element padded to one width; more than 1000 elements summarised with "..." (3 at each edge).
Deliberate difference: the dtype prints as NumPy names it (float64, not torch.float64), and the line
breaks of a long tensor are NumPy's."""
import sys

import numpy as np

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80
SCI_MODE = None  # None: chosen from the values; True/False: forced (set_printoptions)
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
    if SCI_MODE is not None:  # set_printoptions(sci_mode=...) overrides the choice, as torch
        sci_mode = SCI_MODE
    if vals.size:
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
    # an empty tensor has no values to tell int64 or bool from: torch names every dtype but float32 there
    if data.dtype not in _DEFAULT_DTYPES or (data.size == 0 and data.dtype != _DEFAULT_DTYPES[0]):
        suffix.append(f"dtype={data.dtype}")
    if grad_fn_name is not None:
        suffix.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"


_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, sys.maxsize, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """torch.set_printoptions: decimals shown, the element count past which a tensor is summarised,
    the entries kept at each edge then, the line width, a profile ('default', 'short', 'full') setting
    all four, and sci_mode (True/False forces scientific notation on or off; None: chosen from the values)."""
    global PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH, SCI_MODE
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"Invalid profile: {profile}. the profile must be one of {list(_PROFILES)}")
        PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = _PROFILES[profile]
    if precision is not None:
        PRECISION = int(precision)
    if threshold is not None:
        THRESHOLD = sys.maxsize if threshold == float("inf") else int(threshold)
    if edgeitems is not None:
        EDGEITEMS = int(edgeitems)
    if linewidth is not None:
        LINEWIDTH = int(linewidth)
    SCI_MODE = sci_mode
