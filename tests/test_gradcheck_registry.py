"""Every registered differentiable op against float64 central differences, using the cases the op
itself supplies: a new op without cases, or with a wrong backward, fails here."""
import numpy as np
import pytest

import firstepoch
from firstepoch.autograd import REGISTRY, gradcheck

import firstepoch.nn  # noqa: F401  (layers define Functions too)


def differentiable_ops():
    return [op for op in REGISTRY if op.differentiable]


def test_registry_is_populated():
    names = {op.__name__ for op in differentiable_ops()}
    for expected in ("Add", "Mul", "MatMul", "Exp", "Sum", "Max", "GetItem", "Cat", "ReLU", "LogSoftmax",
                     "CrossEntropy", "LinearFunction", "DropoutFunction"):
        assert expected in names, f"{expected} is not registered"


@pytest.mark.parametrize("op", differentiable_ops(), ids=lambda op: op.__name__)
def test_op_gradcheck(op):
    rng = np.random.default_rng(0)
    cases = op.gradcheck_cases(rng)
    assert cases, f"{op.__name__} is differentiable but has no gradcheck_cases"
    for args, kwargs in cases:
        inputs = [firstepoch.tensor(a, dtype=np.float64, requires_grad=True)
                  if isinstance(a, np.ndarray) and a.dtype == np.float64 else a for a in args]
        assert any(isinstance(x, firstepoch.Tensor) for x in inputs), f"{op.__name__}: a case has no float64 input"
        gradcheck(lambda *xs: op.apply(*xs, **kwargs), inputs)


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(firstepoch.autograd.Function):
        differentiable = False  # keep it out of the registry sweep

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return (grad * x,)  # should be 2x

    WrongSquare.differentiable = True
    x = firstepoch.tensor(np.array([1.0, 2.0]), dtype=np.float64, requires_grad=True)
    try:
        with pytest.raises(AssertionError, match="gradcheck failed for input 0"):
            gradcheck(lambda t: WrongSquare.apply(t), [x])
    finally:
        REGISTRY.remove(WrongSquare)
