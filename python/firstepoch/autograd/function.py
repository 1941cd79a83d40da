"""`Function`: one differentiable op, its forward and backward side by side, on NumPy arrays.

Every subclass registers itself in REGISTRY, and tests/test_gradcheck_registry.py checks each
registered differentiable op against finite differences using the cases the op supplies, so no op can
escape the gradient check.
"""
import functools
import threading

import numpy as np

REGISTRY = []


class _Modes:
    """One thread's autograd modes. A new thread starts with PyTorch's defaults: grad on, anomaly
    detection off, no profile; a mode set in one thread never changes another's."""

    __slots__ = ("grad_enabled", "anomaly_enabled", "profiler")

    def __init__(self):
        self.grad_enabled = True
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
        self.mode = bool(enabled)

    @staticmethod
    def _swap(value):
        m = _thread.modes
        old, m.grad_enabled = m.grad_enabled, value
        return old


def no_grad():
    """``with firstepoch.no_grad():`` — ops inside record nothing (inference, optimizer updates).
    Per thread, as in PyTorch: other threads keep recording."""
    return _GradMode(False)


def enable_grad():
    """Turns recording back on inside a no_grad block (this thread only)."""
    return _GradMode(True)


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


class Context:
    """What forward leaves for backward: saved arrays and any attributes the op sets.

    apply() also stores ``needs_input_grad`` (one bool per positional argument) before forward runs,
    and, when the graph is recorded, ``fn`` (the Function class) and ``parents`` (the arguments as
    given, Tensors included) for the engine.
    """

    # the engine's fields in slots (faster on the per-op path); __dict__ takes whatever an op adds
    __slots__ = ("needs_input_grad", "fn", "parents", "saved_tensors", "__dict__")

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Function:
    """Subclass with ``forward(ctx, *args)`` and ``backward(ctx, grad)``; call with ``.apply(...)``.

    forward receives NumPy arrays in place of Tensors (other arguments as given) and returns an array.
    backward receives the gradient of the output and returns one gradient (or None) per positional
    argument of forward, each with its input's shape and dtype. gradcheck_cases(rng) returns
    [(args, kwargs), ...] with float64 arrays standing for the tensor inputs; it is required for every
    differentiable op (tests/test_gradcheck_registry.py runs them all).
    """

    differentiable = True
    # What the profiler reports: the C++ kernel family the op calls ("numpy" for NumPy-only ops).
    kernel = "numpy"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        REGISTRY.append(cls)

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @staticmethod
    def gradcheck_cases(rng):
        return []

    # Optional, for firstepoch.profile's GFLOP/s: an op that knows its arithmetic defines
    #   flops(ctx, inputs, output) -> forward FLOPs (inputs: the arrays forward received)
    #   backward_flops(ctx, forward_flops) -> FLOPs of backward (it may read ctx.needs_input_grad)
    flops = None
    backward_flops = None

    @classmethod
    def apply(cls, *args, **kwargs):
        # The hot path of every op: a few microseconds matter on small layers, so no helper calls.
        ctx = Context()
        raw = []
        needs = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                raw.append(a.data)
                if a.requires_grad:
                    record = True
                    needs.append(True)
                else:
                    needs.append(False)
            else:
                raw.append(a)
                needs.append(False)
        ctx.needs_input_grad = needs
        m = _thread.modes
        if m.profiler is None:
            out = cls.forward(ctx, *raw, **kwargs)
        else:
            out = m.profiler.forward(cls, ctx, raw, kwargs)
        if m.anomaly_enabled:
            _anomaly.check_forward(cls, ctx, raw, out)
        result = _new_tensor(Tensor)
        result.data = out
        result.grad = None
        if record and m.grad_enabled and cls.differentiable:
            ctx.fn = cls
            ctx.parents = args  # non-Tensor arguments are skipped by the engine
            result.requires_grad = True
            result._ctx = ctx
        else:
            result.requires_grad = False
            result._ctx = None
        return result


from . import anomaly as _anomaly  # noqa: E402  (it imports this module)

# firstepoch.Tensor, set by tensor.py once it is defined (tensor.py imports this module first).
Tensor = None
_new_tensor = object.__new__


def unbroadcast(grad, shape):
    """Sum grad down to `shape`: the backward of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def product_backward_flops(ctx, forward_flops):
    """backward_flops of a product (matmul, linear, conv): the gradient of each of its first two inputs
    costs one product of the forward's size (dA = dC B^T, dB = A^T dC), counted if that input needs it."""
    needs = ctx.needs_input_grad
    return forward_flops * (int(needs[0]) + int(needs[1]))


def as_array(x):
    return np.asarray(x)
