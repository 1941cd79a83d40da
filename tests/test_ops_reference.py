"""ops/<family>.py against reference/<family>.py for the NumPy-backed families (elementwise, shape,
reduce): every Function the ops file defines has `<name>_forward` and `<name>_backward` in the
reference file of the same name (ReLUFn -> relu_forward, TakeAlongDimFn -> take_along_dim_forward),
and agrees with them in float64 on the random inputs the op's gradcheck_cases draw."""
import importlib
import inspect
import re

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.autograd import Function

FAMILIES = ["elementwise", "shape", "reduce"]


def reference_name(fn):
    """ReLUFn -> relu, LeakyReLUFn -> leaky_relu, GetItemFn -> get_item."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", fn.__name__[:-2].replace("ReLU", "Relu")).lower()


def ops_of(family):
    module = importlib.import_module(f"firstepoch.ops.{family}")
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Function) and c.__module__ == module.__name__ and not c.__name__.startswith("_")]


CASES = [(family, fn) for family in FAMILIES for fn in ops_of(family)]


def test_every_family_has_ops():
    for family in FAMILIES:
        assert ops_of(family), f"ops/{family}.py defines no Function"


@pytest.mark.parametrize("family,fn", CASES, ids=[fn.__name__ for _, fn in CASES])
def test_op_matches_its_reference(family, fn):
    assert fn.__name__.endswith("Fn"), f"{fn.__name__}: Functions are named <Op>Fn"
    ref = importlib.import_module(f"firstepoch.reference.{family}")
    name = reference_name(fn)
    forward, backward = getattr(ref, f"{name}_forward", None), getattr(ref, f"{name}_backward", None)
    assert forward and backward, f"reference/{family}.py has no {name}_forward / {name}_backward for {fn.__name__}"
    rng = np.random.default_rng(0)
    for args, kwargs in fn.gradcheck_cases(rng):
        inputs = [fe.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype == np.float64 else a
                  for a in args]
        out = fn.apply(*inputs, **kwargs)
        np.testing.assert_allclose(out._data, forward(*args, **kwargs), rtol=1e-7, atol=1e-7,
                                   err_msg=f"{fn.__name__} forward")
        dy = rng.standard_normal(out.shape)
        out.backward(dy)
        expected = backward(dy, *args, **kwargs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        grads = [x.grad for x in inputs if isinstance(x, fe.Tensor)]
        assert len(grads) == len(expected), f"{fn.__name__}: {len(grads)} gradients, reference gives {len(expected)}"
        for i, (g, e) in enumerate(zip(grads, expected)):
            np.testing.assert_allclose(g, e, rtol=1e-7, atol=1e-7, err_msg=f"{fn.__name__} gradient of input {i}")
