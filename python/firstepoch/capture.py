"""Step capture: record a training step's kernel calls once, then replay them without the Python that
issued them (no Tensor, Function, autograd or optimizer bookkeeping per op).

    step = firstepoch.capture.CapturedStep(train_step, model=model, optimizer=opt)
    for xb, yb in loader:
        loss = step(xb, yb)          # the same effect as train_step(xb, yb)

`train_step(*inputs)` is an ordinary step (forward, loss, `optimizer.zero_grad()`, `loss.backward()`,
`optimizer.step()`) returning a Tensor or a tuple of Tensors. For each kind of input (shapes, dtypes,
the values of non-Tensor arguments, grad mode, the model's modules, their training flags and hooks,
forward and backward) CapturedStep

1. runs the first call eagerly (the warm-up: the optimizer makes its state, e.g. momentum buffers);
2. runs the second call eagerly while recording every `firstepoch._C` kernel call, and the NumPy glue
   of the ops that support capture, on a tape that holds the arrays they read and write; the inputs
   are copied into buffers the tape keeps;
3. at the third call checks the tape: it runs the step eagerly and, from the same starting state, by
   replay, and compares the loss, parameters, gradients and optimizer state (bitwise). A difference
   (an op whose glue the tape missed) sends that kind of input back to eager for good, with a
   RuntimeWarning;
4. from then on copies each call's inputs into the tape's buffers and replays it.

Fallback, never a wrong answer: an op, hook or optimizer that cannot be captured raises CaptureError
inside the capture, CapturedStep restores the state saved before it (parameters, gradients, optimizer
state, the random generator), runs that call eagerly, and runs every later call of that kind eagerly
(`step.eager_reason` says why). The eager rerun repeats the step's Python up to the refused op: a
side effect there (`next(iterator)`, a print) happens twice on that one call.

Capturable today: nn.Linear / F.linear (with Sequential's fused ReLU), nn.Conv2d / F.conv2d (with
Sequential's fused Conv2d+ReLU and Conv2d+ReLU+MaxPool2d), F.max_pool2d (not return_indices), reshape /
view / flatten and permute / transpose (as views), F.relu / nn.ReLU and the activations computed by the
activation kernel (GELU, SiLU, LeakyReLU, ELU/SELU/CELU, Softplus, Hardtanh/ReLU6, Hardswish,
Hardsigmoid, Mish, Softsign) on float32/float64, F.cross_entropy ((N, C) logits, int64 class targets, no
class weights) and the optimizer given as optimizer=: SGD (not maximize), Adam, AdamW, RMSprop, Adagrad,
Adadelta, Adamax, NAdam and RAdam (their per-parameter update is replayed whole, reading the step count
and settings as they are then). Anything else runs eagerly: average pooling, dropout's random masks,
batch norm, gradient clipping, an lr scheduler stepped inside the step, a second optimizer, values
computed outside Functions (argmax, comparisons), Tensors copied from arrays (fe.tensor(batch)).

Guards, checked before each replay: the parameters (the model's and the optimizer's) and the model's
buffers are the same Tensors, with the same arrays (load_state_dict may replace them) and requires_grad;
the optimizer state's arrays and its param groups are the ones the tape holds; the step's kind of input
is one already seen. The optimizer's settings are not guarded: the replayed update reads them when it
runs (an lr scheduler's changes reach it), except whether SGD's momentum is zero, and SGD's other keys
(maximize, ...). A changed guard captures again.

Differences from the eager step (deliberate): a replay returns detached copies of the step's outputs
(no graph: call backward inside the step, not on its result); each parameter's .grad after a replay
is the same Tensor every step, overwritten in place (as zero_grad(set_to_none=False) leaves it), so
keep `p.grad.clone()` to hold an older step's gradient; Python control flow inside the step is fixed
at capture (like CUDA graphs), and so are the Python values the step and its modules read (a closure's
variable, LeakyReLU's negative_slope): after changing one, call `step.reset()`; the step must not read
Python numbers from Tensors to decide what to compute, nor compute in NumPy on a Tensor's array (what
the Tensor ops cannot see is fixed at capture; the check at the first replay finds it only when that
call's values differ from the captured call's). A step that prints or logs runs that code only on eager calls.
"""
import functools
import threading
import warnings

import numpy as np

from . import _C
from . import random as _random
from .autograd import function as _function
from .autograd.grad_mode import is_grad_enabled
from .nn.module import Module
from .optim.optimizer import Optimizer
from .tensor import Tensor

