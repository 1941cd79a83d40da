"""Reverse-mode autodiff: walk the graph from the output in reverse topological order.

A tensor made by an op holds that op's Context in ``_ctx``; the context holds the op (``fn``), its
inputs (``parents``) and what forward saved. Leaves have ``_ctx = None`` and collect ``.grad``.
The walk is iterative (an explicit stack), so a chain of 100,000 ops needs no Python recursion.
backward(create_graph=True), backward(inputs=...) and grad() (torch.autograd.grad) take a second, general
walk (run_backward): with create_graph the gradients are Tensors and each op's backward_graph records
the backward, so a gradient can be differentiated again (Hessian-vector products, Newton's method).
Backward may run in several threads at once, into shared leaves: each addition into a .grad holds
_grad_lock, so no thread's contribution is lost (as PyTorch's AccumulateGrad holds a mutex).
"""
import sys
import threading
import weakref

import numpy as np

from . import function as _function
from .anomaly import check_backward as _check_anomaly
from .grad_mode import _GradMode
from .grad_mode import modes as _modes

# Gradient hooks of tensors (Tensor.register_hook / retain_grad): id(tensor) -> [weakref, hooks, retains].
# Kept here rather than on the tensor so Tensor stays four slots and the engine pays one dict check per
# node when no hook exists.
_tensor_hooks = {}
# Guards the get-or-create of an entry and changes to its hook list. Reentrant: a garbage collection
# inside a locked section may run _drop_entry (a weakref callback) in the same thread.
_hooks_lock = threading.RLock()

# Held around every read-modify-write of a .grad (a leaf's, or a non-leaf's kept by retain_grad); a
# NumPy addition releases the GIL on big arrays, so without it concurrent backwards lose gradients.
# Hooks run outside it (they may be slow, or call backward themselves).
_grad_lock = threading.Lock()


class _ShapeMismatch(RuntimeError, ValueError):
    """A backward gradient of the wrong shape: torch's RuntimeError, and the ValueError firstepoch's
    Tensor.backward raised first (code catching either keeps working)."""


class _NotATensor(TypeError, RuntimeError):
    """A non-Tensor in backward's or grad's tensor lists: the TypeError firstepoch raised first, and
    torch's RuntimeError ("all inputs have to be Tensors")."""


# The implied gradient of a 0-d loss, copied for each backward (never handed out itself).
_ONES = {np.dtype(np.float32): np.ones((), np.float32), np.dtype(np.float64): np.ones((), np.float64)}


class RemovableHandle:
    """What register_hook returns: handle.remove() unregisters the hook (a second remove does nothing);
    as a context manager (torch's too) the hook is removed when the block ends."""

    def __init__(self, remove):
        self._remove = remove

    def remove(self):
        if self._remove is not None:
            self._remove()
            self._remove = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


_INPLACE_CHANGES = _function.INPLACE_CHANGES
_version = _function.version


def _shares(saved, array):
    """Whether any array forward saved may share memory with array."""
    for s in saved or ():
        if isinstance(s, np.ndarray) and np.may_share_memory(s, array):
            return True
    return False


def _version_error(fn, what, now, then):
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[{fn.__name__}] {what} is at version {now}; expected version {then} instead. Hint: out-of-place "
        f"ops (x = x + 1) or .clone() before the in-place change keep the recorded value")


def _check_versions(node, ctx):
    """torch's version-counter rule: raises if an array this op saved for backward (an input or its
    output) was changed in place after the op was recorded. A changed non-leaf input raises too, saved
    or not: the graph reaches it through the tensor object, whose history the in-place op replaced."""
    fn = ctx.fn
    if ctx.overwritten_by is not None:
        raise RuntimeError(f"one of the variables needed for gradient computation has been modified by an "
                           f"inplace operation: [{fn.__name__}] its output was overwritten by {ctx.overwritten_by}")
    saved = getattr(ctx, "saved_tensors", None)
    now = _version(node)
    if now != ctx.out_version and _shares(saved, node._data):
        raise _version_error(fn, "the output", now, ctx.out_version)
    recorded = ctx.versions
    for j, p in enumerate(ctx.parents):
        if isinstance(p, _function.TensorBase):
            now = _version(p)
            then = 0 if recorded is None else recorded[j]
            if now != then and (p._ctx is not None or _shares(saved, p._data)):
                raise _version_error(fn, f"input {j} ({p._data.dtype} {p._data.shape})", now, then)


