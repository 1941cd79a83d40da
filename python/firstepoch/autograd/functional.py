"""torch.autograd.functional: derivatives of a function of Tensors, built on autograd.grad.

vjp(func, inputs, v) = v^T J and jacobian (one vjp per output element) are reverse mode, as torch's
default. jvp(func, inputs, v) = J v uses the double-vjp trick (the vjp u -> u^T J is linear in u, so
J v is the gradient of (u^T J) . v with respect to u), as torch does; so do hvp and vhp, with the
gradient taken twice. hessian is the jacobian of the gradient. inputs is a Tensor or a tuple of them,
and the results follow its structure (and the outputs'), as torch's. The inputs' .grad are left alone. Not taken: vectorize=True and
strategy="forward-mode" (NotImplementedError; the results would be the same, only computed
differently).
"""
import numpy as np

from .engine import grad as _grad
from .function import TensorBase, enable_grad


def stack(tensors):
    from ..tensor import stack as _stack  # recorded (create_graph keeps the graph); tensor.py imports autograd
    return _stack(tensors)


def _as_tuple(x, name, fn):
    if isinstance(x, TensorBase):
        return False, (x,)
    if isinstance(x, (tuple, list)) and all(isinstance(t, TensorBase) for t in x):
        return True, tuple(x)
    raise TypeError(f"The {name} given to {fn} must be either a Tensor or a tuple of Tensors but the value "
                    f"given has type {type(x).__name__}.")


def _grad_inputs(inputs, create_graph):
    """The inputs as leaves to differentiate at (detached views), or, with create_graph, the inputs
    themselves where they require grad, so the results keep their graph back to them (as torch)."""
    out = []
    for i, t in enumerate(inputs):
        if t._data.dtype.kind != "f":
            raise RuntimeError(f"inputs[{i}] has dtype {t._data.dtype}: only floating point inputs can be "
                               "differentiated")
        out.append(t if create_graph and t.requires_grad else t.detach().requires_grad_(True))
    return tuple(out)


def _check_v(v, refs, name, fn):
    if len(v) != len(refs):
        raise RuntimeError(f"{fn}: {name} has {len(v)} entries, expected {len(refs)}")
    for i, (a, r) in enumerate(zip(v, refs)):
        if a._data.shape != r._data.shape:
            raise RuntimeError(f"{fn}: entry {i} of {name} has shape {a._data.shape}, expected "
                               f"{r._data.shape}")


def _call(func, inputs, fn):
    with enable_grad():
        out = func(*inputs)
    is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", fn)
    return is_tuple, outs


