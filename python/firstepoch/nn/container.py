"""Sequential: modules called in order, a layer and the activation after it fused into one kernel
call where the layer can (a Linear followed by a ReLU: one GEMM with a ReLU epilogue).

The fusion protocol, asked of each pair of neighbours, no type checks: an activation module names
itself in the class attribute `epilogue_activation` (nn.ReLU: "relu"); a layer that can apply it in
its own kernel has `absorbs_activation(name)` (nn.Linear asks ops.linalg) and
`forward_with_activation(x, name)`. Both must be declared by the module's own class, not inherited, so
a subclass that changes forward is never fused by its parent's promise.
"""
from .module import Module


def _hooked(*modules):
    """True if any of the modules has a forward (pre-)hook: then each must run as its own call."""
    return any(m._forward_hooks or m._forward_pre_hooks for m in modules)


def _fused_activation(m, nxt):
    """The activation name if m can run nxt inside its own kernel call, else None."""
    name = type(nxt).__dict__.get("epilogue_activation")
    if name is None:
        return None
    absorbs = type(m).__dict__.get("absorbs_activation")
    if absorbs is None or not absorbs(m, name) or _hooked(m, nxt):
        return None
    return name


class Sequential(Module):
    """Calls its modules in order. A Linear followed by a ReLU runs as one fused GEMM + ReLU (the
    ReLU module is still there: indexing, state_dict names and repr are PyTorch's); see the module
    docstring for the protocol other layers can follow."""

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
            setattr(self, str(i), m)

    def __getitem__(self, i):
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*mods[i])
        return mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: got a {type(module).__name__}, not a Module")
        setattr(self, str(len(self._modules)), module)
        return self

    def forward(self, x):
        mods = list(self._modules.values())
        i, n = 0, len(mods)
        while i < n:
            m = mods[i]
            act = _fused_activation(m, mods[i + 1]) if i + 1 < n else None
            if act is not None:
                x = m.forward_with_activation(x, act)  # e.g. the GEMM's epilogue applies the ReLU
                i += 2
            else:
                x = m(x)
                i += 1
        return x
