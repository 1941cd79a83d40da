"""Anomaly detection: find the op that first made a NaN or an Inf, forward or backward.

    with firstepoch.autograd.detect_anomaly():
        loss = model(x).sum()
        loss.backward()

While it is on, every Function.apply records where (file:line of the user's code) the op was
created, checks the op's forward output, and the engine checks each gradient an op's backward
returns; the first non-finite value raises RuntimeError naming the op (its Function class), the
phase (forward or backward) and that place. The mode belongs to the thread that sets it (a new thread
starts with it off). Off (the default) it costs one check per op.
"""
import os
import sys
import traceback

import numpy as np

from .grad_mode import _ModeGuard, modes

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def is_anomaly_enabled():
    """Whether anomaly detection is on in the calling thread."""
    return modes().anomaly_enabled


def set_detect_anomaly(mode):
    """Turns anomaly detection on or off in the calling thread; returns the previous setting."""
    m = modes()
    prev, m.anomaly_enabled = m.anomaly_enabled, bool(mode)
    return prev


class detect_anomaly(_ModeGuard):
    """Context manager (and decorator) that turns anomaly detection on inside its block, in the thread
    that runs the block (as grad mode is; PyTorch's anomaly mode is process-wide instead). A backward
    is checked by the mode of the thread that calls backward()."""

    def __init__(self, mode=True):
        super().__init__()
        self.mode = bool(mode)

    @staticmethod
    def _swap(value):
        return set_detect_anomaly(value)


def _is_internal(filename):
    return os.path.abspath(filename).startswith(_PACKAGE_DIR)


def creation_site():
    """The user's stack at this point, innermost frame last, without firstepoch's own frames on top."""
    stack = traceback.extract_stack(sys._getframe(2))
    while stack and _is_internal(stack[-1].filename):
        stack.pop()
    return stack


def _where(stack):
    if stack is None:
        return "an unknown place (it ran before anomaly detection was turned on)"
    if not stack:
        return "an unknown place (no frame outside firstepoch)"
    f = stack[-1]
    return f"{f.filename}:{f.lineno} (in {f.name})"


def _describe(a):
    a = np.asarray(a)
    nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    parts = [f"{nan} NaN" if nan else "", f"{inf} Inf" if inf else ""]
    return " and ".join(p for p in parts if p) + f" in an array of shape {a.shape} ({a.dtype})"


def _non_finite(a):
    return isinstance(a, (np.ndarray, np.generic)) and a.dtype.kind in "fc" and not np.isfinite(a).all()


def _raise(fn, phase, what, stack):
    trace = "".join(traceback.format_list((stack or [])[-8:]))
    raise RuntimeError(f"anomaly detected: {fn.__name__} {phase} {what}; the op was created at {_where(stack)}.\n"
                       f"Its creation stack (most recent call last):\n{trace}")


def check_forward(fn, ctx, raw_args, out):
    """Called by Function.apply after forward while detection is on: records the creation site on ctx
    and raises if the output holds a NaN or an Inf."""
    stack = creation_site()
    ctx.anomaly_stack = stack
    if _non_finite(out):
        bad_in = [i for i, a in enumerate(raw_args) if _non_finite(a)]
        what = (f"returned {_describe(out)} in its forward output"
                + (f" (input {bad_in[0]} was already non-finite)" if bad_in else " from finite inputs"))
        _raise(fn, "forward", what, stack)


def check_backward(fn, ctx, in_grads):
    """Called by the engine after fn.backward while detection is on."""
    for i, g in enumerate(in_grads):
        if g is not None and _non_finite(g):
            _raise(fn, "backward", f"returned {_describe(g)} as the gradient of input {i}",
                   getattr(ctx, "anomaly_stack", None))
