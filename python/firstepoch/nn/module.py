"""`Module`: parameters and submodules registered by assignment, as in PyTorch."""
from collections import OrderedDict, namedtuple

import numpy as np

from .._device import check_device
from ..autograd.function import Function
from ..tensor import Tensor


def factory_dtype(who, device, dtype):
    """The dtype of a layer's parameters from torch's factory arguments: device None or "cpu" (another
    device raises: firstepoch is CPU-only), dtype None meaning the default float32, as torch."""
    check_device(device, who)
    return np.float32 if dtype is None else dtype


class Parameter(Tensor):
    """A Tensor that is a trainable weight: requires grad, and a Module registers it when assigned. As
    torch, integer data is allowed with requires_grad=False (a RuntimeError with requires_grad=True)."""

    __slots__ = ()
    _deepcopy_grad = False  # copy.deepcopy leaves .grad None (torch.nn.Parameter.__deepcopy__)

    def __init__(self, data, requires_grad=True):
        dtype = (data._data if isinstance(data, Tensor) else np.asarray(data)).dtype
        if requires_grad and dtype.kind != "f":  # torch's class and words
            raise RuntimeError(f"Only Tensors of floating point and complex dtype can require gradients "
                               f"(Parameter: got {dtype})")
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns (as torch): the keys the model has and the state dict lacks, and the
    keys the state dict has and the model lacks. Unpacks as a pair."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _typename(value):
    t = type(value)
    return f"firstepoch.{t.__name__}" if t.__module__.startswith("firstepoch") else t.__name__


def _check_member_name(module, name, what, store, exists=None):
    """torch's checks on a parameter/buffer/module name (register_parameter, register_buffer, add_module).
    exists: whether the name is taken already (default: hasattr(module, name))."""
    if not isinstance(name, str):
        raise TypeError(f"{what} name should be a string. Got {_typename(name)}")
    if "." in name:
        raise KeyError(f"{what} name can't contain \".\", got: {name}" if what == "module"
                       else f"{what} name can't contain \".\"")
    if name == "":
        raise KeyError(f"{what} name can't be empty string \"\"")
    if (hasattr(module, name) if exists is None else exists) and name not in store:
        raise KeyError(f"attribute '{name}' already exists")


def _as_array(value):
    """A state-dict value as a NumPy array (a NumPy array, a firstepoch Tensor or a torch tensor), or None."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        return value.detach().cpu().numpy()
    return None


class _HookInputs(Function, register=False):
    """Identity on a module's positional Tensor inputs that require grad, packed in one array (one node,
    so the engine hands it every input's gradient at once, summed over the module's uses of it): its
    backward calls the full backward hooks with grad_input."""

    @staticmethod
    def forward(ctx, packed, state):
        ctx.state = state
        return packed.copy()

    @staticmethod
    def backward(ctx, grad):
        return ctx.state.input_grads(grad), None


class _HookOutput(Function, register=False):
    """Identity on a module's output: its backward runs the backward pre-hooks on grad_output."""

    @staticmethod
    def forward(ctx, out, state):
        ctx.state = state
        return out.view()

    @staticmethod
    def backward(ctx, grad):
        return ctx.state.output_grad(grad), None


