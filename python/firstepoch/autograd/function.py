"""`Function`: one differentiable op, its forward and backward side by side, on NumPy arrays.

Every subclass registers itself in REGISTRY, and tests/test_gradcheck_registry.py checks each
registered differentiable op against finite differences using the cases the op supplies, so no op can
escape the gradient check.
"""
import itertools
import threading

import numpy as np

from . import anomaly as _anomaly
from .grad_mode import _thread, enable_grad, is_grad_enabled, modes, no_grad, set_grad_enabled  # noqa: F401

REGISTRY = []
_ndarray = np.ndarray

# firstepoch.capture: the tape a thread is recording a training step on, or None. Function.apply refuses
# an op whose class is not `capturable` while it is set (one list read on the hot path).
CAPTURE = [None]


class CaptureError(RuntimeError):
    """An op, hook or optimizer met while capturing a step (firstepoch.capture) that cannot be replayed."""


def capture_tape():
    """The tape this thread is recording a step on (firstepoch.capture), or None."""
    tape = CAPTURE[0]
    return tape if tape is not None and tape.thread == threading.get_ident() else None


def capture_record(fn, *args, **kwargs):
    """fn(*args, **kwargs), also kept on the tape while this thread captures a step (firstepoch.capture).
    fn must write its results only into arrays among its arguments: a replay calls it again with them."""
    tape = capture_tape() if CAPTURE[0] is not None else None
    if tape is not None and not tape.paused:
        tape.calls.append((fn, args, kwargs))
    return fn(*args, **kwargs)


def capture_refuse(why):
    """Raise CaptureError(why) if this thread is capturing a step (the caller's work would not replay)."""
    if CAPTURE[0] is not None and capture_tape() is not None:
        raise CaptureError(why)


def _refuse_uncapturable(cls):
    if capture_tape() is not None:
        raise CaptureError(f"{cls.__name__} cannot be captured (it is not one of the ops that record their "
                           "work on the tape)")

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