def _resolve_rebased(node, ctx):
    """Before the walk goes through an op recorded before some in-place change: an input whose history
    an in-place op has since moved on (Tensor._inplace keeps the old history in ctx.shadow of the new
    one) is replaced by the shadow holding the history it had when this op ran, so the gradient reaches
    what the op read. If the op saved that input's memory, or its output is a view of it, the values
    it needs are gone: torch's version error."""
    clock = ctx.changes
    parents = ctx.parents
    resolved = None
    for j, p in enumerate(parents):
        if isinstance(p, _function.TensorBase):
            q = p
            while q._ctx is not None and q._ctx.shadow is not None and q._ctx.changes > clock:
                q = q._ctx.shadow
            if q is not p:
                if _shares(getattr(ctx, "saved_tensors", None), p._data) or np.may_share_memory(node._data, p._data):
                    raise _version_error(ctx.fn, f"input {j} ({p._data.dtype} {p._data.shape})", _version(p),
                                         _version(q))
                if resolved is None:
                    resolved = list(parents)
                resolved[j] = q
    if resolved is not None:
        ctx.parents = tuple(resolved)


def _grad_tensor(array):
    """array as a gradient Tensor (.grad and what hooks see are Tensors, as in PyTorch)."""
    if array.__class__ is not np.ndarray:  # a NumPy scalar from a sum over every axis
        array = np.asarray(array)
    return _function._result_class._alias(array, False)


def _accumulate(node, g, owned):
    """Adds g into node.grad (call with _grad_lock held): in place into an existing gradient Tensor, as
    PyTorch accumulates, so a reference taken to .grad sees later backwards; g itself becomes the
    gradient only if owned (nothing else can see it)."""
    held = node._grad
    if held is None:
        node._grad = _grad_tensor(g if owned else g.copy())
        return
    arr = held._data
    if arr.flags.writeable and arr.shape == g.shape and arr.dtype == g.dtype:
        arr += g
    else:
        held._data = arr + g


def _entry(tensor):
    """The hook entry of tensor, created if missing; call with _hooks_lock held."""
    key = id(tensor)
    entry = _tensor_hooks.get(key)
    if entry is None or entry[0]() is not tensor:
        ref = weakref.ref(tensor, lambda r, key=key: _drop_entry(key, r))
        entry = _tensor_hooks[key] = [ref, [], False]
    return entry


def _drop_entry(key, ref):
    """Weakref callback: the tensor is gone; forget its entry (unless the id was reused already)."""
    with _hooks_lock:
        entry = _tensor_hooks.get(key)
        if entry is not None and entry[0] is ref:
            del _tensor_hooks[key]


def register_hook(tensor, hook):
    """Calls hook(grad) with the gradient of tensor (a Tensor) each time backward computes it; a
    returned Tensor replaces the gradient, None keeps it. Its memory may be shared with other
    gradients: return a new one rather than changing it in place."""
    if not callable(hook):
        raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
    if not tensor.requires_grad:
        raise RuntimeError("register_hook: this tensor does not require grad, so backward never computes its "
                         "gradient (create it with requires_grad=True or from one that does)")
    with _hooks_lock:
        entry = _entry(tensor)
        entry[1] = entry[1] + [hook]  # a new list: a running backward iterates the old one
    key = id(tensor)

    def remove():
        with _hooks_lock:
            e = _tensor_hooks.get(key)
            if e is entry and any(h is hook for h in e[1]):
                e[1] = [h for h in e[1] if h is not hook]
                if not e[1] and not e[2]:
                    del _tensor_hooks[key]
    return RemovableHandle(remove)


