"""Containers, as torch.nn: ModuleList, ModuleDict, ParameterList, ParameterDict, and Sequential: modules
called in order, a layer and the activation after it fused into one kernel
call where the layer can (a Linear followed by a ReLU: one GEMM with a ReLU epilogue).

The fusion protocol, asked of each pair of neighbours, no type checks: an activation module names
itself in the class attribute `epilogue_activation` (nn.ReLU: "relu"); a layer that can apply it in
its own kernel has `absorbs_activation(name)` (nn.Linear asks ops.linalg) and
`forward_with_activation(x, name)`. A pool after the activation joins them where its class declares
`epilogue_pool()` (nn.MaxPool2d without return_indices: "max") and the layer's class
`absorbs_pool(activation, kind)` and `forward_with_activation_and_pool(x, activation, pool)` (nn.Conv2d,
ReLU, MaxPool2d: ops.pool.Conv2dReLUMaxPoolFn). All must be declared by the module's own class, not
inherited, so a subclass that changes forward is never fused by its parent's promise.
"""
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from itertools import chain, islice

import numpy as np

from ..tensor import Tensor
from .module import Module, Parameter


def _runs_alone(*modules):
    """True if any of the modules has a forward (pre-)hook, a backward hook or a forward of its own instance
    (m.forward = f, which torch's m(x) calls): then each must run as its own call."""
    return any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks
               or "forward" in m.__dict__ for m in modules)


def _fused_activation(m, nxt):
    """The activation name if m can run nxt inside its own kernel call, else None."""
    name = type(nxt).__dict__.get("epilogue_activation")
    if name is None:
        return None
    absorbs = type(m).__dict__.get("absorbs_activation")
    if absorbs is None or not absorbs(m, name) or _runs_alone(m, nxt):
        return None
    return name


def _fused_pool(m, activation, pool):
    """The pool's kind if m (which absorbs `activation`) can also run the pool after it as one op, else None."""
    kind_of = type(pool).__dict__.get("epilogue_pool")
    absorbs = type(m).__dict__.get("absorbs_pool")
    if kind_of is None or absorbs is None or _runs_alone(pool):
        return None
    kind = kind_of(pool)
    return kind if kind is not None and absorbs(m, activation, kind) else None


def _renumber(module, values):
    """Replaces module's submodules with `values`, named "0", "1", ... (torch renumbers after a delete)."""
    for name in list(module._modules):
        object.__delattr__(module, name)
    module._modules.clear()
    for i, m in enumerate(values):
        module._modules[str(i)] = m
        object.__setattr__(module, str(i), m)


def _abs_index(idx, n):
    """idx (an int, negative from the end) as a position in [0, n); IndexError as torch."""
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range")
    return idx % n


class Sequential(Module):
    """Calls its modules in order: Sequential(m0, m1, ...) names them "0", "1", ...;
    Sequential(OrderedDict(name=module)) keeps the names. Indexing (negative too), slicing (a Sequential
    keeping the names), len, iter, append, insert, extend, pop, del, + and * as torch. A Linear or Conv2d
    followed by a ReLU runs as one fused kernel call (the ReLU module is still there: indexing,
    state_dict names and repr are PyTorch's); see the module docstring for the protocol."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self.__class__(OrderedDict(list(self._modules.items())[idx]))
        n = len(self._modules)
        return next(islice(iter(self._modules.values()), _abs_index(idx, n), None))

    def __setitem__(self, idx, module):
        key = list(self._modules)[_abs_index(idx, len(self._modules))]
        setattr(self, key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else [keys[_abs_index(idx, len(keys))]]):
            delattr(self, key)
        _renumber(self, list(self._modules.values()))  # as torch: the names become "0", "1", ... again

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        out = Sequential()
        for m in chain(self, other):
            out.append(m)
        return out

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        for m in list(other):
            self.append(m)
        return self

    def __mul__(self, other):
        if not isinstance(other, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")
        out = Sequential()
        for _ in range(other):
            for m in self:  # the same module objects, repeated (shared weights), as torch
                out.append(m)
        return out

    __rmul__ = __mul__

    def __imul__(self, other):
        if not isinstance(other, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")
        mods = list(self)
        for _ in range(other - 1):
            for m in mods:
                self.append(m)
        return self

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        index = index + n if index < 0 else index
        mods = list(self._modules.values())
        _renumber(self, mods[:index] + [module] + mods[index:])
        return self

    def extend(self, sequential):
        for m in sequential:
            self.append(m)
        return self

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def forward(self, input):
        mods = list(self._modules.values())
        x, i, n = input, 0, len(mods)
        while i < n:
            m = mods[i]
            act = _fused_activation(m, mods[i + 1]) if i + 1 < n else None
            if act is not None:
                if i + 2 < n and _fused_pool(m, act, mods[i + 2]) is not None:  # Conv2d, ReLU, MaxPool2d: one op
                    x = m.forward_with_activation_and_pool(x, act, mods[i + 2])
                    i += 3
                    continue
                x = m.forward_with_activation(x, act)  # e.g. the GEMM's epilogue applies the ReLU
                i += 2
            else:
                x = m(x)
                i += 1
        return x


class ModuleList(Module):
    """A list of modules, registered as submodules "0", "1", ... (so their parameters are the
    container's): indexing (negative too), slicing (a ModuleList), len, iter, append, extend, insert,
    pop, del (the rest renumbered), +, +=, as torch.nn.ModuleList. It has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self += modules

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self.__class__(list(self._modules.values())[idx])
        return self._modules[str(_abs_index(idx, len(self._modules)))]

    def __setitem__(self, idx, module):
        setattr(self, str(_abs_index(idx, len(self._modules))), module)

    def __delitem__(self, idx):
        if isinstance(idx, slice):
            for k in range(len(self._modules))[idx]:
                delattr(self, str(k))
        else:
            delattr(self, str(_abs_index(idx, len(self._modules))))
        _renumber(self, list(self._modules.values()))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        out = ModuleList()
        for i, m in enumerate(chain(self, other)):
            out.add_module(str(i), m)
        return out

    def insert(self, index, module):
        """Inserts module before position index (as list.insert, a negative index from the end)."""
        n = len(self._modules)
        index = max(0, min(n, index + n if index < 0 else index))
        mods = list(self._modules.values())
        _renumber(self, mods[:index] + [module] + mods[index:])

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def extend(self, modules):
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}")
        offset = len(self)
        for i, m in enumerate(modules):
            self.add_module(str(offset + i), m)
        return self

    def __repr__(self):
        """torch's: a run of equal children shown once, as '(0-2): 3 x Linear(...)'."""
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        blocks = []  # [start, end, repr]
        for i, r in enumerate(reprs):
            if blocks and blocks[-1][2] == r:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        lines = []
        for start, end, r in blocks:
            line = f"({start}): {r}" if start == end else f"({start}-{end}): {end - start + 1} x {r}"
            lines.append(line.replace("\n", "\n  "))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules, registered as submodules under their keys, in insertion order: [], in, len,
    iter (the keys), keys, values, items, update, pop, clear, as torch.nn.ModuleDict. It has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        for key in list(self._modules):
            delattr(self, key)

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        _update(self, modules, "ModuleDict")