class _BackwardHooks:
    """One call's backward hooks: the inputs go through _HookInputs (and come out as slices of its
    result), the output through _HookOutput; grad_output is kept for the hooks that see grad_input."""

    def __init__(self, module, args):
        self.module = module
        self.grad_output = None
        self.positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.tracked = [i for i in self.positions if args[i].requires_grad]
        # grad_input has one entry per positional argument, as torch's: None for a non-Tensor, zeros for
        # a Tensor that does not require grad (while another does)
        self.untracked = {i: (args[i]._data.shape, args[i]._data.dtype) for i in self.positions
                          if i not in self.tracked}
        self.nargs = len(args)
        self.shapes = []

    def wrap_inputs(self, args):
        from ..autograd.function import is_grad_enabled
        if not self.tracked or not is_grad_enabled():
            return args
        parts = [args[i] for i in self.tracked]
        dtypes = {p._data.dtype for p in parts}
        if len(dtypes) > 1:
            raise NotImplementedError(f"{self.module._get_name()}: a backward hook needs the inputs that require "
                                      f"grad to share a dtype, got {sorted(str(d) for d in dtypes)}")
        self.shapes = [p._data.shape for p in parts]
        packed = parts[0].reshape(-1) if len(parts) == 1 else _cat_flat(parts)
        out = _HookInputs.apply(packed, self)
        args = list(args)
        offset = 0
        for i, shape in zip(self.tracked, self.shapes):
            n = int(np.prod(shape, dtype=np.int64))
            args[i] = out[offset:offset + n].reshape(shape)
            offset += n
        return tuple(args)

    def wrap_output(self, out):
        if not isinstance(out, Tensor):
            raise NotImplementedError(f"{self.module._get_name()}: backward hooks need a forward that returns one "
                                      f"Tensor, got {type(out).__name__}")
        if not out.requires_grad:
            return out
        return _HookOutput.apply(out, self)

    def _run_pre_hooks(self, grad):
        grads = (Tensor._wrap(grad, False),)
        for hook, _, _ in tuple(self.module._backward_pre_hooks.values()):
            r = hook(self.module, grads)
            if r is not None:
                grads = r if isinstance(r, tuple) else (r,)
        return grads

    def output_grad(self, grad):
        grads = self._run_pre_hooks(grad)
        self.grad_output = grads
        if not self.tracked:  # nothing upstream needs a gradient: the hooks see grad_input of Nones
            if self.module._backward_hooks:
                import warnings
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients. See https://docs.pytorch.org/docs/main/"
                              "generated/torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more "
                              "details.", stacklevel=2)
            self._run_hooks((None,) * self.nargs)
        g = grads[0]
        return np.asarray(getattr(g, "_data", g), dtype=grad.dtype)

    def _run_hooks(self, grad_input):
        for hook, _, _ in tuple(self.module._backward_hooks.values()):
            r = hook(self.module, grad_input, self.grad_output)
            if r is not None:
                r = r if isinstance(r, tuple) else (r,)
                if len(r) != len(grad_input):
                    raise RuntimeError("Backward hook returned an invalid number of grad_input, got "
                                       f"{len(r)}, but expected {len(grad_input)}")
                grad_input = r
        return grad_input

    def input_grads(self, grad):
        pieces, offset = {}, 0
        for i, shape in zip(self.tracked, self.shapes):
            n = int(np.prod(shape, dtype=np.int64))
            pieces[i] = Tensor._wrap(grad[offset:offset + n].reshape(shape), False)
            offset += n
        untracked = self.untracked
        grad_input = tuple(pieces[i] if i in pieces else
                           Tensor._wrap(np.zeros(*untracked[i]), False) if i in untracked else None
                           for i in range(self.nargs))
        grad_input = self._run_hooks(grad_input)
        parts = []
        for i in self.tracked:
            g = grad_input[i]
            if g is None:
                g = np.zeros(pieces[i].shape, grad.dtype)
            parts.append(np.asarray(getattr(g, "_data", g), dtype=grad.dtype).reshape(-1))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _cat_flat(parts):
    from ..tensor import cat
    return cat([p.reshape(-1) for p in parts])