def retain_grad(tensor):
    """Keeps the gradient of a non-leaf tensor in its .grad after backward (leaves always keep theirs)."""
    if not tensor.requires_grad:
        raise RuntimeError("retain_grad: this tensor does not require grad, so it has no gradient to keep")
    if tensor._ctx is not None:
        with _hooks_lock:
            _entry(tensor)[2] = True


def retains_grad(tensor):
    entry = _tensor_hooks.get(id(tensor))
    return entry is not None and entry[2] and entry[0]() is tensor


def _run_hooks(node, g):
    entry = _tensor_hooks.get(id(node))
    if entry is None or entry[0]() is not node:
        return g
    for hook in entry[1]:
        r = hook(_grad_tensor(g))
        if r is not None:
            r = np.asarray(getattr(r, "_data", r))
            if r.shape != g.shape or r.dtype != g.dtype:
                raise RuntimeError(f"a gradient hook returned a {r.dtype} array of shape {r.shape} for a "
                                   f"{g.dtype} gradient of shape {g.shape}")
            g = r
    if entry[2] and node._ctx is not None:
        with _grad_lock:
            _accumulate(node, g, False)
    return g


def _inputs_needing_grad(node):
    """The inputs of node's op that required grad when it ran (ctx.needs_input_grad says which)."""
    ctx = node._ctx
    if ctx is None:
        return ()
    return [p for p, need in zip(ctx.parents, ctx.needs_input_grad) if need]


def topological_order(root):
    """Nodes reachable from root that need a gradient, each after all of its inputs (iterative DFS).

    The stack holds (node, expanded): a node is expanded (its inputs pushed above it) the first time it
    is popped and appended to the order when popped again, after everything above it, so after all of
    its inputs. A node pushed twice before its expansion is expanded once (the later copies are skipped)."""
    return _walk(root)[0]


def _walk(root):
    """topological_order, and whether the graph holds an op recorded before the last in-place change
    (then backward checks versions, op by op; a training step's graph holds none)."""
    order = []
    append = order.append
    expanded = set()
    stack = [(root, False)]
    pop, push = stack.pop, stack.append
    now = _INPLACE_CHANGES[0]
    stale = False
    while stack:
        node, done = pop()
        if done:
            append(node)
            continue
        key = id(node)
        if key in expanded:
            continue
        expanded.add(key)
        push((node, True))
        ctx = node._ctx
        if ctx is not None:  # inputs pushed last to first, so the first is expanded first (as recursion would)
            if ctx.changes != now:
                stale = True
                _resolve_rebased(node, ctx)
            needs = ctx.needs_input_grad
            parents = ctx.parents
            for i in range(len(needs) - 1, -1, -1):
                if needs[i] and id(parents[i]) not in expanded:
                    push((parents[i], False))
    return order, stale


def _root_grads(given, roots, what, of):
    """The gradients to start from, one per root: None (each implied), one Tensor, or a sequence."""
    if given is None:
        return [None] * len(roots)
    grads = [given] if isinstance(given, _function.TensorBase) else list(given)
    if len(grads) != len(roots):
        raise RuntimeError(f"{what} has {len(grads)} entries for {len(roots)} {of}")
    return grads


