"""Optimizers with PyTorch's update rules, updating p.data in place. SGD, Adam and AdamW run one fused
C++ pass per parameter (firstepoch.ops.optim; firstepoch.reference.optim has the same formulas in
NumPy); RMSprop and Adagrad are vectorised NumPy.

Parameter groups: pass a list of dicts ({"params": [...], "lr": ..., "weight_decay": ...}); each
group's settings override the defaults (per-layer learning rates or regularisation).

As PyTorch's: every optimizer takes maximize=False (True ascends: the gradient's sign is flipped before
the update, the gradient itself left alone), and step(closure=None) calls the closure under
enable_grad() first and returns its loss. Deliberate difference (README, "Porting from PyTorch"):
foreach, fused, capturable and differentiable are not taken, and the state's step is an int.
"""
import math
import numbers
from collections import defaultdict

import numpy as np

from ..autograd.function import CaptureError, bump_version, capture_record, capture_tape
from ..autograd.grad_mode import enable_grad
from ..ops import optim as _ops


class Optimizer:
    defaults = {}
    # settings added after state dicts were first saved: a saved group without one takes this value
    # (torch's __setstate__ does the same with setdefault)
    _later_settings = {"maximize": False}

    def __init__(self, params, **defaults):
        self.defaults = dict(defaults)
        if hasattr(params, "data") and hasattr(params, "grad"):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, got a "
                            f"single {type(params).__name__} (wrap it in a list)")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups = []
        self.state = defaultdict(dict)  # param -> dict of arrays and numbers, as torch's (Tensors hash by identity)
        for g in groups:
            self.add_param_group(g)

    # settings whose name the shared checks below know but whose meaning differs here (ASGD's alpha may be
    # negative, Adafactor's eps is a pair): the optimizer's own __init__ checks them, as torch's
    _own_checks = frozenset()

    def _validate(self, g):
        """PyTorch's range checks on the hyperparameters every optimizer shares."""
        name = type(self).__name__
        for key in ("lr", "eps", "momentum", "weight_decay", "alpha", "lr_decay", "initial_accumulator_value"):
            if key in g and key not in self._own_checks and not g[key] >= 0:
                raise ValueError(f"{name}: {key} must be >= 0, got {g[key]}")
        if "betas" in g:
            b = g["betas"]
            if len(b) != 2 or not all(0 <= v < 1 for v in b):
                raise ValueError(f"{name}: betas must be two values in [0, 1), got {b}")
        for p in g["params"]:
            if not hasattr(p, "_data") or getattr(p._data, "dtype", np.dtype(object)).kind != "f":
                raise TypeError(f"{name}: parameters must be floating-point Tensors, got "
                                f"{type(p).__name__} {getattr(getattr(p, 'data', None), 'dtype', '')}")

    def add_param_group(self, param_group):
        """Adds a group (a dict with 'params'; its settings default to this optimizer's), as PyTorch: the
        dict itself is completed and appended; params may be (name, tensor) pairs (named_parameters()),
        whose names go to the group's 'param_names'; keys no optimizer reads are kept. A non-leaf tensor
        is a ValueError, a set of parameters a TypeError, a parameter already in a group a ValueError.
        Deliberate differences (README): a parameter twice in this group is a ValueError (PyTorch warns,
        then updates it twice a step), and parameters must be floating-point (TypeError)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if hasattr(params, "_data") and hasattr(params, "grad"):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        g = {**param_group, "params": params}
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            g["param_names"] = names
        for k, v in self.defaults.items():
            g.setdefault(k, v)
        self._validate(g)
        for p in params:
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{name}: a parameter group holds a parameter more than once")
        held = {id(p) for grp in self.param_groups for p in grp["params"]}
        if held.intersection(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        param_group.clear()
        param_group.update(g)
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none or p._grad is None:
                    p._grad = None
                else:
                    capture_record(p._grad._data.fill, 0)

    def step(self, closure=None):
        """One update of every parameter with a gradient. closure (optional) re-evaluates the model and
        returns the loss: it is called first, under enable_grad(), and its loss is returned (else None)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._step()
        return loss

    @staticmethod
    def _ascent(grad, group):
        """The gradient the update uses: negated (a new array) when the group maximizes."""
        if not group.get("maximize"):
            return grad
        # out=: `-grad` of a 0-d array is a NumPy scalar, which the kernels and Rprop's masks cannot take
        return np.negative(grad, out=np.empty_like(grad))

    # firstepoch.capture: True where _update(w, grad, state, group) depends on nothing else, so a captured
    # step may replay it whole (the Python update runs again, reading the group's settings and the
    # state as they are then: Adam's step count, an lr scheduler's lr)
    _capture_update = False

    def _step(self):
        tape = capture_tape()
        if tape is not None and not self._capture_update:
            raise _capture_error(f"{type(self).__name__}.step cannot be captured")
        if tape is not None:
            self._refuse_foreign(tape)
        state = self.state
        update = self._update
        for g in self.param_groups:
            for p in g["params"]:
                grad = p._grad
                if grad is None:
                    continue
                grad = grad._data
                if tape is not None:  # on the tape: the whole update of p, and p's version bump
                    tape.record_opaque(self._update_param, p, grad, state[p], g)
                    tape.bumps_ok = True
                    try:
                        bump_version(p)
                    finally:
                        tape.bumps_ok = False
                    continue
                w = self._checked(p, grad)
                grad = self._ascent(grad, g)
                st = state[p]
                update(w, grad, st, g)
                bump_version(p)  # changed in place: a graph that saved p before this step refuses to backward

    def _refuse_foreign(self, tape):
        """CaptureError unless this is the optimizer the step is captured with: another one's state is
        outside what CapturedStep saves, guards and restores."""
        if tape.optimizer is not self:
            raise _capture_error(f"{type(self).__name__}.step: an optimizer other than the CapturedStep's "
                                 "optimizer= cannot be captured")

    def _update_param(self, p, grad, state, group):
        """One parameter's update, as _step makes it (what a captured step replays)."""
        self._update(self._checked(p, grad), self._ascent(grad, group), state, group)

    def _checked(self, p, grad):
        """p's array, once its gradient has its dtype and shape (else a TypeError naming both)."""
        w = p._data
        if grad.dtype != w.dtype or grad.shape != w.shape:
            raise TypeError(f"{type(self).__name__}: gradient {grad.dtype} {grad.shape} does not match the "
                            f"parameter's {w.dtype} {w.shape}")
        return w

    def _update(self, w, grad, state, group):
        raise NotImplementedError

    # ---- state -------------------------------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {name: array or number}}, 'param_groups': [settings with 'params': indices]}."""
        index = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v) for k, v in st.items()}
                 for p, st in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def check_state_dict(self, sd):
        """The state dict `sd` checked against this optimizer, changing nothing: a ValueError names what
        does not fit (the number of groups, or of parameters in a group; a group's settings, which must be
        the same keys with values of the same kinds; state for a parameter no group holds; arrays of
        another shape or dtype than their parameter). Returns (state by parameter, groups' settings), with
        JSON's lists turned back into tuples where the setting is one (Adam's betas)."""
        groups = sd["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"load_state_dict: {len(groups)} parameter groups saved, this optimizer has "
                             f"{len(self.param_groups)}")
        params, settings = {}, []
        for i, (saved, g) in enumerate(zip(groups, self.param_groups)):
            # every setting of this optimizer is saved; a saved key it lacks (a scheduler's initial_lr) is
            # taken over, as PyTorch does
            saved = {**{k: v for k, v in self._later_settings.items() if k in self.defaults}, **saved}
            if not set(self.defaults) | {"params"} <= set(saved):
                raise ValueError(f"load_state_dict: group {i} has settings {sorted(saved)}, this optimizer's has "
                                 f"{sorted(g)}")
            if len(saved["params"]) != len(g["params"]):
                raise ValueError(f"load_state_dict: group {i} holds {len(saved['params'])} parameters, this "
                                 f"optimizer's {len(g['params'])}")
            for k, v in saved.items():
                if k != "params" and k in g and not _same_kind(v, g[k]):
                    raise ValueError(f"load_state_dict: group {i} setting {k!r} is {v!r:.60}, this optimizer's is "
                                     f"{g[k]!r:.60}")
            settings.append({k: tuple(v) if isinstance(g.get(k), tuple) else v for k, v in saved.items() if k != "params"})
            params.update(zip(saved["params"], g["params"]))
        state = {}
        for idx, st in sd["state"].items():
            p = params.get(int(idx)) if str(idx).isdigit() else None
            if p is None:
                raise ValueError(f"load_state_dict: state for parameter {idx}, which no parameter group holds")
            for k, v in st.items():
                if isinstance(v, np.ndarray) and v.shape != p._data.shape:
                    raise ValueError(f"load_state_dict: state '{k}' of parameter {idx} has shape {v.shape}, "
                                     f"the parameter has {p._data.shape}")
                if isinstance(v, np.ndarray) and v.dtype != p._data.dtype and v.dtype.kind not in "biuf":
                    raise ValueError(f"load_state_dict: state '{k}' of parameter {idx} is {v.dtype}, not a "
                                     f"number type that can be cast to the parameter's {p._data.dtype}")
            state[p] = st
        return state, settings

    def load_state_dict(self, sd):
        """Loads a state_dict(); everything is checked first (check_state_dict), so a refused one changes
        nothing. The arrays and NumPy scalars (in lists too) but 'step' are copied in the parameter's
        dtype, as torch's load_state_dict casts its state tensors (NAdam's float32 mu_product becomes
        float64 for a float64 parameter; a float64 exp_avg saved by a float64 run, float32 for a float32
        one)."""
        state, settings = self.check_state_dict(sd)
        self.state = defaultdict(dict, {p: {k: (v if k == "step" else _in_dtype(v, p._data.dtype))
                                               for k, v in st.items()} for p, st in state.items()})
        for saved, g in zip(settings, self.param_groups):
            g.update(saved)


