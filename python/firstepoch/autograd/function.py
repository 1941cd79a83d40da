"""`Function`: one differentiable op, its forward and backward side by side, on NumPy arrays.

Every subclass registers itself in REGISTRY, and tests/test_gradcheck_registry.py checks each
registered differentiable op against finite differences using the cases the op supplies, so no op can
escape the gradient check.
"""
import numpy as np

REGISTRY = []

_grad_enabled = True


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
    """What forward leaves for backward: saved arrays and any attributes the op sets."""

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Function:
    """Subclass with ``forward(ctx, *args)`` and ``backward(ctx, grad)``; call with ``.apply(...)``.

    forward receives NumPy arrays in place of Tensors (other arguments as given) and returns an array.
    backward receives the gradient of the output and returns one gradient (or None) per positional
    argument of forward. gradcheck_cases(rng) returns [(args, kwargs), ...] with float64 arrays
    standing for the tensor inputs; it is required for every differentiable op.
    """

    differentiable = True

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

    @classmethod
    def apply(cls, *args, **kwargs):
        tensor_type = _TENSOR if _TENSOR is not None else _tensor_type()
        ctx = Context()
        raw = []
        needs = []
        any_grad = False
        for a in args:
            if isinstance(a, tensor_type):
                raw.append(a.data)
                rg = a.requires_grad
                any_grad = any_grad or rg
                needs.append(rg)
            else:
                raw.append(a)
                needs.append(False)
        ctx.needs_input_grad = needs
        out = cls.forward(ctx, *raw, **kwargs)
        if any_grad and _grad_enabled and cls.differentiable:
            result = tensor_type._wrap(out, True)
            result._fn = cls
            result._ctx = ctx
            result._parents = args  # non-Tensor arguments are skipped by the engine
            return result
        return tensor_type._wrap(out, False)


_TENSOR = None


def _tensor_type():
    """firstepoch.Tensor, looked up once (tensor.py imports this module, so not at import time)."""
    global _TENSOR
    if _TENSOR is None:
        from ..tensor import Tensor
        _TENSOR = Tensor
    return _TENSOR


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


def as_array(x):
    return np.asarray(x)
