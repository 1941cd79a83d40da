"""Finite-difference gradient checks in float64: gradcheck, the proof that each backward is right, and
gradgradcheck, the same for the gradient of a gradient (each op's backward_graph)."""
import numpy as np

from .engine import grad
from .function import TensorBase, no_grad


def _central_differences(t, value, eps):
    """d value() / d t by central differences, perturbing t's entries in place one at a time."""
    numeric = np.zeros(t.shape)
    flat = t._data.reshape(-1)  # a view: perturb in place
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        plus = value()
        flat[i] = orig - eps
        minus = value()
        flat[i] = orig
        numeric.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return numeric


def _compare(analytic, numeric, atol, rtol, failure):
    """Raises AssertionError (failure(worst index, max error) is the message) unless analytic is
    finite and within atol + rtol*|numeric| of numeric everywhere."""
    err = np.abs(analytic - numeric)
    tol = atol + rtol * np.abs(numeric)
    if np.any(err > tol) or not np.all(np.isfinite(analytic)):
        worst = np.unravel_index(np.argmax(err - tol), err.shape) if err.size else ()
        raise AssertionError(failure(worst, err.max()))


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compares autograd's gradients of ``fn(*inputs)`` with central differences.

    inputs: Tensors (float64, those with requires_grad=True are checked) or other values passed as
    they are. The output may have any shape: it is reduced with a fixed random weighting, so every
    output element's gradient is tested. Returns True, or raises AssertionError naming the input and
    the worst entry.
    """
    tensors = [x for x in inputs if isinstance(x, TensorBase) and x.requires_grad]
    for t in tensors:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs, got {t.dtype} for an input of shape {t.shape}")
    out = fn(*inputs)
    weight = np.random.default_rng(seed).standard_normal(out.shape)

    def scalar_value():
        with no_grad():
            return float(np.sum(fn(*inputs)._data * weight))

    for t in tensors:
        t._grad = None
    (out * weight).sum().backward()  # an array operand becomes a Tensor of its dtype
    for index, t in enumerate(tensors):
        analytic = np.zeros_like(t._data) if t.grad is None else t._grad._data
        numeric = _central_differences(t, scalar_value, eps)
        _compare(analytic, numeric, atol, rtol, lambda worst, err, index=index, t=t, analytic=analytic,
                 numeric=numeric: (
            f"gradcheck failed for input {index} of shape {t.shape}: at index {tuple(int(i) for i in worst)} "
            f"autograd gives {analytic[worst]!r}, finite differences {numeric[worst]!r} (max abs error {err:.3g})"))
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Second-order check of ``fn(*inputs)`` (as torch.autograd.gradgradcheck): the gradients computed
    with create_graph=True (each op's backward_graph) are differentiated again and compared with
    central differences of the first gradient.

    With a fixed random output weighting w (itself an input, so the derivative with respect to the
    incoming gradient is checked too) and fixed random directions u_k, the checked function is
    s = sum_k <d<fn, w>/d x_k, u_k>: its autograd gradient (through backward_graph) against finite
    differences of s computed by the ordinary backward. The first gradients of backward_graph and
    backward must also agree. Returns True, or raises AssertionError naming the input and entry.
    """
    tensors = [x for x in inputs if isinstance(x, TensorBase) and x.requires_grad]
    for t in tensors:
        if t.dtype != np.float64:
            raise TypeError(f"gradgradcheck needs float64 inputs, got {t.dtype} for an input of shape {t.shape}")
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    cls = type(out)
    w = cls._wrap(rng.standard_normal(out.shape), True)
    directions = [rng.standard_normal(t.shape) for t in tensors]

    def first_grads(create_graph):
        return grad((fn(*inputs) * w).sum(), tensors, create_graph=create_graph, allow_unused=True)

    def s_value():
        return sum(float(np.sum(g._data * u)) for g, u in zip(first_grads(False), directions) if g is not None)

    graph_grads = first_grads(True)
    for index, (g_graph, g_plain) in enumerate(zip(graph_grads, first_grads(False))):
        a = np.zeros(tensors[index].shape) if g_graph is None else g_graph._data
        b = np.zeros(tensors[index].shape) if g_plain is None else g_plain._data
        if not np.allclose(a, b, atol=atol, rtol=rtol):
            raise AssertionError(f"gradgradcheck: for input {index} of shape {tensors[index].shape}, the first "
                                 f"gradient with create_graph=True differs from backward's (max abs difference "
                                 f"{np.max(np.abs(a - b)):.3g})")
    terms = [(g * cls._wrap(u, False)).sum() for g, u in zip(graph_grads, directions)
             if g is not None and g.requires_grad]
    wrt = tensors + [w]
    if terms:
        s = terms[0]
        for term in terms[1:]:
            s = s + term
        analytic = [np.zeros(t.shape) if g is None else g._data
                    for g, t in zip(grad(s, wrt, allow_unused=True), wrt)]
    else:  # no first gradient depends on an input: every second derivative is zero
        analytic = [np.zeros(t.shape) for t in wrt]
    for index, (t, an) in enumerate(zip(wrt, analytic)):
        numeric = _central_differences(t, s_value, eps)
        name = f"input {index}" if index < len(tensors) else "the output weighting (the incoming gradient)"
        _compare(an, numeric, atol, rtol, lambda worst, err, name=name, t=t, an=an, numeric=numeric: (
            f"gradgradcheck failed for {name} of shape {t.shape}: at index {tuple(int(i) for i in worst)} "
            f"second-order autograd gives {an[worst]!r}, finite differences of the first gradient "
            f"{numeric[worst]!r} (max abs error {err:.3g})"))
    return True
