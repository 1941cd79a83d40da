"""`Function`: one differentiable op, its forward and backward side by side, on NumPy arrays.

Every subclass registers itself in REGISTRY, and tests/test_gradcheck_registry.py checks each
registered differentiable op against finite differences using the cases the op supplies, so no op can
escape the gradient check.
"""
import itertools

import numpy as np

from . import anomaly as _anomaly
from .grad_mode import _thread, enable_grad, is_grad_enabled, modes, no_grad, set_grad_enabled  # noqa: F401

REGISTRY = []
_ndarray = np.ndarray

# The class Function.apply wraps its results in: the first subclass of TensorBase (firstepoch.Tensor).
_result_class = None
_new_tensor = object.__new__


class TensorBase:
    """What autograd needs of a tensor: its array, its gradient, whether it requires one, and the
    Context of the op that made it (None for a leaf). firstepoch.Tensor (tensor.py) subclasses it and
    adds the methods; defining that subclass makes it the class of every op's result, so this module
    never imports tensor.py (tensor.py imports it)."""

    # _data: the NumPy array; _grad: a Tensor or None (tensor.py's .data and .grad properties wrap them);
    # _version: bumped by each in-place change of _data (a saved input changed in place is caught at backward)
    __slots__ = ("_data", "_grad", "requires_grad", "_ctx", "_version", "__weakref__")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        global _result_class
        if _result_class is None:
            _result_class = cls


class Context:
    """What forward leaves for backward: saved arrays and any attributes the op sets.

    apply() also stores ``needs_input_grad`` (one bool per positional argument) before forward runs,
    and, when the graph is recorded, ``fn`` (the Function class) and ``parents`` (the arguments as
    given, Tensors included) for the engine.
    """

    # the engine's fields in slots (faster on the per-op path); __dict__ takes whatever an op adds
    __slots__ = ("needs_input_grad", "fn", "parents", "saved_tensors", "changes", "__dict__")

    # changes: INPLACE_CHANGES when the op was recorded (the engine checks versions only if some
    # in-place change happened since). Set only when an in-place change is involved (class defaults otherwise, so the per-op path pays
    # nothing): the inputs' versions when recorded (None: all 0), the output's version when recorded,
    # and the in-place op that overwrote an array this op saved.
    versions = None
    out_version = 0
    overwritten_by = None
    shadow = None  # for an op recorded by an in-place change: the tensor holding the history before it

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Function:
    """Subclass with ``forward(ctx, *args)`` and ``backward(ctx, grad)``; call with ``.apply(...)``.

    forward receives NumPy arrays in place of Tensors (other arguments as given) and returns an array.
    backward receives the gradient of the output and returns one gradient (or None) per positional
    argument of forward, each with its input's shape and dtype. gradcheck_cases(rng) returns
    [(args, kwargs), ...] with float64 arrays standing for the tensor inputs; it is required for every
    differentiable op (tests/test_gradcheck_registry.py runs them all). An op whose backward is itself
    differentiable also defines backward_graph (see below) for create_graph=True.
    """

    differentiable = True
    # Optional: backward_graph(ctx, grad) -> like backward, but on Tensors, for create_graph=True
    # (double backward: Hessian-vector products, Newton's method). grad is a Tensor that may carry a
    # graph; the input gradients must be computed from it and from ctx.parents (the inputs as given,
    # Tensors included) with recorded Tensor ops, recomputing what forward saved from the parents,
    # never from saved arrays (a value rebuilt from an array is a constant: its derivative is lost).
    # Values whose derivative is zero almost everywhere (a ReLU mask, sign(x)) may be constants.
    # None: the op raises under create_graph=True. tests/test_higher_order.py checks each op that has
    # one with gradgradcheck (finite differences of the first gradient).
    backward_graph = None
    # What the profiler reports: the C++ kernel family the op calls ("numpy" for NumPy-only ops).
    kernel = "numpy"

    def __init_subclass__(cls, register=True, **kwargs):
        # register=False: a base that shares code between ops and is no op itself
        super().__init_subclass__(**kwargs)
        if register:
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
        changed = False  # any input changed in place before (its version is kept with the graph)
        for a in args:
            if isinstance(a, TensorBase):
                raw.append(a._data)
                if a._version:
                    changed = True
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
        if out.__class__ is not _ndarray:  # NumPy gives a scalar for a 0-d result: keep an array (a Tensor's data)
            out = np.asarray(out)
        result = _new_tensor(_result_class)
        result._data = out
        result._grad = None
        result._version = 0
        if record and m.grad_enabled and cls.differentiable:
            ctx.fn = cls
            ctx.parents = args  # non-Tensor arguments are skipped by the engine
            ctx.changes = _changes[0]
            if changed:
                ctx.versions = tuple(version(a) if isinstance(a, TensorBase) else 0 for a in args)
            result.requires_grad = True
            result._ctx = ctx
        else:
            result.requires_grad = False
            result._ctx = None
        return result


# ---- version counters (torch's rule for in-place changes) -------------------------------------------
# A tensor's _version is an int, or a one-element list shared with the views of its memory (a view
# made by reshape, indexing, permute, detach ...): an in-place change through any of them bumps the
# count they share. An op records its inputs' versions when any is nonzero (Function.apply); the
# engine compares them at backward (engine._check_versions). INPLACE_CHANGES counts every bump in the
# process; each recorded op keeps its value, and the engine checks only ops recorded before the last
# change (a training step's backward, between forward and optimizer.step, checks nothing).
INPLACE_CHANGES = _changes = [0]
_next_change = itertools.count(1).__next__  # atomic under the GIL: two threads never draw one number


def version(t):
    v = t._version
    return v if v.__class__ is int else v[0]


def bump_version(t):
    v = t._version
    if v.__class__ is int:
        t._version = v + 1
    else:
        v[0] += 1
    _changes[0] = _next_change()


def share_version(src, out, always=False):
    """out (a Tensor just made from src) shares src's version counter if it is a view of src's memory
    (NumPy collapses a view's base to the array that owns the memory, so one identity test tells), or
    always (detach: the same array)."""
    b = out._data.base
    if always or (b is not None and (b is src._data or b is src._data.base)):
        v = src._version
        if v.__class__ is int:
            v = src._version = [v]
        out._version = v
    return out


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


def unbroadcast_graph(grad, shape):
    """unbroadcast on a gradient Tensor (backward_graph): sum down to `shape`, recorded."""
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(tuple(range(extra)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axes, keepdim=True)
    return grad.reshape(shape)


def constant_like(value, grad):
    """value (an array or number) as a Tensor that requires no grad, of grad's class and dtype unless
    value is already an array of a floating dtype (for backward_graph: masks, weights, saved indices)."""
    if isinstance(value, TensorBase):
        return value
    arr = np.asarray(value)
    if arr.dtype.kind != "f":
        arr = arr.astype(grad._data.dtype)
    return type(grad)._wrap(arr, False)


def product_backward_flops(ctx, forward_flops):
    """backward_flops of a product (matmul, linear, conv): the gradient of each of its first two inputs
    costs one product of the forward's size (dA = dC B^T, dB = A^T dC), counted if that input needs it."""
    needs = ctx.needs_input_grad
    return forward_flops * (int(needs[0]) + int(needs[1]))


def as_array(x):
    return np.asarray(x)
