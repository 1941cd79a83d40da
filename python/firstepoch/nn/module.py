"""`Module`: parameters and submodules registered by assignment, as in PyTorch."""
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a trainable weight: requires grad, and a Module registers it when assigned."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)
        if self._data.dtype.kind != "f":
            raise TypeError(f"Parameter: data must be floating, got {self._data.dtype}")


class Module:
    """Base class of layers and models. Assigning a Parameter or a Module to an attribute registers it;
    parameters() walks them in registration order (names as in PyTorch: 'fc1.weight')."""

    # each instance gets its own dicts in __init__; these defaults serve any that skipped it
    _forward_hooks = ()
    _forward_pre_hooks = ()

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            self._buffers[name] = value  # a buffer reassigned (e.g. a counter += 1) stays a buffer
            object.__setattr__(self, name, value)
            return
        if name in self._parameters and value is not None and not isinstance(value, Parameter):
            what = type(value).__name__
            what = f"firstepoch.{what}" if type(value).__module__.startswith("firstepoch") else what
            raise TypeError(f"cannot assign '{what}' as parameter "
                            f"'{name}' (firstepoch.nn.Parameter or None expected)")
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name, array):
        """State that is saved in state_dict but not trained (e.g. batch-norm running statistics)."""
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    def register_parameter(self, name, param):
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    # ---- traversal ---------------------------------------------------------------------------------
    def named_modules(self, prefix="", _seen=None):
        """(dotted name, module) for self and every submodule, each module once (PyTorch's order)."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def children(self):
        return iter(self._modules.values())

    def named_children(self):
        return iter(self._modules.items())

    def named_parameters(self, prefix=""):
        seen = set()
        for mod_name, m in self.named_modules(prefix):
            for name, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self):
        for mod_name, m in self.named_modules():
            for name, b in m._buffers.items():
                yield (f"{mod_name}.{name}" if mod_name else name), b

    # ---- modes and grads ---------------------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p._grad is None:
                p._grad = None
            else:
                p._grad._data[...] = 0

    def requires_grad_(self, flag=True):
        for p in self.parameters():
            p.requires_grad = bool(flag)
        return self

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- device and dtype (as torch.nn.Module.to) ------------------------------------------------
    def to(self, *args, **kwargs):
        """As torch: to(device), to(dtype), to(device, dtype), to(tensor), to(dtype=..., device=...).
        A device other than the CPU raises (firstepoch is CPU-only). A dtype must be floating: every
        floating parameter, its gradient and every floating buffer is cast in place (the Parameter
        objects stay the same, so an optimizer built before still holds them). Returns self."""
        from ..tensor import _to_args
        dtype, _ = _to_args(args, kwargs, "Module.to")
        if dtype is not None:
            if dtype.kind != "f":
                raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                                f"dtype={dtype}")
            self._cast_floating(dtype)
        return self

    def cpu(self):
        """Returns self: every parameter is on the CPU already."""
        return self

    def cuda(self, device=None):
        raise RuntimeError("cuda: firstepoch runs on the CPU only (no CUDA device); use model.to('cpu')")

    def float(self):
        """Casts floating parameters and buffers to float32 in place; returns self."""
        return self._cast_floating(np.dtype(np.float32))

    def double(self):
        """Casts floating parameters and buffers to float64 in place; returns self."""
        return self._cast_floating(np.dtype(np.float64))

    def _cast_floating(self, dtype):
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p._data.dtype.kind == "f" and p._data.dtype != dtype:
                    p._data = p._data.astype(dtype)
                    if p._grad is not None:
                        p._grad = Tensor._wrap(p._grad._data.astype(dtype), False)
            for name, b in list(m._buffers.items()):
                arr = b._data if isinstance(b, Tensor) else b
                if isinstance(arr, np.ndarray) and arr.dtype.kind == "f" and arr.dtype != dtype:
                    if isinstance(b, Tensor):
                        b._data = arr.astype(dtype)
                    else:
                        m._buffers[name] = arr.astype(dtype)
                        object.__setattr__(m, name, m._buffers[name])
        return self

    # ---- state -------------------------------------------------------------------------------------
    def _state_entries(self):
        """(key, owning module, attribute, is_parameter) in PyTorch's state_dict order: module by module,
        its parameters then its buffers. A parameter registered under two names appears under both."""
        for mod_name, m in self.named_modules():
            dot = f"{mod_name}." if mod_name else ""
            for name, p in m._parameters.items():
                if p is not None:
                    yield dot + name, m, name, True
            for name in m._buffers:
                yield dot + name, m, name, False

    def state_dict(self):
        """Name -> array (copies), parameters and buffers, in PyTorch's naming, order and layout."""
        out = OrderedDict()
        for key, m, attr, is_param in self._state_entries():
            out[key] = m._parameters[attr]._data.copy() if is_param else np.array(m._buffers[attr], copy=True)
        return out

    def load_state_dict(self, state, strict=True):
        """Copies arrays into the parameters and buffers. strict: the keys must match exactly. Shapes
        and dtypes must always match. Accepts NumPy arrays, Tensors, or PyTorch tensors. Everything is
        checked before anything is copied, so a failed load leaves the model as it was.
        Returns (missing_keys, unexpected_keys)."""
        entries = {key: (m, attr, is_param) for key, m, attr, is_param in self._state_entries()}
        missing = [k for k in entries if k not in state]
        unexpected = [k for k in state if k not in entries]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys: {missing}")
            if unexpected:
                parts.append(f"unexpected keys: {unexpected}")
            raise KeyError(f"load_state_dict for {type(self).__name__}: " + "; ".join(parts))
        targets = []
        for k, v in state.items():
            if k not in entries:
                continue
            m, attr, is_param = entries[k]
            arr = v._data if isinstance(v, Tensor) else (v.detach().cpu().numpy() if hasattr(v, "detach") else v)
            arr = np.asarray(arr)
            target = m._parameters[attr]._data if is_param else m._buffers[attr]
            if not isinstance(target, np.ndarray):
                raise TypeError(f"load_state_dict: '{k}' is a {type(target).__name__} in the model, not an array")
            if arr.shape != target.shape:
                raise ValueError(f"load_state_dict: '{k}' has shape {arr.shape} in the state dict, the model "
                                 f"expects {target.shape}")
            if arr.dtype != target.dtype:  # no silent casts: a float64 checkpoint is not a float32 model's
                raise TypeError(f"load_state_dict: '{k}' has dtype {arr.dtype} in the state dict, the model "
                                f"expects {target.dtype} (shape {target.shape})")
            targets.append((target, arr))
        for target, arr in targets:  # everything checked first: a failed load changes nothing
            target[...] = arr
        return missing, unexpected

    # ---- calling -----------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks:
            for hook in tuple(self._forward_pre_hooks.values()):
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in tuple(self._forward_hooks.values()):
                r = hook(self, args, out)
                if r is not None:
                    out = r
        return out

    def register_forward_hook(self, hook):
        """hook(module, inputs, output) runs after every forward (inputs: the positional arguments as a
        tuple); a returned value replaces the output. Returns a handle; handle.remove() unregisters it.
        Inside a Sequential, a Linear and the ReLU after it run as two calls (not one fused GEMM) while
        either has a hook, so both hooks see their own output."""
        return self._add_hook("_forward_hooks", hook, "register_forward_hook")

    def register_forward_pre_hook(self, hook):
        """hook(module, inputs) runs before every forward; a returned value replaces the positional
        arguments (a tuple, or one value). Returns a handle; handle.remove() unregisters it."""
        return self._add_hook("_forward_pre_hooks", hook, "register_forward_pre_hook")

    def _add_hook(self, store, hook, what):
        from ..autograd.engine import RemovableHandle
        if not callable(hook):
            raise TypeError(f"{what}: hook must be callable, got {type(hook).__name__}")
        hooks = self.__dict__.get(store)
        if hooks is None:
            hooks = OrderedDict()
            object.__setattr__(self, store, hooks)
        key = object()
        hooks[key] = hook
        return RemovableHandle(lambda: hooks.pop(key, None))

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        return lines[0] + (")" if len(lines) == 1 else "\n" + "\n".join(lines[1:]) + "\n)")