__all__ = ["CaptureError", "CapturedStep", "capturing", "record", "refuse"]


CaptureError = _function.CaptureError

# The tape being recorded, or None: read on hot paths (Function.apply, the engine), so a plain list slot.
ACTIVE = _function.CAPTURE


class _Tape:
    def __init__(self):
        self.calls = []  # (fn, args, kwargs)
        self.thread = threading.get_ident()
        self.bumps_ok = False  # set by an optimizer's capturable update: its in-place changes are recorded
        self.paused = False  # inside record_opaque: the kernels it calls are not recorded one by one
        self.optimizer = None  # the CapturedStep's optimizer: the only one whose update may go on the tape

    def record_opaque(self, fn, *args):
        """fn(*args) kept on the tape as one call (the kernels it calls are not recorded on their own):
        for work that reads settings when it runs, as an optimizer's update reads its lr."""
        self.calls.append((fn, args, {}))
        self.paused = True
        try:
            fn(*args)
        finally:
            self.paused = False

    def freeze(self):
        """The calls as argument-bound callables (a replay is then one loop of C-level calls)."""
        self.bound = [functools.partial(fn, *args, **kwargs) for fn, args, kwargs in self.calls]

    def replay(self):
        for call in self.bound:
            call()


def capturing():
    """True while this thread is recording a step."""
    return _function.capture_tape() is not None


record = _function.capture_record
refuse = _function.capture_refuse


# ---- recording the kernels ------------------------------------------------------------------------
# While a step is captured, each callable of firstepoch._C is replaced by a recorder that calls it and
# keeps the call. A kernel writes into arrays it is given and returns None; one that returns a value
# (a new array, a count) cannot be replayed, so the recorder refuses it.
# Queries and settings, not work: run as they are, never recorded.
_NOT_KERNELS = {"conv_algorithm", "cpu_info", "fma_peak_gflops", "get_isa", "get_num_threads", "get_winograd_tile",
                "memory_bandwidth_gbs", "release_free_memory", "set_isa", "set_num_threads", "set_winograd_tile",
                "winograd_tile", "attention_workspace_size", "rnn_workspace_size", "get_conv_small_map_bytes",
                "set_conv_small_map_bytes"}


def _recorder(name, fn):
    def call(*args, **kwargs):
        tape = ACTIVE[0]
        if tape is None or tape.thread != threading.get_ident() or name in _NOT_KERNELS or tape.paused:
            return fn(*args, **kwargs)
        out = fn(*args, **kwargs)
        if out is not None and not any(out is a for a in args):  # (returning an output argument is fine)
            raise CaptureError(f"_C.{name} returned a value, which a replay cannot hand on")
        tape.calls.append((fn, args, kwargs))
        return out
    call.__wrapped__ = fn
    return call


_patch_lock = threading.Lock()


def _patch_kernels():
    originals = {}
    for name in dir(_C):
        fn = getattr(_C, name)
        if name.startswith("_") or isinstance(fn, type) or not callable(fn):
            continue
        originals[name] = fn
        setattr(_C, name, _recorder(name, fn))
    return originals


def _unpatch_kernels(originals):
    for name, fn in originals.items():
        setattr(_C, name, fn)


# ---- the step ----------------------------------------------------------------------------------------
def _walk(model):
    """(modules, parameters, buffers) of model in the order and with the de-duplication of modules(),
    parameters() and buffers(), from one pass over the tree (the guards run before every replay)."""
    mods, seen, stack = [], set(), [model]
    while stack:  # depth first, self first: named_modules' order
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        mods.append(m)
        children = [c for c in m._modules.values() if c is not None]
        stack.extend(reversed(children))
    out = []
    for store in ("_parameters", "_buffers"):
        found, ids = [], set()
        for m in mods:
            for v in getattr(m, store).values():
                if v is not None and id(v) not in ids:
                    ids.add(id(v))
                    found.append(v)
        out.append(found)
    return mods, out[0], out[1]


def _params(model, optimizer, params=None):
    """The model's parameters and the optimizer's, each once, in order (params: the model's, if known)."""
    seen, out = set(), []
    for p in (list(model.parameters()) if params is None else params):
        seen.add(id(p))
        out.append(p)
    for g in optimizer.param_groups:
        for p in g["params"]:
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def _arrays_of_state(model, optimizer):
    """{id: array} of the arrays a step changes in place: parameters, buffers, optimizer state."""
    out = {id(t._data): t._data for t in _params(model, optimizer) + list(model.buffers())}
    for st in optimizer.state.values():
        for v in st.values():
            if isinstance(v, np.ndarray):
                out[id(v)] = v
    return out