def backward_many(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """As torch.autograd.backward: the gradients of several tensors (each weighted by its entry of
    grad_tensors; None implies ones for a single-element tensor) added into the leaves' .grad in one walk."""
    roots = _as_tensor_list(tensors, "backward", "tensors")
    if not roots:
        raise RuntimeError("backward: tensors must be a Tensor or a non-empty sequence of Tensors")
    grads = _root_grads(grad_tensors, roots, "backward: grad_tensors", "tensors")
    if inputs is not None:
        inputs = _as_tensor_list(inputs, "backward", "inputs")
        if not inputs:
            raise RuntimeError("backward: inputs must be None or a non-empty sequence of Tensors")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(roots, grads, retain_graph, create_graph, inputs, allow_unused=True, accumulate=True)


def backward(root, grad=None, retain_graph=False, create_graph=False, inputs=None):
    """Adds d(root)/d(leaf), weighted by grad, into the .grad of every leaf that requires grad.

    create_graph=True records the backward itself (gradients flow as Tensors through each op's
    backward_graph), so the .grad it leaves has a graph of its own; inputs (a sequence of Tensors):
    accumulate into those only. Both take the general walk (run_backward); the plain call keeps the
    fast loop below."""
    if create_graph or inputs is not None:  # (run_backward refuses them under firstepoch.capture)
        if inputs is not None:
            inputs = _as_tensor_list(inputs, "backward", "inputs")
            if not inputs:
                raise RuntimeError("backward: inputs must be None or a non-empty sequence of Tensors")
        run_backward([root], [grad], retain_graph, create_graph, inputs, allow_unused=True, accumulate=True)
        return
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph to differentiate "
                           "(create the inputs with requires_grad=True, outside no_grad())")
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(f"backward: grad can be implied only for a single-element output, got shape "
                               f"{root._data.shape}; pass grad= of that shape")
        data = root._data
        one = _ONES.get(data.dtype) if data.ndim == 0 else None
        grad = np.ones_like(data) if one is None else one.copy()  # (a copy: 0.1 us against 0.7)
    else:
        grad = np.asarray(getattr(grad, "_data", grad), dtype=root._data.dtype)
        if grad.shape != root._data.shape:
            raise _ShapeMismatch(f"backward: grad has shape {grad.shape}, the output has shape {root._data.shape}")

    grads = {id(root): grad}
    pop = grads.pop
    # made: the keys of grads whose arrays this loop made (sums, backward_into's scatters): no one else sees
    # them, so a backward_into may add into them in place
    made = set()
    tape = _function.capture_tape() if _function.CAPTURE[0] is not None else None
    given = set() if tape is not None else None  # under capture: the ids of the arrays handed to leaves
    hooks = _tensor_hooks
    modes = _modes()  # the calling thread's profiler and anomaly mode
    order, stale = _walk(root)
    for i in range(len(order) - 1, -1, -1):
        node = order[i]
        key = id(node)
        g = pop(key, None)
        if g is None:
            continue
        made.discard(key)
        if hooks and key in hooks:
            if tape is not None:
                raise _function.CaptureError("a tensor hook (register_hook) cannot be captured")
            g = _run_hooks(node, g)
        ctx = node._ctx
        if ctx is None:  # a leaf: accumulate into .grad (until the user zeroes it)
            with _grad_lock:
                held = node._grad
                if held is None:
                    # Keep g itself only if nothing else can see it: it owns its memory (not a view of
                    # an upstream gradient) and no other reference exists (a backward may hand one array
                    # to two inputs, as Add does). Otherwise copy, so no two .grad arrays share memory.
                    if tape is None:
                        owned = g.base is None and g.flags.writeable and sys.getrefcount(g) <= 2
                    else:  # the tape holds a reference to every array a kernel wrote: count leaves instead
                        owned = g.base is None and g.flags.writeable and id(g) not in given
                        if not owned:  # the copy, on the tape (a replay refreshes it)
                            c = np.empty_like(g)
                            tape.calls.append((np.copyto, (c, g), {}))
                            np.copyto(c, g)
                            g, owned = c, True
                        given.add(id(g))
                    node._grad = _grad_tensor(g if owned else g.copy())
                else:
                    if tape is not None:
                        raise _function.CaptureError(
                            "backward into a .grad that already holds a gradient (accumulation) cannot be "
                            "captured: zero_grad() (set_to_none=True) before backward inside the step")
                    _accumulate(node, g, False)
            g = None
            continue
        fn = ctx.fn
        if getattr(ctx, "saved_tensors", ()) is None:
            raise RuntimeError(
                f"backward: trying to backward through the graph a second time (at {fn.__name__}); "
                "its saved arrays were freed after the first backward. Pass retain_graph=True to the "
                "first backward if you need to call it twice.")
        if stale and ctx.changes != _INPLACE_CHANGES[0]:
            _check_versions(node, ctx)
        prof = modes.profiler
        if tape is not None and (prof is not None or modes.anomaly_enabled or fn.backward_into is not None):
            raise _function.CaptureError(f"backward through {fn.__name__} under the profiler or anomaly mode, "
                                         "or a scattering backward, cannot be captured")
        if fn.backward_into is not None and ctx.needs_input_grad[0] and not modes.anomaly_enabled:
            # x[index] and the like: the gradient scattered into the sum being built for x (see
            # Function.backward_into), not into a zero array of its own added to that sum whole
            pkey = id(ctx.parents[0])
            held = grads.get(pkey)
            if held is not None and pkey not in made:
                held = np.array(held)  # a copy this loop owns (held may be a view another op returned)
            if prof is None:
                grads[pkey] = fn.backward_into(ctx, g, held)
            else:
                grads[pkey] = prof.backward_into(fn, ctx, g, held)
            made.add(pkey)
            g = held = None
            if not retain_graph:
                ctx.saved_tensors = None
            continue
        in_grads = fn.backward(ctx, g) if prof is None else prof.backward(fn, ctx, g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        if modes.anomaly_enabled:
            _check_anomaly(fn, ctx, in_grads)
        needs = ctx.needs_input_grad
        parents = ctx.parents
        for j in range(len(in_grads) if len(in_grads) < len(needs) else len(needs)):
            pg = in_grads[j]
            if pg is None or not needs[j]:
                continue
            data = parents[j]._data
            if pg.shape != data.shape or pg.dtype != data.dtype:
                raise RuntimeError(f"{fn.__name__}.backward returned a {pg.dtype} gradient of shape {pg.shape} "
                                   f"for a {data.dtype} input of shape {data.shape}")
            pkey = id(parents[j])
            if pkey in grads:
                if tape is None:
                    grads[pkey] = grads[pkey] + pg
                else:  # the sum on the tape, into an array of its own
                    held = grads[pkey]
                    total = np.empty_like(held)
                    tape.calls.append((np.add, (held, pg), {"out": total}))
                    np.add(held, pg, out=total)
                    grads[pkey] = total
                    held = total = None
                made.add(pkey)
            else:
                grads[pkey] = pg
        # Drop this frame's references, so a leaf's ownership test below sees only the dict's.
        in_grads = pg = g = None
        if not retain_graph:
            ctx.saved_tensors = None  # frees the arrays forward saved; a second pass raises above


# ---- the general walk: create_graph, backward(inputs=...) and autograd.grad -----------------------
# Off the hot path: the plain loss.backward() above never comes here. With create_graph=True the
# gradients are Tensors and each op's backward_graph(ctx, grad) computes its input gradients with
# recorded Tensor ops, so the gradients have a graph of their own (a Hessian-vector product is the
# gradient of a gradient). Without it, the arrays and fn.backward of the fast loop.

def _as_tensor_list(x, fn, name):
    """x (a Tensor or a sequence of Tensors) as a list of Tensors, or a TypeError naming it."""
    if isinstance(x, _function.TensorBase):
        return [x]
    try:
        items = list(x)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be a Tensor or a sequence of Tensors, got {type(x).__name__}") from None
    for i, t in enumerate(items):
        if not isinstance(t, _function.TensorBase):
            raise _NotATensor(f"{fn}: {name}[{i}] must be a Tensor, got {type(t).__name__}")
    return items


def _topological_order_many(roots):
    """topological_order over several roots at once: each node once, after all of its inputs."""
    order = []
    expanded = set()
    for root in roots:
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in expanded:
                continue
            expanded.add(id(node))
            stack.append((node, True))
            ctx = node._ctx
            if ctx is not None:
                if ctx.changes != _INPLACE_CHANGES[0]:
                    _resolve_rebased(node, ctx)
                for p, need in reversed(list(zip(ctx.parents, ctx.needs_input_grad))):
                    if need and id(p) not in expanded:
                        stack.append((p, False))
    return order


def _root_grad(root, index, grad, create_graph, fn):
    """The gradient a walk starts from at root: an array, or a Tensor under create_graph (a given
    Tensor as it is, so a gradient can flow into it too)."""
    data = root._data
    if grad is None:
        if data.size != 1:
            raise RuntimeError(f"{fn}: grad can be implicitly created only for scalar outputs; output {index} has "
                               f"shape {data.shape}: pass its gradient")
        g = np.ones_like(data)
        return _grad_tensor(g) if create_graph else g
    arr = np.asarray(getattr(grad, "_data", grad))
    if arr.shape != data.shape:
        raise RuntimeError(f"{fn}: mismatch in shape: the gradient of output {index} has shape {arr.shape}, the "
                           f"output has shape {data.shape}")
    if create_graph and isinstance(grad, _function.TensorBase) and arr.dtype == data.dtype:
        return grad
    arr = arr.astype(data.dtype, copy=False)
    return _grad_tensor(arr) if create_graph else arr


def _clone(g):
    """A gradient Tensor of its own (no memory shared with another gradient), its graph kept."""
    if g.requires_grad:
        return g * 1.0  # a recorded op that writes new memory (the engine imports no op)
    return _grad_tensor(g._data.copy())


def _store(node, g, create_graph):
    """Accumulates g into node.grad: in place for arrays (as the fast loop); out of place under
    create_graph (as PyTorch: .grad = .grad + g), so the graph of both terms is kept."""
    with _grad_lock:
        if not create_graph:
            _accumulate(node, g, False)
        elif node._grad is None:
            node._grad = _clone(g)
        else:
            node._grad = node._grad + g


def _run_hooks_graph(node, g):
    """_run_hooks under create_graph: the hooks see the gradient Tensor itself, graph included."""
    entry = _tensor_hooks.get(id(node))
    if entry is None or entry[0]() is not node:
        return g
    for hook in entry[1]:
        r = hook(g)
        if r is not None:
            if (not isinstance(r, _function.TensorBase) or r._data.shape != g._data.shape
                    or r._data.dtype != g._data.dtype):
                raise RuntimeError(f"a gradient hook returned {type(r).__name__} {getattr(r, 'shape', '')} for a "
                                   f"{g._data.dtype} gradient of shape {g._data.shape}")
            g = r
    if entry[2] and node._ctx is not None:
        _store(node, g, True)
    return g


def run_backward(roots, root_grads, retain_graph, create_graph, inputs, allow_unused, accumulate):
    """The general walk from several roots. accumulate=True (backward): add into the .grad of the leaves
    (of inputs only, when given); False (autograd.grad): return the gradients of inputs, .grad untouched.
    Only the part of the graph that leads to inputs is walked. Returns the gradients (None: unused)."""
    if _function.CAPTURE[0] is not None and _function.capture_tape() is not None:
        raise _function.CaptureError("autograd.grad, autograd.backward and backward(create_graph=True or "
                                     "inputs=) cannot be captured")
    fname = "backward" if accumulate else "grad"
    for i, r in enumerate(roots):
        if not r.requires_grad:
            raise RuntimeError(f"{fname}: element {i} of the outputs does not require grad and has no graph to "
                               "differentiate (create the inputs with requires_grad=True, outside no_grad())")
    grads = {}
    for i, (r, g) in enumerate(zip(roots, root_grads)):
        g = _root_grad(r, i, g, create_graph, fname)
        k = id(r)
        grads[k] = grads[k] + g if k in grads else g
    order = _topological_order_many(roots)
    targets = live = captured = None
    if inputs is not None:
        targets = {}
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError(f"{fname}: inputs[{i}] (shape {t._data.shape}) does not require grad, so no "
                                   "gradient flows to it")
            targets.setdefault(id(t), []).append(i)
        live = set()  # the nodes a gradient must pass to reach one of inputs
        for node in order:  # each after its inputs
            k = id(node)
            ctx = node._ctx
            if k in targets or (ctx is not None and any(
                    need and id(p) in live for p, need in zip(ctx.parents, ctx.needs_input_grad))):
                live.add(k)
        captured = [None] * len(inputs)
    hooks = _tensor_hooks
    modes = _modes()
    with _GradMode(create_graph):  # hooks and backward_graph record only under create_graph
        for i in range(len(order) - 1, -1, -1):
            node = order[i]
            key = id(node)
            g = grads.pop(key, None)
            if g is None or (live is not None and key not in live):
                continue
            if hooks and key in hooks:
                g = _run_hooks_graph(node, g) if create_graph else _run_hooks(node, g)
            ctx = node._ctx
            if targets is not None:
                if key in targets:
                    if accumulate:
                        _store(node, g, create_graph)
                    else:
                        for j in targets[key]:
                            captured[j] = g
            elif ctx is None and accumulate:
                _store(node, g, create_graph)
            if ctx is None:
                continue
            fn = ctx.fn
            if getattr(ctx, "saved_tensors", ()) is None:
                raise RuntimeError(
                    f"{fname}: trying to backward through the graph a second time (at {fn.__name__}); "
                    "its saved arrays were freed after the first backward. Pass retain_graph=True to the "
                    "first backward if you need to call it twice.")
            if ctx.changes != _INPLACE_CHANGES[0]:
                _check_versions(node, ctx)
            if create_graph:
                if fn.backward_graph is None:
                    raise RuntimeError(f"{fn.__name__} does not support create_graph=True (its backward is not "
                                       "differentiable here)")
                in_grads = fn.backward_graph(ctx, g)
            else:
                prof = modes.profiler
                in_grads = fn.backward(ctx, g) if prof is None else prof.backward(fn, ctx, g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            if modes.anomaly_enabled:
                _check_anomaly(fn, ctx, [getattr(x, "_data", x) for x in in_grads])
            needs = ctx.needs_input_grad
            parents = ctx.parents
            for j in range(min(len(in_grads), len(needs))):
                pg = in_grads[j]
                if pg is None or not needs[j]:
                    continue
                pkey = id(parents[j])
                if live is not None and pkey not in live:
                    continue
                pd = pg._data if create_graph and isinstance(pg, _function.TensorBase) else pg
                data = parents[j]._data
                if (create_graph and pd is pg) or pd.shape != data.shape or pd.dtype != data.dtype:
                    what = "backward_graph" if create_graph else "backward"
                    raise RuntimeError(f"{fn.__name__}.{what} returned {type(pg).__name__} "
                                       f"{getattr(pd, 'dtype', '')} of shape {getattr(pd, 'shape', '')} as the "
                                       f"gradient of a {data.dtype} input of shape {data.shape}")
                grads[pkey] = grads[pkey] + pg if pkey in grads else pg
            in_grads = pg = g = None
            if not retain_graph:
                ctx.saved_tensors = None
    if captured is None:
        return None
    for i, g in enumerate(captured):
        if g is not None and not create_graph:
            captured[i] = _grad_tensor(g.copy())  # its own memory: a gradient array may be shared
        elif g is None and not allow_unused:
            raise RuntimeError(f"grad: inputs[{i}] (shape {inputs[i]._data.shape}) appears to not have been used in "
                               "the graph of the outputs. Set allow_unused=True if this is the desired behavior.")
    return captured


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """As torch.autograd.grad: the gradients of outputs (weighted by grad_outputs; None implies ones for
    a single-element output) with respect to each of inputs, as a tuple of Tensors, without touching
    any .grad. create_graph=True gives gradients with a graph (differentiate them again: Hessian-vector
    products); retain_graph defaults to create_graph. An input the outputs do not depend on is an error
    unless allow_unused=True (its gradient is then None, or zeros with materialize_grads=True)."""
    outputs = _as_tensor_list(outputs, "grad", "outputs")
    inputs = _as_tensor_list(inputs, "grad", "inputs")
    if not outputs or not inputs:
        raise RuntimeError("grad: outputs and inputs must each be a Tensor or a non-empty sequence of Tensors")
    grad_outputs = _root_grads(grad_outputs, outputs, "grad: grad_outputs", "outputs")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError("grad: materialize_grads=True needs allow_unused to be None or True")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs, allow_unused, accumulate=False)
    if materialize_grads:
        result = [_grad_tensor(np.zeros_like(t._data)) if g is None else g for g, t in zip(result, inputs)]
    return tuple(result)