def _in_dtype(v, dtype):
    """A state value as load_state_dict keeps it: an array copied in dtype (check_state_dict saw it holds
    numbers), a NumPy number in dtype (also inside lists and tuples), anything else (Python numbers,
    None) as it is, as torch leaves what is no Tensor."""
    if isinstance(v, np.ndarray):
        return v.astype(dtype)  # a copy, also where the dtype is already dtype
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":
        return dtype.type(v)
    if isinstance(v, (list, tuple)):
        return type(v)(_in_dtype(a, dtype) for a in v)
    return v


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _same_kind(saved, current):
    """Whether a saved setting (perhaps read back from JSON) can stand for the current one: a finite
    number for a number, a list or tuple of the same length for a tuple, the same type otherwise."""
    if isinstance(current, bool) or current is None or isinstance(current, str):
        return type(saved) is type(current)
    if _is_number(current):
        return _is_number(saved) and math.isfinite(saved)
    if isinstance(current, (tuple, list)):
        return (isinstance(saved, (list, tuple)) and len(saved) == len(current)
                and all(_same_kind(s, c) for s, c in zip(saved, current)))
    return False


def _sgd_group_update(ws, grads, bufs, g):
    """SGD's update of one group's parameters (momentum buffers made already), with the group's settings
    as they are now: what a captured step (firstepoch.capture) replays."""
    _ops.sgd_update_many(ws, grads, bufs, g["lr"], g["momentum"], g["dampening"], g["weight_decay"], g["nesterov"])


