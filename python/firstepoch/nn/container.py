"""Sequential: modules called in order, a Linear followed by a ReLU fused into one GEMM."""
from .activation import ReLU
from .linear import Linear, LinearFunction
from .module import Module


def _hooked(*modules):
    """True if any of the modules has a forward (pre-)hook: then each must run as its own call."""
    return any(m._forward_hooks or m._forward_pre_hooks for m in modules)


class Sequential(Module):
    """Calls its modules in order. A Linear followed by a ReLU runs as one fused GEMM + ReLU (the
    ReLU module is still there: indexing, state_dict names and repr are PyTorch's)."""

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
            if type(m) is Linear and i + 1 < n and type(mods[i + 1]) is ReLU and not _hooked(m, mods[i + 1]):
                x = LinearFunction.apply(x, m.weight, m.bias, True)  # the epilogue applies the ReLU
                i += 2
            else:
                x = m(x)
                i += 1
        return x
