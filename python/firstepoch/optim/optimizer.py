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

from ..autograd.function import bump_version
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

    def _validate(self, g):
        """PyTorch's range checks on the hyperparameters every optimizer shares."""
        name = type(self).__name__
        for key in ("lr", "eps", "momentum", "weight_decay", "alpha", "lr_decay", "initial_accumulator_value"):
            if key in g and not g[key] >= 0:
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
                    p._grad._data[...] = 0

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
        return -grad if group.get("maximize") else grad

    def _step(self):
        state = self.state
        update = self._update
        for g in self.param_groups:
            for p in g["params"]:
                grad = p._grad
                if grad is None:
                    continue
                grad = grad._data
                w = self._checked(p, grad)
                grad = self._ascent(grad, g)
                st = state[p]
                update(w, grad, st, g)
                bump_version(p)  # changed in place: a graph that saved p before this step refuses to backward

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
                if isinstance(v, np.ndarray) and v.dtype != p._data.dtype:
                    raise ValueError(f"load_state_dict: state '{k}' of parameter {idx} is {v.dtype}, the "
                                     f"parameter is {p._data.dtype}")
            state[p] = st
        return state, settings

    def load_state_dict(self, sd):
        """Loads a state_dict(); everything is checked first (check_state_dict), so a refused one changes
        nothing."""
        state, settings = self.check_state_dict(sd)
        self.state = defaultdict(dict, {p: {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v)
                                               for k, v in st.items()} for p, st in state.items()})
        for saved, g in zip(settings, self.param_groups):
            g.update(saved)


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


class SGD(Optimizer):
    """v = momentum * v + (1 - dampening) * (g + wd * w);  w -= lr * (g + momentum * v if nesterov else v)."""

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
    mu_t (state 'mu_product') is a float32 scalar whatever the parameter's dtype, as PyTorch's under its
    default dtype float32 (firstepoch's only default), so float64 trajectories agree to the last bits."""

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
        state["mu_product"] = np.float32(state["mu_product"] * np.float32(mu))
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