class _Snapshot:
    """The values of the state arrays and the parameters' gradients, to put back later."""

    def __init__(self, model, optimizer):
        self.arrays = [(a, a.copy()) for a in _arrays_of_state(model, optimizer).values()]
        self.grads = [(p, p._grad, None if p._grad is None else p._grad._data.copy())
                      for p in _params(model, optimizer)]
        self.opt_state = {k: dict(v) for k, v in optimizer.state.items()}
        self.optimizer = optimizer
        self.rng = _random.get_rng_state()  # a refused capture may have drawn numbers (dropout's mask)

    def restore(self):
        _random.set_rng_state(self.rng)
        for a, saved in self.arrays:
            np.copyto(a, saved)
        for p, g, saved in self.grads:
            p._grad = g
            if g is not None:
                np.copyto(g._data, saved)
        st = self.optimizer.state  # state entries made by the call (a fresh momentum buffer) go
        for k in list(st.keys()):
            if k not in self.opt_state:
                del st[k]
            else:
                st[k].clear()
                st[k].update(self.opt_state[k])


def _observed(model, optimizer, outputs):
    """Copies of what a step leaves behind: its outputs, the state arrays, the gradients."""
    state = [a.copy() for a in _arrays_of_state(model, optimizer).values()]
    grads = [None if p._grad is None else p._grad._data.copy() for p in _params(model, optimizer)]
    return [o.copy() for o in outputs], state, grads


