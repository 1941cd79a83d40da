"""Grad modes: per-thread switches read by every op (grad recording, anomaly detection, the profiler),
and the context managers that set them (no_grad, enable_grad, set_grad_enabled; anomaly.detect_anomaly).

The bottom of autograd: it imports nothing from firstepoch, so function.py and anomaly.py both build on it.
"""
import functools
import threading


class _Modes:
    """One thread's autograd modes. A new thread starts with PyTorch's defaults: grad on, anomaly
    detection off, no profile; a mode set in one thread never changes another's."""

    __slots__ = ("grad_enabled", "anomaly_enabled", "profiler", "inference")

    def __init__(self):
        self.grad_enabled = True
        self.inference = False  # inside inference_mode() (which also turns grad_enabled off)
        self.anomaly_enabled = False  # set by autograd.anomaly (detect_anomaly)
        self.profiler = None  # the firstepoch.profile() active in this thread, which times each op


class _ThreadModes(threading.local):
    def __init__(self):  # runs once in each thread, at its first use
        self.modes = _Modes()


# Function.apply reads `_thread.modes` once per op (one thread-local read), then plain slots.
_thread = _ThreadModes()


def modes():
    """The calling thread's modes (grad_enabled, anomaly_enabled, profiler)."""
    return _thread.modes


def is_grad_enabled():
    """Whether ops record the graph in the calling thread."""
    return _thread.modes.grad_enabled


class _ModeGuard:
    """Base of the mode context managers, which also work as decorators (a fresh block per call).

    Each thread's previous value is kept on a stack of its own, so blocks of different threads may
    interleave, and one object may be nested or shared by threads: every exit restores what that
    thread had when it entered. Subclasses define mode (the value) and _swap(value) -> old value."""

    def __init__(self):
        self._saved = {}  # thread id -> stack of previous values

    def __enter__(self):
        self._saved.setdefault(threading.get_ident(), []).append(self._swap(self.mode))
        return self

    def __exit__(self, *exc):
        key = threading.get_ident()
        stack = self._saved[key]
        self._swap(stack.pop())
        if not stack:
            del self._saved[key]
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


class _GradMode(_ModeGuard):
    """Context manager (and decorator) that sets whether ops record the graph in this thread."""

    def __init__(self, enabled):
        super().__init__()
        if not isinstance(enabled, bool):  # torch takes a bool only (not 0/1, not a string)
            raise TypeError(f"set_grad_enabled(): argument 'enabled' (position 1) must be bool, not "
                            f"{type(enabled).__name__}")
        self.mode = enabled

    @staticmethod
    def _swap(value):
        m = _thread.modes
        # inside inference_mode() nothing records, enable_grad() or not (torch's inference mode
        # outranks the grad mode); the previous value is restored exactly on exit
        old, m.grad_enabled = m.grad_enabled, value and not m.inference
        return old


def no_grad(orig_func=None):
    """``with firstepoch.no_grad():`` — ops inside record nothing (inference, optimizer updates).
    Per thread, as in PyTorch: other threads keep recording. Also a decorator, with or without the
    parentheses (``@no_grad`` / ``@no_grad()``), as torch's."""
    guard = _GradMode(False)
    return guard if orig_func is None else guard(orig_func)


def enable_grad(orig_func=None):
    """Turns recording back on inside a no_grad block (this thread only); a decorator too."""
    guard = _GradMode(True)
    return guard if orig_func is None else guard(orig_func)


class _InferenceMode(_ModeGuard):
    def __init__(self, mode):
        super().__init__()
        self.mode = bool(mode)

    def _swap(self, value):
        m = _thread.modes
        old = (m.grad_enabled, m.inference)
        if isinstance(value, tuple):  # restoring what __enter__ found
            m.grad_enabled, m.inference = value
        elif value:
            m.grad_enabled, m.inference = False, True
        else:  # as torch's InferenceMode(false): inference off and grad recording on, even under no_grad
            m.grad_enabled, m.inference = True, False
        return old


def inference_mode(mode=True):
    """As torch.inference_mode: ``with inference_mode():`` (or as a decorator, with or without the
    parentheses) ops record nothing, as under no_grad (enable_grad() inside changes nothing); as torch's,
    inference_mode(False) leaves inference mode and turns recording on (also inside no_grad). Deliberate
    difference: tensors made inside are ordinary tensors (torch's "inference tensors" refuse to join a
    graph later; these may)."""
    if callable(mode):  # @inference_mode without parentheses
        return _InferenceMode(True)(mode)
    return _InferenceMode(mode)


def is_inference_mode_enabled():
    """Whether the calling thread is inside inference_mode()."""
    return _thread.modes.inference


class set_grad_enabled(_GradMode):
    """As torch.set_grad_enabled: a plain call sets this thread's grad mode at once; as a context
    manager the mode is restored when the block ends; as a decorator each call runs in the mode (the
    mode is not changed when decorating)."""

    def __init__(self, mode):
        super().__init__(mode)
        self._prev = self._swap(self.mode)  # takes effect now, as torch's does
        self._thread_id = threading.get_ident()

    def __enter__(self):
        if self._prev is not None and self._thread_id == threading.get_ident():
            # `with set_grad_enabled(m):` right after the call: the block restores what the call found
            self._saved.setdefault(self._thread_id, []).append(self._prev)
            self._prev = None
            return self
        return super().__enter__()

    def __call__(self, fn):
        if self._prev is not None:
            self._swap(self._prev)  # decorating only: undo the call's change
            self._prev = None
        return super().__call__(fn)
