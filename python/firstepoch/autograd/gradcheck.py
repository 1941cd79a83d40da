"""Finite-difference gradient check in float64: the proof that each backward is right."""
import numpy as np

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