def _same(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if (x is None) != (y is None):
            return False
        if x is not None and (x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes()):
            return False  # bitwise: -0.0 is not 0.0, a NaN's payload counts
    return True


def _untaped(outs, tape, inputs, model, optimizer):
    """The index of the first output whose array no recorded call touched (nor an input buffer or a state
    array): work done in NumPy outside the tape (a replay would hand back its captured value); else None."""
    known = set(_arrays_of_state(model, optimizer))
    known.update(id(b) for b in inputs if b is not None)
    for _, args, kwargs in tape.calls:
        for a in list(args) + list(kwargs.values()):
            for x in (a if isinstance(a, (list, tuple)) else (a,)):
                if isinstance(x, np.ndarray):
                    known.add(id(x))
                    if x.base is not None:
                        known.add(id(x.base))
    for i, o in enumerate(outs):
        a = o._data
        if id(a) not in known and (a.base is None or id(a.base) not in known):
            return i
    return None


class _NonZero:
    """A guard's value that compares equal to any number that is zero exactly when the captured one was
    (momentum on or off decides whether the update has buffers; its size is read when the update runs)."""

    def __init__(self, value):
        self.on = value != 0

    def __eq__(self, other):
        return (other != 0) == self.on

    def __ne__(self, other):
        return not self.__eq__(other)


class _Graph:
    """One captured step: its tape, the input buffers it reads, the outputs it writes, its guards."""

    def __init__(self, tape, inputs, outputs, single, grads, guards):
        self.tape, self.inputs, self.outputs, self.single = tape, inputs, outputs, single
        self.grads = grads        # (param, the gradient Tensor the capture left) to put back after a replay
        self.guards = guards
        self.verified = False
        self.replays = 0


class CapturedStep:
    """A training step that replays its recorded kernel calls once captured (see the module docstring).

    fn(*inputs): the step, returning a Tensor or a tuple of Tensors. model, optimizer: the Module and
    Optimizer the step trains (their parameters, buffers and state are what capture guards, and what
    the check at the first replay compares and restores)."""

    def __init__(self, fn, *, model, optimizer):
        if not callable(fn):
            raise TypeError(f"CapturedStep: fn must be callable, got {type(fn).__name__}")
        if not isinstance(model, Module):
            raise TypeError(f"CapturedStep: model must be an nn.Module, got {type(model).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"CapturedStep: optimizer must be an optim.Optimizer, got {type(optimizer).__name__}")
        self.fn, self.model, self.optimizer = fn, model, optimizer
        self._graphs = {}   # kind of input -> "warm" (seen once), a _Graph, or "eager"
        self.eager_reason = None  # why the last kind of input that fell back runs eagerly
        self.replays = 0
        # per kind of input: a tape outdated (a guard changed) before min_replays replays is a strike;
        # max_strikes in a row, and that kind of input runs eagerly for good
        self.min_replays, self.max_strikes = 8, 3
        self.max_kinds = 64  # kinds of input kept; a call of a new kind beyond them runs eagerly
        self._strikes = {}
        self._lock = threading.Lock()

    def reset(self):
        """Drops every tape (and every fallback to eager): the next calls warm up and capture again. For a
        change the guards cannot see: a Python value the step or a module reads (LeakyReLU's
        negative_slope, a variable in the step's closure) is fixed in the tape at capture."""
        with self._lock:
            self._graphs.clear()
            self._strikes.clear()
            self.eager_reason = None

    # -- keys and guards --
    @staticmethod
    def _key(args, mods):
        # each module (one replaced after a capture is not on its tape), its training flag and its hooks,
        # forward and backward (nor is a hook added or removed since: a replay runs none of them)
        key = [is_grad_enabled(), tuple([(m, m.training, (tuple(m._forward_pre_hooks), tuple(m._forward_hooks),
                                                          tuple(m._backward_pre_hooks), tuple(m._backward_hooks))
                                          if (m._forward_pre_hooks or m._forward_hooks or m._backward_pre_hooks
                                              or m._backward_hooks) else None)
                                         for m in mods])]
        for a in args:
            if isinstance(a, Tensor):
                if a.requires_grad:
                    return None  # an input that needs a gradient: the step's graph reaches outside it
                key.append(("T", a._data.shape, a._data.dtype.str))
            elif isinstance(a, np.ndarray):
                key.append(("A", a.shape, a.dtype.str))
            elif isinstance(a, float):
                key.append(("V", "float", repr(a)))  # (-0.0 is not 0.0; a NaN is one kind, not a new one each call)
            elif isinstance(a, (int, bool, str, type(None))):
                key.append(("V", type(a).__name__, a))
            else:
                return None  # anything else (a list, a custom object): no way to tell two calls apart
        return tuple(key)

    def _guards(self):
        """What a replay assumes: each parameter's and buffer's array and requires_grad, each optimizer
        state array and each hyperparameter are the ones (the values) the capture saw."""
        opt = self.optimizer
        _, params, buffers = _walk(self.model)
        tensors = _params(self.model, opt, params) + buffers
        state = [(p, k, v) for p, st in opt.state.items() for k, v in st.items() if isinstance(v, np.ndarray)]
        if opt._capture_update:  # the replayed update reads every setting when it runs
            hyper = []
        else:
            live = getattr(opt, "_capture_live_settings", ())  # read by the replayed update itself
            hyper = [(g, k, v) for g in opt.param_groups for k, v in g.items() if k != "params" and k not in live]
            hyper += [(g, "momentum", _NonZero(g["momentum"])) for g in opt.param_groups if "momentum" in live]
        groups = [(g, g["params"], list(g["params"])) for g in opt.param_groups]
        return ([(t, t._data, t.requires_grad) for t in tensors], state, hyper, groups, len(opt.state))

    def _guards_hold(self, guards, walk):
        tensors, state, hyper, groups, n_state = guards
        opt = self.optimizer
        if len(opt.state) != n_state or len(opt.param_groups) != len(groups):
            return False
        now = _params(self.model, opt, walk[1]) + walk[2]
        if len(now) != len(tensors) or any(t is not held for t, (held, _, _) in zip(now, tensors)):
            return False  # a module's Parameter or buffer replaced by another: the tape reads the old one
        for t, a, needs in tensors:
            if t._data is not a or t.requires_grad is not needs:  # (a layer frozen: no gradient, no update)
                return False
        states = opt.state
        for p, k, a in state:
            st = states.get(p)
            if st is None or st.get(k) is not a:
                return False
        for g, k, v in hyper:
            now = g.get(k)
            if now is not v and now != v:
                return False
        for (g, params, members), now in zip(groups, opt.param_groups):
            if now is not g or g["params"] is not params or len(params) != len(members):
                return False
            for p, q in zip(params, members):
                if p is not q:
                    return False
        return True

    # -- the call --
    def __call__(self, *args):
        with self._lock:
            walk = _walk(self.model)
            key = self._key(args, walk[0])
            entry = self._graphs.get(key) if key is not None else "eager"
            if entry is None:
                if len(self._graphs) < self.max_kinds:  # (a float argument new each call: no table growth)
                    self._graphs[key] = "warm"
                return self.fn(*args)
            if entry == "eager":
                return self.fn(*args)
            if entry == "warm" or not self._guards_hold(entry.guards, walk):
                if entry != "warm":  # a tape outdated before it replayed a few times is a strike
                    strikes = self._strikes.get(key, 0) + 1 if entry.replays < self.min_replays else 0
                    self._strikes[key] = strikes
                    if strikes >= self.max_strikes:  # the guards change every few calls (an lr set per step)
                        self._graphs[key] = "eager"
                        self.eager_reason = (f"captured again {strikes} times in a row before {self.min_replays} "
                                             "replays (the parameters, optimizer state or hyperparameters keep "
                                             "changing)")
                        return self.fn(*args)
                return self._capture(key, args)
            if not entry.verified:
                return self._verify(key, entry, args)
            return self._replay(entry, args)

    def _replay(self, graph, args):
        for buf, a in zip(graph.inputs, args):
            if buf is not None:
                np.copyto(buf, getattr(a, "_data", a))
        graph.tape.replay()
        for p, g in graph.grads:
            p._grad = g
        self.replays += 1
        graph.replays += 1
        outs = tuple(Tensor(o.copy()) for o in graph.outputs)
        return outs[0] if graph.single else outs

    def _capture(self, key, args):
        inputs, call_args = [], []
        for a in args:
            if isinstance(a, Tensor) or isinstance(a, np.ndarray):
                buf = np.array(getattr(a, "_data", a), copy=True, order="C")
                inputs.append(buf)
                call_args.append(Tensor(buf) if isinstance(a, Tensor) else buf)
            else:
                inputs.append(None)
                call_args.append(a)
        saved = _Snapshot(self.model, self.optimizer)
        tape = _Tape()
        tape.optimizer = self.optimizer
        with _patch_lock:
            if ACTIVE[0] is not None:
                raise RuntimeError("CapturedStep: another step is being captured (captures do not nest)")
            originals = _patch_kernels()
            ACTIVE[0] = tape
            try:
                result = self.fn(*call_args)
            except CaptureError as e:
                failure = e
            else:
                failure = None
            finally:
                ACTIVE[0] = None
                _unpatch_kernels(originals)
        if failure is None:
            single = isinstance(result, Tensor)
            outs = (result,) if single else result
            if not isinstance(outs, tuple) or not all(isinstance(o, Tensor) for o in outs):
                # the step ran to its end (a capture is an eager run): its effects stand, it must not run twice
                self._graphs[key] = "eager"
                self.eager_reason = ("the step must return a Tensor or a tuple of Tensors, got "
                                     f"{type(result).__name__}")
                return result
            stray = _untaped(outs, tape, inputs, self.model, self.optimizer)
            if stray is not None:
                failure = CaptureError(f"output {stray} of the step was computed outside the tape (argmax, a "
                                       "comparison, count_nonzero, a Tensor made from a number): a replay would "
                                       "return the captured batch's value")
        if failure is not None:
            saved.restore()
            if getattr(failure, "transient", False):  # (an optimizer's first step): the next call tries again
                self._graphs[key] = "warm"
            else:
                self._graphs[key] = "eager"
                self.eager_reason = str(failure)
            return self.fn(*args)
        tape.freeze()
        grads = [(p, p._grad) for p in _params(self.model, self.optimizer)]
        self._graphs[key] = _Graph(tape, inputs, [o._data for o in outs], single, grads, self._guards())
        copies = tuple(Tensor(o._data.copy()) for o in outs)  # (the tape's arrays: each replay rewrites them)
        return copies[0] if single else copies

    def _verify(self, key, graph, args):
        """The first replay of a tape: the call runs eagerly and by replay from the same state; the two
        must agree bitwise, else this kind of input runs eagerly from now on."""
        saved = _Snapshot(self.model, self.optimizer)
        eager = self.fn(*args)
        outs = (eager,) if graph.single else tuple(eager)
        want = _observed(self.model, self.optimizer, [o._data for o in outs])
        after_eager = _Snapshot(self.model, self.optimizer)
        saved.restore()
        self._replay(graph, args)
        self.replays -= 1
        got = _observed(self.model, self.optimizer, graph.outputs)
        if all(_same(w, g) for w, g in zip(want, got)):
            graph.verified = True
            return eager
        after_eager.restore()
        self._graphs[key] = "eager"
        self.eager_reason = "the replayed step differed from the eager one (an op's work was not on the tape)"
        warnings.warn(f"CapturedStep: {self.eager_reason}; this kind of input runs eagerly", RuntimeWarning,
                      stacklevel=3)
        return eager
