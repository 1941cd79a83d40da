"""Finite-difference gradient checks in float64: gradcheck, the proof that each backward is right, and
gradgradcheck, the same for the gradient of a gradient (each op's backward_graph)."""
import numpy as np

from .engine import grad
from .function import TensorBase, no_grad


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
        numeric = np.zeros_like(t._data)
        flat = t._data.reshape(-1)  # a view: perturb in place
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            plus = scalar_value()
            flat[i] = orig - eps
            minus = scalar_value()
            flat[i] = orig
            numeric.reshape(-1)[i] = (plus - minus) / (2 * eps)
        err = np.abs(analytic - numeric)
        tol = atol + rtol * np.abs(numeric)
        if np.any(err > tol) or not np.all(np.isfinite(analytic)):
            worst = np.unravel_index(np.argmax(err - tol), err.shape) if err.size else ()
            raise AssertionError(
                f"gradcheck failed for input {index} of shape {t.shape}: at index {tuple(int(i) for i in worst)} "
                f"autograd gives {analytic[worst]!r}, finite differences {numeric[worst]!r} "
                f"(max abs error {err.max():.3g})")
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
        numeric = np.zeros(t.shape)
        flat = t._data.reshape(-1)  # a view: perturb in place
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            plus = s_value()
            flat[i] = orig - eps
            minus = s_value()
            flat[i] = orig
            numeric.reshape(-1)[i] = (plus - minus) / (2 * eps)
        err = np.abs(an - numeric)
        tol = atol + rtol * np.abs(numeric)
        if np.any(err > tol) or not np.all(np.isfinite(an)):
            worst = np.unravel_index(np.argmax(err - tol), err.shape) if err.size else ()
            name = f"input {index}" if index < len(tensors) else "the output weighting (the incoming gradient)"
            raise AssertionError(
                f"gradgradcheck failed for {name} of shape {t.shape}: at index {tuple(int(i) for i in worst)} "
                f"second-order autograd gives {an[worst]!r}, finite differences of the first gradient "
                f"{numeric[worst]!r} (max abs error {err.max():.3g})")
    return True