def _capture_error(why, transient=False):
    e = CaptureError(why)
    e.transient = transient  # True: only this call cannot be captured
    return e


class SGD(Optimizer):
    """v = momentum * v + (1 - dampening) * (g + wd * w);  w -= lr * (g + momentum * v if nesterov else v)."""

    # firstepoch.capture: a replayed step's update reads these from the group when it runs
    _capture_live_settings = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening == 0")
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                         nesterov=nesterov, maximize=maximize)

    def _step(self):
        """Each group's parameters in one fused kernel call (ops.optim.sgd_update_many): every gradient
        is checked before the group's first update, so a refused step changes nothing in that group."""
        if type(self)._update is not SGD._update:  # a subclass with its own rule: one call per parameter
            return super()._step()
        state = self.state
        for g in self.param_groups:
            params, ws, grads = [], [], []
            for p in g["params"]:
                grad = p._grad
                if grad is None:
                    continue
                grad = grad._data
                w = self._checked(p, grad)
                params.append(p)
                ws.append(w)
                grads.append(self._ascent(grad, g))
            if not params:
                continue
            m = g["momentum"]
            bufs = [] if m != 0 else None
            first = []
            fresh = []  # the momentum buffers made here: kept only if the kernel takes the step
            for p, w in zip(params, ws):
                buf = state[p].get("momentum_buffer") if m != 0 else None
                first.append(m != 0 and buf is None)
                if first[-1]:
                    buf = np.empty_like(w)
                    fresh.append((p, buf))
                if m != 0:
                    bufs.append(buf)
            tape = capture_tape()
            if tape is not None:  # on the tape: the update reading the group's settings when it runs (an lr
                # scheduler's changes reach a replay), and the version bumps
                if any(first):  # the next call captures it
                    raise _capture_error("SGD.step: the first step with momentum makes the momentum buffers",
                                         transient=True)
                self._refuse_foreign(tape)
                if g.get("maximize") or not all(a.flags.c_contiguous for a in grads):
                    raise _capture_error("SGD.step: maximize=True or a strided gradient cannot be captured")
                tape.record_opaque(_sgd_group_update, ws, grads, bufs, g)
                tape.bumps_ok = True
                try:
                    for p in params:
                        bump_version(p)
                finally:
                    tape.bumps_ok = False
                continue
            _ops.sgd_update_many(ws, grads, bufs, g["lr"], m, g["dampening"], g["weight_decay"], g["nesterov"], first)
            for p in params:
                bump_version(p)
            for p, buf in fresh:
                state[p]["momentum_buffer"] = buf

    def _update(self, w, grad, state, g):
        m = g["momentum"]
        first = False
        buf = None
        if m != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = np.empty_like(w)
                first = True
        _ops.sgd_update(w, grad, buf, g["lr"], m, g["dampening"], g["weight_decay"], g["nesterov"], first)
        if first:  # kept only once the kernel took the step (a refused one leaves no unwritten buffer)
            state["momentum_buffer"] = buf


