"""`Function`: one differentiable op, its forward and backward side by side, on NumPy arrays.

Every subclass registers itself in REGISTRY, and tests/test_gradcheck_registry.py checks each
registered differentiable op against finite differences using the cases the op supplies, so no op can
escape the gradient check.
"""
import numpy as np

REGISTRY = []

_grad_enabled = True
_anomaly_enabled = False  # set by autograd.anomaly (detect_anomaly); one global check per op when off
_profiler = None  # the active firstepoch.profile(), which times each forward and backward; None when off


def is_grad_enabled():
    return _grad_enabled


class _GradMode:
    """Context manager (and decorator) that sets whether ops record the graph."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.prev = None

    def __enter__(self):
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev
        return False

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)
        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper


def no_grad():
    """``with firstepoch.no_grad():`` — ops inside record nothing (inference, optimizer updates)."""
    return _GradMode(False)


def enable_grad():
    return _GradMode(True)


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
        if _profiler is None:
            out = cls.forward(ctx, *raw, **kwargs)
        else:
            out = _profiler.forward(cls, ctx, raw, kwargs)
        if _anomaly_enabled:
            _anomaly.check_forward(cls, ctx, raw, out)
        result = _new_tensor(Tensor)
        result.data = out
        result.grad = None
        if record and _grad_enabled and cls.differentiable:
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