class Module:
    """Base class of layers and models. Assigning a Parameter or a Module to an attribute registers it;
    parameters() walks them in registration order (names as in PyTorch: 'fc1.weight').

    Registered members are also plain attributes (no __getattr__ on the hot path of a forward)."""

    # each instance gets its own dicts in __init__; these defaults serve any that skipped it. Each hook
    # dict maps a handle key to (hook, with_kwargs, always_call).
    _forward_hooks = ()
    _forward_pre_hooks = ()
    _backward_hooks = ()
    _backward_pre_hooks = ()
    _load_state_dict_pre_hooks = ()  # made on the first registration (rarely used)

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())

    def _get_name(self):
        return type(self).__name__

    def __setattr__(self, name, value):
        """As torch: a Parameter registers as a parameter, a Module as a submodule; None assigned to a
        registered name keeps the slot (None); a buffer takes a Tensor or None (a NumPy array is wrapped
        in a Tensor that shares its memory)."""
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if isinstance(value, Parameter):
            if name not in self._parameters:  # register_parameter's checks, as torch (no '.', no '', no method)
                _check_member_name(self, name, "parameter", self._parameters, exists=hasattr(type(self), name))
            self._forget(name, self._parameters)
            self._parameters[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter "
                                f"'{name}' (firstepoch.nn.Parameter or None expected)")
            self._parameters[name] = None
        elif isinstance(value, Module):
            self._forget(name, self._modules)
            self._modules[name] = value
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                f"(firstepoch.nn.Module or None expected)")
            self._modules[name] = None
        elif name in self._buffers:  # a buffer reassigned (e.g. a counter += 1) stays a buffer
            if isinstance(value, np.ndarray):
                value = Tensor(value)
            elif value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                f"(firstepoch.Tensor or None expected)")
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        """Drops name from every registry but `keep` (the one it is about to be registered in: there it
        keeps its place, so a reassigned weight keeps its state_dict position, as torch)."""
        for store in (self._parameters, self._modules, self._buffers):
            if store is not keep:
                store.pop(name, None)
        if keep is not self._buffers:
            self._non_persistent_buffers_set.discard(name)

    def __delattr__(self, name):
        if "_parameters" in self.__dict__:
            self._forget(name)
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """State that is not trained (e.g. batch-norm running statistics): a Tensor, or None. persistent=
        False keeps it out of state_dict. named_buffers() and the attribute give the Tensor, as torch.
        Deliberate difference: a NumPy array is accepted too (wrapped in a Tensor sharing its memory)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_member_name(self, name, "buffer", self._buffers)
        if isinstance(tensor, np.ndarray):
            tensor = Tensor(tensor)
        elif tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            f"(firstepoch Tensor or None required)")
        self._forget(name, self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        """Registers param (a Parameter, or None: the slot stays, named_parameters and state_dict skip it)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_member_name(self, name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            f"(firstepoch.nn.Parameter or None required)")
        if param is not None and param._ctx is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                             f"created explicitly. To express '{name}' as a function of another Tensor, compute "
                             f"the value in the forward() method.")
        self._forget(name, self._parameters)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def add_module(self, name, module):
        """Registers module (a Module, or None) as the submodule `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        _check_member_name(self, name, "module", self._modules)
        self._forget(name, self._modules)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at the dotted path target ('' is self), as torch (AttributeError otherwise)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def _get_leaf(self, target):
        """(module, name) for the dotted path target; AttributeError when the module lacks name."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        return mod, name

    def get_parameter(self, target):
        mod, name = self._get_leaf(target)
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        mod, name = self._get_leaf(target)
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    # ---- traversal (torch's order and de-duplication) ---------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for self and every submodule, self first, depth first; a module reached
        twice is listed once unless remove_duplicate=False."""
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()  # ids: a Tensor's == is elementwise, so it cannot go in a set itself
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_name, m in mods:
            for name, v in getattr(m, store).items():
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (f"{mod_name}.{name}" if mod_name else name), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter), each Parameter once (a tied weight under its first name)."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Tensor) for every buffer, persistent or not."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and grads ---------------------------------------------------------------------------
    def train(self, mode=True):
        """Sets training mode on self and (through their own train) every child; returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Sets every parameter's .grad to None (default), or to zeros in place (set_to_none=False; a
        gradient that has a graph is cut from it first, as torch)."""
        for p in self.parameters():
            g = p._grad
            if g is None:
                continue
            if set_to_none:
                p._grad = None
            else:
                g._ctx, g.requires_grad = None, False
                g._data[...] = 0

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        """fn(module) on every child (recursively, through their apply) and then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- device and dtype (as torch.nn.Module.to) ------------------------------------------------
    def to(self, *args, **kwargs):
        """As torch: to(device), to(dtype), to(device, dtype), to(tensor), to(dtype=..., device=...).
        A device other than the CPU raises (firstepoch is CPU-only). A dtype must be floating: every
        floating parameter, its gradient and every floating buffer is cast in place (the Parameter
        objects stay the same, so an optimizer built before still holds them). Returns self.
        memory_format= is checked and otherwise ignored: parameters stay C-contiguous (torch gives 4-D
        ones channels-last strides; values and results are the same either way)."""
        from ..tensor import _memory_format_kwarg, _to_args
        dtype, _ = _to_args(args, kwargs, "Module.to")
        _memory_format_kwarg(kwargs, "Module.to")
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

    def half(self):
        raise TypeError("half: float16 is not supported (firstepoch's kernels are float32 and float64); "
                        "use float() or double()")

    def bfloat16(self):
        raise TypeError("bfloat16: not supported (firstepoch's kernels are float32 and float64); use float() "
                        "or double()")

    def _cast_floating(self, dtype):
        for m in self.modules():
            for t in list(m._parameters.values()) + list(m._buffers.values()):
                if t is not None and t._data.dtype.kind == "f" and t._data.dtype != dtype:
                    t._data = t._data.astype(dtype)
                    if t._grad is not None:
                        t._grad = Tensor._wrap(t._grad._data.astype(dtype), False)
        return self

    # ---- state -------------------------------------------------------------------------------------
    def _local_state(self):
        """name -> Tensor of this module's own state: parameters, then persistent buffers (None skipped)."""
        out = OrderedDict((k, p) for k, p in self._parameters.items() if p is not None)
        out.update((k, b) for k, b in self._buffers.items()
                   if b is not None and k not in self._non_persistent_buffers_set)
        return out

    def _state_modules(self, prefix=""):
        """(key prefix, module) in torch's state_dict order: self, then each child recursively. Not
        de-duplicated, as torch: a shared submodule or tied weight appears under each of its names."""
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m._state_modules(f"{prefix}{name}.")

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """Name -> NumPy array, parameters and persistent buffers, in PyTorch's naming and order.
        Deliberate difference: the arrays are copies (torch gives tensors sharing the memory);
        keep_vars=True gives the Parameters and buffer Tensors themselves. As torch, the arguments may
        still come positionally (destination, prefix, keep_vars), with its FutureWarning."""
        if args:
            import warnings
            warnings.warn("Positional args are being deprecated, use kwargs instead. Refer to "
                          "https://pytorch.org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.state_dict "
                          "for details.", FutureWarning, stacklevel=2)
            if len(args) > 3:
                raise TypeError(f"state_dict() takes at most 3 positional arguments ({len(args)} given)")
            if destination is None:
                destination = args[0]
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        out = OrderedDict() if destination is None else destination
        for mod_prefix, m in self._state_modules(prefix):
            for name, t in m._local_state().items():
                out[mod_prefix + name] = t if keep_vars else t._data.copy()
        return out

    # Local state a state dict may leave out (a checkpoint from before the entry existed): it is set to its
    # default value, not reported missing (torch's BatchNorm and num_batches_tracked)
    _optional_state = {}

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copies arrays (NumPy, Tensor or torch tensors) into the parameters and buffers, as torch:
        returns _IncompatibleKeys(missing_keys, unexpected_keys); strict=True raises RuntimeError (torch's
        message) when either is non-empty; a shape mismatch always raises RuntimeError. assign=True makes
        each parameter and buffer hold the state dict's array itself (no copy; its memory is shared), as
        torch's assign keeps the given tensors. Deliberate
        differences: everything is checked before anything is copied, so a failed load leaves the model
        as it was; a dtype mismatch is a TypeError (no silent cast: a float64 checkpoint is not a float32
        model's); shapes in messages are tuples."""
        from collections.abc import Mapping

        from ..autograd.function import bump_version
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors, dtype_errors, copies = [], [], [], [], []
        hooked = [(prefix, m) for prefix, m in self._state_modules() if m._load_state_dict_pre_hooks]
        if hooked:  # hooks may rename keys: they edit a copy, as torch's
            state_dict = OrderedDict(state_dict)
            for prefix, m in hooked:
                for hook, with_module in tuple(m._load_state_dict_pre_hooks.values()):
                    args = (state_dict, prefix, {}, strict, missing, unexpected, errors)
                    hook(m, *args) if with_module else hook(*args)
        keys = list(state_dict.keys())
        for prefix, m in self._state_modules():
            local = m._local_state()
            for name, t in local.items():
                key = prefix + name
                if key not in state_dict:
                    if name in m._optional_state:
                        copies.append((t, np.asarray(m._optional_state[name], dtype=t._data.dtype)))
                    else:
                        missing.append(key)
                    continue
                value = state_dict[key]
                arr = _as_array(value)
                if arr is None:
                    errors.append(f'While copying the parameter named "{key}", expected firstepoch.Tensor or '
                                  f'Tensor-like object from checkpoint but received {type(value)}')
                    continue
                target = t._data
                if target.ndim == 0 and arr.shape == (1,):  # torch's allowance for old 1-element counters
                    arr = arr[0]
                if arr.shape != target.shape:
                    errors.append(f"size mismatch for {key}: copying a param with shape {tuple(arr.shape)} from "
                                  f"checkpoint, the shape in current model is {target.shape}.")
                elif arr.dtype != target.dtype:
                    dtype_errors.append(f"load_state_dict: '{key}' has dtype {arr.dtype} in the state dict, the "
                                        f"model expects {target.dtype} (shape {target.shape})")
                else:
                    copies.append((t, arr))
            for key in keys:  # torch's rule: a key under this prefix that names nothing here
                if isinstance(key, str) and key.startswith(prefix):
                    head, dot, _ = key[len(prefix):].partition(".")
                    if (dot and head not in m._modules) or (not dot and head not in local):
                        unexpected.append(key)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(self._get_name(),
                                                                                     "\n\t".join(errors)))
        if dtype_errors:
            raise TypeError(dtype_errors[0])
        for t, arr in copies:  # everything checked first: a failed load changes nothing
            if assign and arr.shape == t._data.shape:
                t._data = arr if arr.flags.writeable else arr.copy()
            else:
                t._data[...] = arr
            bump_version(t)
        return _IncompatibleKeys(missing, unexpected)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        """torch's private hook: hook(state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs) (with_module=True: hook(module, ...)) runs at the start of
        load_state_dict on a copy of the state dict, which it may edit (local_metadata is {}: firstepoch's
        state dicts carry none). Returns a handle."""
        return self._add_hook("_load_state_dict_pre_hooks", hook, "_register_load_state_dict_pre_hook",
                              flags=(bool(with_module),))

    # ---- calling -----------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks:
            for hook, with_kwargs, _ in tuple(self._forward_pre_hooks.values()):
                if with_kwargs:
                    r = hook(self, args, kwargs)
                    if r is not None:
                        if not (isinstance(r, tuple) and len(r) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                               f"new_kwargs), but got {r}.")
                        args, kwargs = r
                        args = args if isinstance(args, tuple) else (args,)
                else:
                    r = hook(self, args)
                    if r is not None:
                        args = r if isinstance(r, tuple) else (r,)
        backward = _BackwardHooks(self, args) if (self._backward_hooks or self._backward_pre_hooks) else None
        if backward is not None:
            args = backward.wrap_inputs(args)
        if not self._forward_hooks:
            out = self.forward(*args, **kwargs)
        else:
            try:
                out = self.forward(*args, **kwargs)
            except BaseException:
                for hook, with_kwargs, always in tuple(self._forward_hooks.values()):
                    if always:  # always_call: it runs even when forward raised, as torch (output None)
                        try:
                            hook(self, args, kwargs, None) if with_kwargs else hook(self, args, None)
                        except Exception:
                            pass
                raise
            for hook, with_kwargs, _ in tuple(self._forward_hooks.values()):
                r = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
                if r is not None:
                    out = r
        if backward is not None:
            out = backward.wrap_output(out)
        return out

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """hook(module, args, output) runs after every forward (args: the positional arguments as a tuple;
        with_kwargs=True: hook(module, args, kwargs, output)); a returned value replaces the output.
        prepend=True runs it before the hooks already there; always_call=True runs it even when forward
        raises (with output None). Returns a handle; handle.remove() unregisters it. Inside a Sequential,
        a Linear and the ReLU after it run as two calls (not one fused GEMM) while either has a hook, so
        both hooks see their own output."""
        return self._add_hook("_forward_hooks", hook, "register_forward_hook", prepend,
                              (bool(with_kwargs), bool(always_call)))

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) runs before every forward; a returned value replaces the positional
        arguments (a tuple, or one value). with_kwargs=True: hook(module, args, kwargs), returning None or
        (new_args, new_kwargs). prepend=True runs it first. Returns a handle; handle.remove() unregisters it."""
        return self._add_hook("_forward_pre_hooks", hook, "register_forward_pre_hook", prepend,
                              (bool(with_kwargs), False))

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """hook(module, grad_output) runs when the gradient of the module's output is known, before the
        module's own backward; a returned tuple replaces grad_output. The module's forward must return one
        Tensor (NotImplementedError otherwise, at the call)."""
        return self._add_hook("_backward_pre_hooks", hook, "register_full_backward_pre_hook", prepend,
                              (False, False))

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) runs once the gradients of the module's positional Tensor
        inputs are computed; grad_input has one entry per positional argument, as torch's: None for a
        non-Tensor, zeros for a Tensor that does not require grad (all None, with torch's warning, when no
        input requires grad). A returned tuple of that length replaces grad_input. As torch, the module's inputs and output pass through identity nodes while a backward
        hook is registered. Deliberate differences: the forward must return one Tensor (NotImplementedError
        otherwise); an input that requires grad but does not reach the output gets zeros, not None."""
        return self._add_hook("_backward_hooks", hook, "register_full_backward_hook", prepend, (False, False))

    def register_backward_hook(self, hook):
        raise NotImplementedError("register_backward_hook is deprecated in torch and not provided: use "
                                  "register_full_backward_hook")

    def _add_hook(self, store, hook, what, prepend=False, flags=(False, False)):
        from ..autograd.engine import RemovableHandle
        if not callable(hook):
            raise TypeError(f"{what}: hook must be callable, got {type(hook).__name__}")
        hooks = self.__dict__.get(store)
        if hooks is None:
            hooks = OrderedDict()
            object.__setattr__(self, store, hooks)
        key = object()
        hooks[key] = (hook,) + tuple(flags)
        if prepend:
            hooks.move_to_end(key, last=False)
        return RemovableHandle(lambda: hooks.pop(key, None))

    def extra_repr(self):
        return ""

    def __repr__(self):
        """torch's layout: the extra_repr lines, then each child as '(name): repr', indented."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