class Adam(Optimizer):
    """Adam with bias correction (and AMSGrad optionally); weight_decay is L2 added to the gradient, or
    with decoupled_weight_decay=True (torch 2.13) AdamW's w *= 1 - lr * wd."""

    _capture_update = True  # firstepoch.capture replays _update whole (see Optimizer._step)

    _later_settings = {"maximize": False, "decoupled_weight_decay": False}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)

    def _update(self, w, grad, state, g):
        b1, b2 = g["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(w)
            state["exp_avg_sq"] = np.zeros_like(w)
            if g["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(w)
        state["step"] += 1
        _ops.adam_update(w, grad, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
                         lr=g["lr"], beta1=b1, beta2=b2, eps=g["eps"], weight_decay=g["weight_decay"],
                         step=state["step"], decoupled=g["decoupled_weight_decay"])


class AdamW(Adam):
    """Adam with decoupled weight decay: w *= 1 - lr * wd before the Adam step (default wd 0.01)."""

    _later_settings = {"maximize": False, "decoupled_weight_decay": True}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """v = alpha v + (1 - alpha) g^2; centered subtracts the mean's square; momentum optional."""

    _capture_update = True  # firstepoch.capture replays _update whole (see Optimizer._step)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered, maximize=maximize)

    def _update(self, w, grad, state, g):
        if g["weight_decay"] != 0:
            grad = grad + g["weight_decay"] * w
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(w)
            if g["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(w)
            if g["centered"]:
                state["grad_avg"] = np.zeros_like(w)
        state["step"] += 1
        a = g["alpha"]
        sq = state["square_avg"]
        sq *= a
        sq += (1 - a) * grad * grad
        if g["centered"]:
            ga = state["grad_avg"]
            ga *= a
            ga += (1 - a) * grad
            avg = np.sqrt(sq - ga * ga) + g["eps"]
        else:
            avg = np.sqrt(sq) + g["eps"]
        if g["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= g["momentum"]
            buf += grad / avg
            w -= w.dtype.type(g["lr"]) * buf
        else:
            w -= g["lr"] * grad / avg


class Adagrad(Optimizer):
    """sum += g^2; w -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)."""

    _capture_update = True  # firstepoch.capture replays _update whole (see Optimizer._step)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, *,
                 maximize=False):
        super().__init__(params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)

    def _update(self, w, grad, state, g):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(w, g["initial_accumulator_value"])
        state["step"] += 1
        if g["weight_decay"] != 0:
            grad = grad + g["weight_decay"] * w
        clr = g["lr"] / (1 + (state["step"] - 1) * g["lr_decay"])
        state["sum"] += grad * grad
        w -= clr * grad / (np.sqrt(state["sum"]) + g["eps"])


class Adadelta(Optimizer):
    """PyTorch's Adadelta (lr=1.0 scales the step, as torch): v = rho v + (1 - rho) g^2;
    delta = sqrt(u + eps) / sqrt(v + eps) * g; u = rho u + (1 - rho) delta^2; w -= lr * delta.
    weight_decay is L2 added to the gradient."""

    _capture_update = True  # firstepoch.capture replays _update whole (see Optimizer._step)

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: rho must be in [0, 1], got {rho}")
        super().__init__(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)

    def _update(self, w, grad, state, g):
        _next_step(state, w, "square_avg", "acc_delta")
        rho, eps = g["rho"], g["eps"]
        if g["weight_decay"] != 0:
            grad = grad + g["weight_decay"] * w
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        w -= g["lr"] * delta


# ---- Adamax, NAdam, RAdam (PyTorch's single-tensor update rules, in NumPy) ---------------------------

def _next_step(state, w, *buffers, **scalars):
    """Advances a parameter's step count and returns it; on the first step the state is made first:
    step, the scalars, then each buffer zeros like w (torch's order of the state's keys)."""
    if not state:
        state["step"] = 0
        state.update(scalars)
        for name in buffers:
            state[name] = np.zeros_like(w)
    state["step"] += 1
    return state["step"]


def _l2_or_decoupled(w, grad, g, decoupled):
    """weight_decay as L2 added to the gradient, or (decoupled) w *= 1 - lr * wd before the step."""
    wd = g["weight_decay"]
    if wd != 0:
        if decoupled:
            w *= w.dtype.type(1 - g["lr"] * wd)
        else:
            grad = grad + w.dtype.type(wd) * w
    return grad


class Adamax(Optimizer):
    """Adam with the infinity norm: m = b1 m + (1 - b1) g; u = max(b2 u, |g| + eps);
    w -= lr / (1 - b1^t) * m / u. weight_decay is L2 added to the gradient."""

    _capture_update = True  # firstepoch.capture replays _update whole (see Optimizer._step)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, maximize=False):
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)

    def _update(self, w, grad, state, g):
        b1, b2 = g["betas"]
        _next_step(state, w, "exp_avg", "exp_inf")
        grad = _l2_or_decoupled(w, grad, g, False)
        m, u = state["exp_avg"], state["exp_inf"]
        m += w.dtype.type(1 - b1) * (grad - m)
        u *= w.dtype.type(b2)
        np.maximum(u, np.abs(grad) + w.dtype.type(g["eps"]), out=u)
        w += w.dtype.type(-g["lr"] / (1 - b1 ** state["step"])) * m / u  # torch's addcdiv: (value * m) / u


class NAdam(Optimizer):
    """Adam with Nesterov momentum and the momentum schedule mu_t = b1 (1 - 0.96^(t psi) / 2)
    (psi = momentum_decay); decoupled_weight_decay=True decays w as AdamW. The running product of the
    mu_t (state 'mu_product') starts as a float32 scalar whatever the parameter's dtype, as PyTorch's under
    its default dtype float32 (firstepoch's only default), and keeps the dtype it has: load_state_dict
    casts it to the parameter's, as PyTorch's does (a Python float, as fe.save writes it, is taken as the
    parameter's dtype). So float64 trajectories, resumed or not,
    agree with PyTorch's to the last bits."""

    _capture_update = True  # firstepoch.capture replays _update whole (see Optimizer._step)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        if not momentum_decay >= 0:
            raise ValueError(f"NAdam: momentum_decay must be >= 0, got {momentum_decay}")
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                         momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                         maximize=maximize)

    def _update(self, w, grad, state, g):
        b1, b2 = g["betas"]
        t = _next_step(state, w, "exp_avg", "exp_avg_sq", mu_product=np.float32(1.0))
        lr, psi, f = g["lr"], g["momentum_decay"], w.dtype.type
        grad = _l2_or_decoupled(w, grad, g, g["decoupled_weight_decay"])
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        mp = state["mu_product"]
        # a Python float was a NumPy scalar before fe.save: torch's load would cast its tensor to w's dtype
        mp_type = mp.dtype.type if isinstance(mp, np.generic) else f
        state["mu_product"] = mp_type(mp * mp_type(mu))
        mu_product = float(state["mu_product"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += f(1 - b1) * (grad - m)
        v *= f(b2)
        v += f(1 - b2) * grad * grad
        denom = np.sqrt(v / f(1 - b2 ** t))
        denom += f(g["eps"])
        w += f(-lr * (1.0 - mu) / (1.0 - mu_product)) * grad / denom  # torch's addcdiv: (value * a) / b
        w += f(-lr * mu_next / (1.0 - mu_product * mu_next)) * m / denom


class RAdam(Optimizer):
    """Rectified Adam: the adaptive step only once the variance estimate is tractable (rho_t > 5), a
    plain bias-corrected momentum step before; decoupled_weight_decay=True decays w as AdamW."""

    _capture_update = True  # firstepoch.capture replays _update whole (see Optimizer._step)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                         decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)

    def _update(self, w, grad, state, g):
        b1, b2 = g["betas"]
        t = _next_step(state, w, "exp_avg", "exp_avg_sq")
        lr, f = g["lr"], w.dtype.type
        grad = _l2_or_decoupled(w, grad, g, g["decoupled_weight_decay"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += f(1 - b1) * (grad - m)
        v *= f(b2)
        v += f(1 - b2) * grad * grad
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        m_hat = m / f(bc1)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = f(bc2 ** 0.5) / (np.sqrt(v) + f(g["eps"]))
            w -= m_hat * f(lr) * adaptive * f(rect)
        else:
            w -= m_hat * f(lr)


# ---- ASGD, Adafactor, SparseAdam (PyTorch's single-tensor update rules, in NumPy) -------------------

def _kept_type(value, f):
    """The type a state scalar keeps: its own NumPy dtype, or f (the parameter's) for a Python number
    (fe.save writes NumPy scalars as plain numbers; torch's load would cast its tensor to the
    parameter's dtype)."""
    return value.dtype.type if isinstance(value, np.generic) else f


class ASGD(Optimizer):
    """Averaged SGD, PyTorch's rule and defaults: g += weight_decay * w; w *= 1 - lambd * eta;
    w -= eta * g; the average of the iterates ax follows w (ax = w while mu == 1, that is until step t0;
    then ax += mu * (w - ax)); then eta = lr / (1 + lambd * lr * t)^alpha and mu = 1 / max(1, t - t0).
    The state holds step, eta, mu and ax, as torch's (step an int); eta and mu are float32 scalars, as
    torch's 0-d tensors under its default dtype float32 (firstepoch's only default), and keep the dtype
    they have: load_state_dict casts them to the parameter's, as torch's does (their new values are still
    rounded to float32 each step, as torch's). So float64 trajectories, resumed or not, follow torch's.
    alpha is not range-checked (torch takes any)."""

    _own_checks = frozenset({"alpha"})

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, *, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                         maximize=maximize)

    def _update(self, w, grad, state, g):
        lr, lambd, f = g["lr"], g["lambd"], w.dtype.type
        t = _next_step(state, w, "ax", eta=np.float32(lr), mu=np.float32(1.0))
        if g["weight_decay"] != 0:
            grad = grad + f(g["weight_decay"]) * w
        eta = float(state["eta"])
        w *= f(1 - lambd * eta)
        w += f(-eta) * grad
        mu, ax = state["mu"], state["ax"]
        if float(mu) != 1:
            ax += (w - ax) * _kept_type(mu, f)(mu)
        else:
            ax[...] = w
        # torch makes each new value a float32 tensor (torch.as_tensor of a float), then copies it into the
        # state's: rounded to float32 even where load_state_dict made the state float64
        state["eta"] = _kept_type(state["eta"], f)(np.float32(lr / ((1 + lambd * lr * t) ** g["alpha"])))
        state["mu"] = _kept_type(mu, f)(np.float32(1 / max(1, t - g["t0"])))


def _lerp(a, end, weight):
    """a.lerp_(end, weight) in place, as torch computes it: a + weight * (end - a) for |weight| < 0.5,
    else end - (end - a) * (1 - weight)."""
    f = a.dtype.type
    if abs(weight) < 0.5:
        a += f(weight) * (end - a)
    else:
        a[...] = end - (end - a) * f(1 - weight)


def _rms(a):
    """||a||_2 / sqrt(numel) as a Python float (torch's a.norm(2).item() / a.numel() ** 0.5)."""
    return float(np.sqrt(np.sum(np.square(a, dtype=a.dtype)))) / (a.size ** 0.5)


class Adafactor(Optimizer):
    """Adafactor as torch 2.5+ implements it (its defaults; lr caps the relative step size and scales the
    decoupled weight decay): beta2_t = 1 - t^beta2_decay; rho = min(lr, 1 / sqrt(t));
    alpha = max(eps2, RMS(w)) * rho; w *= 1 - lr * weight_decay. A parameter of 2 or more dims keeps the
    second moment factored over its last two dims, row_var (..., n, 1) and col_var (..., 1, m), the
    running means of g^2 along each (V = row_var col_var / max(mean of row_var, eps1)); a vector or 0-d
    one keeps the whole variance. U = g / sqrt(max(V, eps1^2)); w -= alpha / max(1, RMS(U) / d) * U.
    eps = (eps1, eps2), eps1 None: the machine epsilon of the group's first parameter stepped (torch
    keeps it for the rest of the group). The state holds step (an int), then row_var and col_var or
    variance, as torch's. A parameter with no elements raises ZeroDivisionError, as torch's."""

    _own_checks = frozenset({"eps"})

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        super().__init__(params, lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d, weight_decay=weight_decay,
                         maximize=maximize)

    def _step(self):
        self._eps1 = {}  # group id -> eps1, once a parameter of the group has stepped (torch's loop variable)
        super()._step()

    def _update(self, w, grad, state, g):
        f = w.dtype.type
        if not state:
            state["step"] = 0
            if w.ndim > 1:
                state["row_var"] = np.zeros(w.shape[:-1] + (1,), w.dtype)
                state["col_var"] = np.zeros(w.shape[:-2] + (1,) + w.shape[-1:], w.dtype)
            else:
                state["variance"] = np.zeros_like(w)
        state["step"] += 1
        t = float(state["step"])
        eps1 = self._eps1.setdefault(id(g), g["eps"][0] if g["eps"][0] is not None else float(np.finfo(w.dtype).eps))
        lr = g["lr"]
        beta = t ** g["beta2_decay"]
        rho = min(lr, 1 / (t ** 0.5))
        alpha = max(g["eps"][1], _rms(w)) * rho
        if g["weight_decay"] != 0:
            w *= f(1 - lr * g["weight_decay"])
        if w.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            sq = np.square(grad)
            # torch's norm(dim).square_().div_(size): the mean of g^2 along the dim
            _lerp(row_var, np.square(np.sqrt(sq.sum(axis=-1, keepdims=True))) / f(grad.shape[-1]), beta)
            _lerp(col_var, np.square(np.sqrt(sq.sum(axis=-2, keepdims=True))) / f(grad.shape[-2]), beta)
            var = np.matmul(row_var, col_var)
            var /= np.maximum(row_var.mean(axis=-2, keepdims=True), f(eps1))
        else:
            _lerp(state["variance"], grad * grad, beta)
            var = state["variance"].copy()
        update = 1 / np.sqrt(np.maximum(var, f(eps1 * eps1)))
        update *= grad
        denom = max(1.0, _rms(update) / g["d"])
        w += f(-alpha / denom) * update

    def check_state_dict(self, sd):
        """As Optimizer's; row_var and col_var have the factored shapes: the parameter's with the last dim
        1, and with the last-but-one dim 1."""
        factored = ("row_var", "col_var")
        rest = {idx: {k: v for k, v in st.items() if k not in factored} for idx, st in sd["state"].items()}
        state, settings = super().check_state_dict({**sd, "state": rest})
        for (idx, st), p in zip(sd["state"].items(), state):
            shape = p._data.shape
            want = {"row_var": shape[:-1] + (1,), "col_var": shape[:-2] + (1,) + shape[-1:]}
            for k in factored:
                if k not in st:
                    continue
                v = st[k]
                if len(shape) < 2 or not isinstance(v, np.ndarray) or v.shape != want[k] or v.dtype.kind not in "biuf":
                    raise ValueError(f"load_state_dict: state '{k}' of parameter {idx} is "
                                     f"{getattr(v, 'dtype', type(v).__name__)} {getattr(v, 'shape', '')}, expected "
                                     f"numbers of shape {want[k] if len(shape) >= 2 else '(none: a parameter of < 2 dims)'}")
            state[p] = dict(st)
        return state, settings


class SparseAdam(Optimizer):
    """PyTorch's SparseAdam: Adam on the rows of a parameter its gradient holds, the other rows and their
    moments left as they are; the bias corrections use the parameter's step count.

    Deliberate difference (README, "Porting from PyTorch"): firstepoch has no sparse gradients
    (Embedding(sparse=True) gives the same gradient, dense), so the rows a step updates are the rows
    (along dim 0; all of a 0-d parameter) whose gradient has a nonzero entry. That is the rows torch's
    sparse gradient lists for a sparse Embedding, except a row that was looked up and got an exactly
    zero gradient: torch's step decays its moments and moves it, here it is left alone. torch refuses a
    dense gradient (RuntimeError); here any gradient is taken, and its all-zero rows are skipped."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, maximize=maximize)

    def _update(self, w, grad, state, g):
        b1, b2 = g["betas"]
        t = _next_step(state, w, "exp_avg", "exp_avg_sq")
        f = w.dtype.type
        if w.ndim == 0:
            idx = ()
            if grad == 0:
                return
        else:
            rows = np.any(grad.reshape(grad.shape[0], int(np.prod(grad.shape[1:]))) != 0, axis=1)
            if not rows.any():  # torch: "Skip update for empty grad" (the step is still counted)
                return
            idx = (rows,)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        gr, m_old, v_old = grad[idx], m[idx], v[idx]
        m_upd = (gr - m_old) * f(1 - b1)
        m[idx] = m_old + m_upd
        v_upd = (gr * gr - v_old) * f(1 - b2)
        v[idx] = v_old + v_upd
        numer = m_upd + m_old
        denom = np.sqrt(v_upd + v_old) + f(g["eps"])
        step_size = g["lr"] * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w[idx] = w[idx] + f(-step_size) * (numer / denom)


# ---- Rprop and LBFGS (PyTorch's algorithms, in NumPy: not hot paths) --------------------------------

class Rprop(Optimizer):
    """Resilient backpropagation: each weight's step size grows by etas[1] while its gradient keeps its
    sign and shrinks by etas[0] when the sign flips (that step then skips the weight and forgets its
    gradient), clamped to step_sizes = (min, max); w -= sign(g) * step_size. PyTorch's rule and defaults."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, maximize=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)

    def _update(self, w, grad, state, g):
        if not state:  # torch's order of the state's keys
            state["step"] = 0
            state["prev"] = np.zeros_like(w)
            state["step_size"] = np.full_like(w, g["lr"])
        state["step"] += 1
        etaminus, etaplus = g["etas"]
        lo, hi = g["step_sizes"]
        prev, step_size = state["prev"], state["step_size"]
        sign = np.sign(grad * prev, out=np.empty_like(w))  # out=: an array (masks below) for a 0-d w too
        sign[sign > 0] = etaplus
        sign[sign < 0] = etaminus
        sign[sign == 0] = 1
        step_size *= sign
        np.clip(step_size, lo, hi, out=step_size)
        grad = grad.copy()
        grad[sign == sign.dtype.type(etaminus)] = 0  # a flipped sign: no step, and no memory of it
        w -= np.sign(grad) * step_size
        prev[...] = grad


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to bounds (default: the
    interval between x1 and x2); their middle when the cubic has none (torch's lbfgs._cubic_interpolate)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A line search along d from step t satisfying the strong Wolfe conditions (bracketing, then
    zooming with cubic interpolation): torch's lbfgs._strong_wolfe, step for step. Returns
    (f_new, g_new, t, function evaluations)."""
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:  # reached the most evaluations
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    # zoom until a point satisfies the conditions or the bracket is tiny
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # too close to a bracket end: step away from it (once progress has stalled, or t is outside)
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    """L-BFGS, PyTorch's algorithm and defaults (after minFunc): up to max_iter iterations per step, each
    a two-loop recursion over the last history_size curvature pairs, then a fixed step lr (the first
    one scaled by min(1, 1 / |g|_1)) or a strong-Wolfe line search (line_search_fn="strong_wolfe").
    step(closure) is required: the closure re-evaluates the model, calls backward and returns the loss.
    One parameter group only (ValueError), as torch. The state (under the first parameter) holds flat
    vectors over all parameters and lists of them; state_dict() copies them."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                         tolerance_change=tolerance_change, history_size=history_size,
                         line_search_fn=line_search_fn)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if getattr(self, "_params", None) is not None:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _gather_flat_grad(self):
        return np.concatenate([np.zeros(p._data.size, p._data.dtype) if p._grad is None else p._grad._data.ravel()
                               for p in self._params])

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._params:
            w = p._data
            w += step_size * update[offset:offset + w.size].reshape(w.shape)
            offset += w.size
            bump_version(p)

    def _set_param(self, params_data):
        for p, data in zip(self._params, params_data):
            p._data[...] = data
            bump_version(p)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def step(self, closure):
        """Up to max_iter L-BFGS iterations; closure() is called under enable_grad() as often as they
        need (at most max_eval times). Returns the loss of the first evaluation, as torch."""
        def evaluate():
            with enable_grad():
                return closure()

        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:  # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # the descent direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # a curvature pair worth keeping
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad  # the two-loop recursion: d = -H g
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss
            # the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction
                break
            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [p._data.copy() for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:  # re-evaluate, unless this was the last iteration
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            # the stopping conditions
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def state_dict(self):
        sd = super().state_dict()
        for st in sd["state"].values():
            for k, v in st.items():
                if isinstance(v, list):
                    st[k] = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in v]
        return sd

    def check_state_dict(self, sd):
        """As Optimizer's, but the state's vectors are flat over all parameters (the first parameter's
        entry holds them): 1-D arrays of the parameters' total size and dtype."""
        _, settings = super().check_state_dict({**sd, "state": {}})
        numel = sum(p._data.size for p in self._params)
        dtype = self._params[0]._data.dtype
        state = {}
        for idx, st in sd["state"].items():
            if str(idx) != "0":
                raise ValueError(f"load_state_dict: LBFGS state for parameter {idx}; it keeps its state under 0")
            for k, v in st.items():
                for a in (v if isinstance(v, list) else [v]):
                    if isinstance(a, np.ndarray) and (a.shape != (numel,) or a.dtype != dtype):
                        raise ValueError(f"load_state_dict: LBFGS state '{k}' holds a {a.dtype} array of shape "
                                         f"{a.shape}, expected {dtype} ({numel},)")
            state[self._params[0]] = {k: (list(v) if isinstance(v, list) else v) for k, v in st.items()}
        return state, settings