# The slot's own descriptor: ops set a fresh result's flag through it, past tensor.py's checked
# `requires_grad` property (their results' dtypes are already known to be right).
_set_requires_grad = TensorBase.__dict__["requires_grad"].__set__


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

    Two contracts, by ``tensor_io``. A Function written outside firstepoch (a user's, a ported PyTorch
    script's) gets PyTorch's: ``tensor_io = True``, forward and backward see Tensors, as in
    torch.autograd.Function (see _apply_tensor_io below). firstepoch's own ops, and any subclass that
    sets ``tensor_io = False``, work on arrays, as follows.

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
    # Optional, for an op whose one input gradient is mostly zeros (x[index]: the gradient scattered into
    # a zero array of x's shape): backward_into(ctx, grad, into) adds that input's gradient into the
    # array `into` in place (x's shape and dtype, a sum the engine made and no one else sees) and
    # returns it, or with into=None returns a new array as backward's first gradient (then the op has
    # one differentiable input, its first). The engine's plain backward then sums the pieces of
    # x.split(...) into one array, where each backward would make a zero array of x's shape and the
    # engine would add them whole. None: the engine calls backward.
    backward_into = None

    # True: PyTorch's contract (Tensors in forward and backward). A direct subclass defined outside the
    # firstepoch package gets True unless it sets the attribute; subclasses of an op inherit the op's.
    tensor_io = False

    def __init_subclass__(cls, register=True, **kwargs):
        # register=False: a base that shares code between ops and is no op itself
        super().__init_subclass__(**kwargs)
        if "tensor_io" not in cls.__dict__ and Function in cls.__bases__:
            cls.tensor_io = not (cls.__module__ == "firstepoch" or cls.__module__.startswith("firstepoch."))
        if cls.tensor_io:
            cls._nodes = {}  # the engine's node classes, per (output, number of outputs)
        elif register:
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

    # True: forward and backward do all their work in _C calls (which firstepoch.capture records) and in
    # glue passed through capture.record, or raise CaptureError; only such ops run inside a captured step.
    capturable = False

    @classmethod
    def apply(cls, *args, **kwargs):
        # The hot path of every op: a few microseconds matter on small layers, so no helper calls.
        if CAPTURE[0] is not None and not cls.capturable:
            _refuse_uncapturable(cls)
        if cls.tensor_io:
            return _apply_tensor_io(cls, args, kwargs)
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
            _set_requires_grad(result, True)
            result._ctx = ctx
        else:
            _set_requires_grad(result, False)
            result._ctx = None
        return result


# ---- PyTorch's contract: a torch.autograd.Function written on Tensors ------------------------------
# forward(ctx, *args) runs with grad recording off and sees the Tensors as given; it returns a Tensor (or
# an array or number, made one) or a tuple of them. backward(ctx, *grads) gets one gradient Tensor per
# output and returns one gradient (a Tensor, an array or None) per positional input. ctx is a
# FunctionCtx: save_for_backward / saved_tensors, needs_input_grad, mark_non_differentiable,
# set_materialize_grads and any attribute forward sets. Each differentiable output becomes a node of the
# graph whose backward calls the user's with that output's gradient and zeros for the others (a
# backward is linear in the output gradients, so the nodes' sums are the one call's); with one output
# that is the one call. Under create_graph=True the user's backward runs recorded (double backward
# through it works when it is written with Tensor ops). Not supported: ctx.mark_dirty (in-place custom
# Functions raise NotImplementedError), and the engine's node is a class (grad_fn), not an object with
# next_functions.

class FunctionCtx:
    """The ctx of a Function written on Tensors (torch.autograd.function.FunctionCtx)."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._saved = ()
        self._non_differentiable = set()

    def save_for_backward(self, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, TensorBase):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is not a Tensor "
                                f"or None ({type(t).__name__})")
        self._saved = tensors

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError("Trying to backward through the graph a second time (or directly access saved "
                               "tensors after they have already been freed); pass retain_graph=True to the "
                               "first backward if you need to call it twice.")
        return self._saved

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        raise NotImplementedError("mark_dirty: a custom Function that changes its inputs in place is not supported; "
                                  "return a new Tensor instead")


def _tensor_of(value, who):
    """value (a Tensor, array or number) as a Tensor that records nothing."""
    if isinstance(value, TensorBase):
        return value
    if isinstance(value, (_ndarray, np.generic, int, float, bool)):
        return _result_class(np.asarray(value))
    raise TypeError(f"{who} returned a {type(value).__name__}; expected a Tensor")


def _apply_tensor_io(cls, args, kwargs):
    needs = tuple(isinstance(a, TensorBase) and a.requires_grad for a in args)
    ctx = FunctionCtx(needs)
    with no_grad():
        out = cls.forward(ctx, *args, **kwargs)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    record = any(needs) and _thread.modes.grad_enabled
    metas = [(o._data.shape, o._data.dtype) if isinstance(o, TensorBase) else None for o in outs]
    results = []
    for i, o in enumerate(outs):
        if o is None or not isinstance(o, (TensorBase, _ndarray, np.generic)):
            results.append(o)  # a non-Tensor output (a number, a string) is passed through, as torch
            continue
        t = _tensor_of(o, f"{cls.__name__}.forward")
        r = _new_tensor(_result_class)
        r._data = t._data
        r._grad = None
        r._version = 0
        _set_requires_grad(r, False)
        r._ctx = None
        if (record and t._data.dtype.kind == "f" and id(o) not in ctx._non_differentiable):
            node = Context()
            node.fn = _node_class(cls, i, len(outs))
            node.needs_input_grad = list(needs)
            node.parents = args
            node.changes = _changes[0]
            if any(isinstance(a, TensorBase) and a._version for a in args):
                node.versions = tuple(version(a) if isinstance(a, TensorBase) else 0 for a in args)
            node.saved_tensors = ()  # set to None by the engine once this node has run (a second pass raises)
            node.user_ctx = ctx
            node.output_metas = metas
            _set_requires_grad(r, True)
            r._ctx = node
        results.append(r)
    return results[0] if single else tuple(results)


def _node_class(cls, index, count):
    """The engine's Function for output `index` of `count` of the user's Function cls (made once)."""
    key = (index, count)
    node = cls._nodes.get(key)
    if node is None:
        name = f"{cls.__name__}Backward" if count == 1 else f"{cls.__name__}Backward{index}"
        node = type(name, (_TensorIONode,), {"user": cls, "index": index, "count": count, "tensor_io": False},
                    register=False)
        cls._nodes[key] = node
    return node


class _TensorIONode(Function, register=False):
    """Calls a Tensor-level Function's backward for the engine (arrays in and out, or Tensors under
    create_graph)."""

    user = None
    index = 0
    count = 1

    @classmethod
    def _user_grads(cls, ctx, grad_tensor):
        uctx = ctx.user_ctx
        grads = []
        for j, meta in enumerate(ctx.output_metas):
            if j == cls.index:
                grads.append(grad_tensor)
            elif meta is not None and uctx.materialize_grads:
                grads.append(_result_class(np.zeros(meta[0], meta[1])))
            else:
                grads.append(None)
        result = cls.user.backward(uctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(ctx.needs_input_grad)
        if len(result) < n or any(g is not None for g in result[n:]):
            raise RuntimeError(f"function {cls.user.__name__}Backward returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        return result[:n]

    @classmethod
    def backward(cls, ctx, grad):
        with no_grad():
            result = cls._user_grads(ctx, _result_class._wrap(grad, False))
        out = []
        for j, g in enumerate(result):
            if g is None or not ctx.needs_input_grad[j]:
                out.append(None)
                continue
            arr = _tensor_of(g, f"{cls.user.__name__}.backward")._data
            want = ctx.parents[j]._data.dtype
            out.append(arr if arr.dtype == want else arr.astype(want))  # torch casts a gradient to its input's dtype
        return tuple(out)

    @classmethod
    def backward_graph(cls, ctx, grad):
        with enable_grad():
            result = cls._user_grads(ctx, grad)
        return tuple(None if g is None else _tensor_of(g, f"{cls.user.__name__}.backward") for g in result)


def once_differentiable(fn):
    """As torch.autograd.function.once_differentiable: backward runs with recording off, so its result
    carries no graph (a double backward through it finds no derivative)."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapper


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
    if CAPTURE[0] is not None:
        tape = capture_tape()
        if tape is not None:  # an in-place change inside a captured step: only an optimizer's update may
            if not tape.bumps_ok:
                raise CaptureError("an in-place change of a Tensor cannot be captured (only an optimizer's "
                                   "update)")
            tape.calls.append((_bump, (t,), {}))
    _bump(t)


def _bump(t):
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
    return np.asarray(grad).reshape(shape)  # (a sum over an object array gives a Python number)


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