def _vjp_of(outs, inputs, v, create_graph, strict, fn):
    used = [o for o in outs if o.requires_grad]
    if not used:
        if strict:
            raise RuntimeError(f"{fn}: the output of the function is independent of the inputs (strict=True)")
        return tuple(type(t)(np.zeros_like(t._data)) for t in inputs)
    pairs = [(o, g) for o, g in zip(outs, v) if o.requires_grad]
    grads = _grad([o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=True,
                  create_graph=create_graph, allow_unused=True)
    return tuple(_finish(grads, inputs, create_graph, strict, fn, "input"))


def _finish(grads, refs, create_graph, strict, fn, what):
    """The gradients with None (no path from refs[i]) as zeros of refs[i]'s shape, or an error with
    strict=True; detached unless create_graph."""
    out = []
    for i, (g, t) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: {what} {i} is not connected to the graph (strict=True)")
            g = type(t)(np.zeros_like(t._data))
        out.append(g if create_graph else g.detach())
    return out


def _unpack(is_tuple, values):
    return tuple(values) if is_tuple else values[0]


def _ones_for(outs, fn, what="output"):
    for o in outs:
        if o._data.size != 1:
            raise RuntimeError(f"{fn}: v can be omitted only for a single-element {what}, got shape {o._data.shape}")
    return tuple(type(o)(np.ones_like(o._data)) for o in outs)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at inputs."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    xs = _grad_inputs(inputs, create_graph)
    out_tuple, outs = _call(func, xs, "vjp")
    vs = _ones_for(outs, "vjp") if v is None else _as_tuple(v, "v", "vjp")[1]
    _check_v(vs, outs, "v", "vjp")
    result = _vjp_of(outs, xs, vs, create_graph, strict, "vjp")
    outputs = tuple(o if create_graph else o.detach() for o in outs)
    return _unpack(out_tuple, outputs), _unpack(in_tuple, result)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product at inputs (the double-vjp trick)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    xs = _grad_inputs(inputs, create_graph)
    vs = _ones_for(xs, "jvp", "input") if v is None else _as_tuple(v, "v", "jvp")[1]
    _check_v(vs, xs, "v", "jvp")
    out_tuple, outs = _call(func, xs, "jvp")
    us = tuple(type(o)(np.zeros_like(o._data), requires_grad=True) for o in outs)
    if any(o.requires_grad for o in outs):
        g = _vjp_of(outs, xs, us, True, strict, "jvp")  # u -> u^T J, recorded (linear in u)
        live = [(a, b) for a, b in zip(g, vs) if a.requires_grad]
        if live:
            jv = _grad([a for a, _ in live], us, [b for _, b in live], retain_graph=True,
                       create_graph=create_graph, allow_unused=True)
        else:
            jv = (None,) * len(us)
    else:
        jv = (None,) * len(us)
    result = _finish(jv, outs, create_graph, strict, "jvp", "output")
    outputs = tuple(o if create_graph else o.detach() for o in outs)
    return _unpack(out_tuple, outputs), _unpack(out_tuple, result)


def _check_strategy(vectorize, strategy, fn):
    if vectorize:
        raise NotImplementedError(f"{fn}: vectorize=True is not supported (one vjp per output element is used)")
    if strategy != "reverse-mode":
        raise NotImplementedError(f"{fn}: only strategy='reverse-mode' is supported, got {strategy!r}")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of func at inputs: for output i and input j a Tensor of shape
    outputs[i].shape + inputs[j].shape, nested as torch's (a Tensor for one input and one output, a tuple
    over inputs for one output, a tuple over outputs of those otherwise)."""
    _check_strategy(vectorize, strategy, "jacobian")
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    xs = _grad_inputs(inputs, create_graph)
    out_tuple, outs = _call(func, xs, "jacobian")
    blocks = []
    for i, o in enumerate(outs):
        rows = [[] for _ in xs]
        n = o._data.size
        for k in range(n):
            if not o.requires_grad:
                if strict:
                    raise RuntimeError(f"jacobian: output {i} is independent of the inputs (strict=True)")
                gs = tuple(type(x)(np.zeros_like(x._data)) for x in xs)
            else:
                e = np.zeros(n, o._data.dtype)
                e[k] = 1
                gs = _vjp_of((o,), xs, (type(o)(e.reshape(o._data.shape)),), create_graph, strict, "jacobian")
            for j, g in enumerate(gs):
                rows[j].append(g)
        per_input = []
        for j, x in enumerate(xs):
            shape = o._data.shape + x._data.shape
            if rows[j]:
                per_input.append(stack(rows[j]).reshape(shape))
            else:
                per_input.append(type(x)(np.zeros(shape, x._data.dtype)))
        blocks.append(_unpack(in_tuple, per_input))
    return _unpack(out_tuple, blocks)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a function with a single-element output: the jacobian of its gradient, shaped
    inputs[i].shape + inputs[j].shape (nested over pairs of inputs for a tuple of inputs)."""
    _check_strategy(vectorize, outer_jacobian_strategy, "hessian")
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out_tuple, outs = _call(func, xs, "hessian")
        if out_tuple or outs[0]._data.size != 1:
            raise RuntimeError("hessian: the function must return a single-element Tensor")
        out = outs[0]
        if not out.requires_grad:
            if strict:
                raise RuntimeError("hessian: the output is independent of the inputs (strict=True)")
            zeros = tuple(type(x)(np.zeros_like(x._data)) for x in xs)
            return zeros if in_tuple else zeros[0]
        gs = _grad(out, xs, retain_graph=True, create_graph=True, allow_unused=True)
        gs = tuple(type(x)(np.zeros_like(x._data)) if g is None else g for g, x in zip(gs, xs))
        return gs if in_tuple else gs[0]

    return jacobian(gradient, inputs if in_tuple else inputs[0], create_graph=create_graph, strict=strict)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a function with a single-element output."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a function with a single-element output. Computed as v^T H (the gradient
    of grad(f) . v), which is H v for the symmetric Hessian of a twice continuously differentiable f."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph, strict, fn):
    in_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    xs = _grad_inputs(inputs, create_graph)
    vs = _ones_for(xs, fn, "input") if v is None else _as_tuple(v, "v", fn)[1]
    _check_v(vs, xs, "v", fn)
    out_tuple, outs = _call(func, xs, fn)
    if out_tuple or outs[0]._data.size != 1:
        raise RuntimeError(f"{fn}: the function given to {fn} must return a single-element Tensor")
    out = outs[0]
    result = [None] * len(xs)
    if out.requires_grad:
        gs = _grad(out, xs, retain_graph=True, create_graph=True, allow_unused=True)
        live = [(g, b) for g, b in zip(gs, vs) if g is not None and g.requires_grad]
        if live:
            result = list(_grad([g for g, _ in live], xs, [b for _, b in live], retain_graph=True,
                                create_graph=create_graph, allow_unused=True))
    elif strict:
        raise RuntimeError(f"{fn}: the output is independent of the inputs (strict=True)")
    final = _finish(result, xs, create_graph, strict, fn, "input")
    return (out if create_graph else out.detach()), _unpack(in_tuple, final)
