"""torch.nn.utils.stateless.functional_call (torch.func.functional_call): a module called with some of its
parameters and buffers replaced by the tensors of a dict, and given back afterwards (also when the call
raises)."""
import contextlib
import warnings

from ...tensor import Tensor
from ..module import Module

__all__ = ["functional_call"]

_MISSING = object()


def _swap_tensor(module, name, tensor):
    """Puts tensor (or _MISSING: removes) at module.<name> and returns what was there (_MISSING if nothing);
    a parameter or buffer slot keeps its registry, so the value is seen where the module looks."""
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of firstepoch.Tensor")
    for store in (module._parameters, module._buffers):
        if name in store:
            orig = store[name]
            if tensor is _MISSING:
                del store[name]
                object.__delattr__(module, name)
            else:
                store[name] = tensor
                object.__setattr__(module, name, tensor)
            return orig
    orig = getattr(module, name) if hasattr(module, name) else _MISSING
    if orig is not _MISSING and orig is not None and not isinstance(orig, Tensor):
        raise TypeError(f"attribute `{name}`: {orig} is not an instance of firstepoch.Tensor")
    if tensor is not _MISSING:
        setattr(module, name, tensor)
    elif hasattr(module, name):
        delattr(module, name)
    return orig


def _untie(module, values):
    """torch's tie_weights=True: a value given for one name of a tied tensor is used for all its names
    (ValueError when different values are given for names of one tensor)."""
    names_of = {}
    for name, t in list(module.named_parameters(remove_duplicate=False)) + list(
            module.named_buffers(remove_duplicate=False)):
        names_of.setdefault(id(t), set()).add(name)
    out = dict(values)
    for tied in names_of.values():
        given = [n for n in tied if n in values]
        if len(tied) < 2 or not given:
            continue
        if len({id(values[n]) for n in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(tied)}, which are tied. "
                             "Consider using tie_weights=False")
        for n in tied:
            out[n] = values[given[0]]
    return out


@contextlib.contextmanager
def _reparametrize_module(module, values, tie_weights=False, strict=False):
    if tie_weights:
        values = _untie(module, values)
    if strict:
        valid = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        valid |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing, unexpected = sorted(valid - set(values)), sorted(set(values) - valid)
        msgs = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(module._get_name(), "\n\t".join(msgs)))
    swapped = []  # (owner, leaf name, original), in swap order: restored in reverse
    try:
        for name, tensor in values.items():
            prefix, _, leaf = name.rpartition(".")
            owner = module.get_submodule(prefix)
            swapped.append((owner, leaf, _swap_tensor(owner, leaf, tensor)))
        yield
    finally:
        for owner, leaf, orig in reversed(swapped):
            _swap_tensor(owner, leaf, orig)


def _functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                     strict=False):
    if not isinstance(module, Module):
        raise TypeError(f"{module} is not an instance of firstepoch.nn.Module")
    if isinstance(parameter_and_buffer_dicts, dict):
        values = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, (list, tuple)):  # torch.func's sequence of dicts
        values = {}
        for d in parameter_and_buffer_dicts:
            repeated = set(values) & set(d)
            if repeated:
                raise ValueError(f"{sorted(repeated)} appeared in multiple dictionaries; behavior of "
                                 "functional call is ambiguous")
            values.update(d)
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    kwargs = {} if kwargs is None else kwargs
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    with _reparametrize_module(module, values, tie_weights=tie_weights, strict=strict):
        return module(*args, **kwargs)


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """module(*args, **kwargs) with the parameters and buffers named (dotted, as named_parameters) in the dict
    replaced by its tensors for the call; the module's own are put back afterwards, also when the call
    raises. tie_weights=True: a value for one name of a tied tensor serves all of them; strict=True: the
    dict must name every parameter and buffer (RuntimeError). args that is no tuple is the one positional
    argument. As torch, a FutureWarning points to firstepoch.func.functional_call."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed "
                  "in a future version of PyTorch. Please use `torch.func.functional_call` instead which is a "
                  "drop-in replacement.", FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