def _update(container, pairs, what):
    """torch's update: a mapping, or an iterable of (key, value) pairs."""
    if not isinstance(pairs, Iterable):
        raise TypeError(f"{what}.update should be called with an iterable of key/value pairs, but got "
                        f"{type(pairs).__name__}")
    if isinstance(pairs, (Mapping, ModuleDict, ParameterDict)):
        for key, value in pairs.items():
            container[key] = value
        return
    for j, kv in enumerate(pairs):
        if not isinstance(kv, Iterable):
            raise TypeError(f"{what} update sequence element #{j} should be Iterable; is {type(kv).__name__}")
        if len(kv) != 2:
            raise ValueError(f"{what} update sequence element #{j} has length {len(kv)}; 2 is required")
        container[kv[0]] = kv[1]


def _as_parameter(value):
    """torch's rule for ParameterList/Dict: a Tensor (or here a NumPy array) becomes a Parameter."""
    if isinstance(value, Parameter) or value is None:
        return value
    if isinstance(value, np.ndarray):
        return Parameter(value)
    if isinstance(value, Tensor):  # Parameter(tensor), as torch: it requires grad whatever the tensor did
        return Parameter(value._data)
    return value


def _parameter_line(key, p):
    if isinstance(p, Tensor):
        kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
        return f"  ({key}): {kind} containing: [{p.dtype} of size {'x'.join(str(s) for s in p.shape)}]"
    return f"  ({key}): Object of type: {type(p).__name__}"


class ParameterList(Module):
    """A list of Parameters registered as "0", "1", ... (a Tensor or NumPy array appended becomes a
    Parameter): indexing, slicing, len, iter, append, extend, +=, as torch.nn.ParameterList."""

    def __init__(self, values=None):
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self += values

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self.__class__([self[i] for i in range(self._size)[idx]])
        return getattr(self, str(_abs_index(idx, self._size)))

    def __setitem__(self, idx, param):
        setattr(self, str(_abs_index(idx, self._size)), _as_parameter(param))

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[i] for i in range(self._size))

    def __iadd__(self, parameters):
        return self.extend(parameters)

    def append(self, value):
        object.__setattr__(self, "_size", self._size + 1)
        self[self._size - 1] = value
        return self

    def extend(self, values):
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(_parameter_line(i, p) for i, p in enumerate(self))


class ParameterDict(Module):
    """A dict of Parameters registered under their keys (a Tensor or NumPy array becomes a Parameter):
    [], in, len, iter, keys, values, items, update, pop, clear, get, as torch.nn.ParameterDict."""

    def __init__(self, parameters=None):
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return getattr(self, key)

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError(f"Index given to ParameterDict cannot be used as a key as it is not a string (type is "
                            f"'{type(key).__name__}'). Open an issue on github if you need non-string keys.")
        setattr(self, key, _as_parameter(value))
        self._keys[key] = None

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        return self._keys.keys()

    def items(self):
        return ((k, self[k]) for k in self._keys)

    def values(self):
        return (self[k] for k in self._keys)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def clear(self):
        for k in list(self._keys):
            del self[k]

    def update(self, parameters):
        _update(self, parameters, "ParameterDict")

    def copy(self):
        """A new ParameterDict holding the same Parameter objects, as torch."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self):
        """Removes and returns the last (key, value) pair, as torch (KeyError when empty)."""
        if not self._keys:
            raise KeyError("popitem(): dictionary is empty")
        key = next(reversed(self._keys))
        return key, self.pop(key)

    def fromkeys(self, keys, default=None):
        """A new ParameterDict with `keys`, each set to `default`, as torch."""
        return ParameterDict((k, default) for k in keys)

    def __reversed__(self):
        return reversed(list(self._keys))

    def __or__(self, other):
        out = self.copy()
        out.update(other)
        return out

    def __ror__(self, other):
        out = other.copy()
        out.update(self)
        return out

    def __ior__(self, other):
        self.update(other)
        return self

    def extra_repr(self):
        return "\n".join(_parameter_line(k, p) for k, p in self.items())
