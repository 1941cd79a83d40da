"""Higher-order gradients: backward(create_graph=True), autograd.grad, and the second-order check of
every op that declares a differentiable backward (backward_graph), so none escapes it."""
import importlib
import pkgutil

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.autograd import REGISTRY, Function, gradgradcheck


def _import_every_module():
    for info in pkgutil.walk_packages(fe.__path__, "firstepoch."):
        if info.name.endswith(".__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as e:
            if (e.name or "").startswith("firstepoch"):
                raise


_import_every_module()


def _supported():
    return [op for op in REGISTRY if op.differentiable and op.backward_graph is not None]


def _unsupported():
    return [op for op in REGISTRY if op.differentiable and op.backward_graph is None]


def _inputs(args):
    return [fe.tensor(a, dtype=np.float64, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype == np.float64
            else a for a in args]


def test_the_ops_ported_code_needs_support_create_graph():
    names = {op.__name__ for op in _supported()}
    for expected in ("AddFn", "SubFn", "MulFn", "DivFn", "NegFn", "PowFn", "PowTensorFn", "ExpFn", "LogFn", "SqrtFn",
                     "AbsFn", "TanhFn", "SigmoidFn", "ReLUFn", "LeakyReLUFn", "SoftplusFn", "ClipFn", "CastFn",
                     "SumFn", "MeanFn", "VarFn", "MaxFn", "MinFn", "TakeAlongDimFn", "ReshapeFn", "PermuteFn",
                     "GetItemFn", "GetItemGradFn", "CatFn", "StackFn", "WhereFn", "MatmulFn", "LinearFn", "SoftmaxFn",
                     "CrossEntropyFn", "NLLLossFn", "MSELossFn", "L1LossFn", "BCEWithLogitsFn"):
        assert expected in names, f"{expected} has no backward_graph"


@pytest.mark.parametrize("op", _supported(), ids=lambda op: op.__name__)
def test_op_gradgradcheck(op):
    """Every op with backward_graph: second derivatives (and the derivative with respect to the incoming
    gradient) against finite differences of the first gradient, over the op's own gradcheck cases."""
    cases = op.gradcheck_cases(np.random.default_rng(0))
    assert cases, f"{op.__name__} has no gradcheck_cases"
    for args, kwargs in cases:
        gradgradcheck(lambda *xs: op.apply(*xs, **kwargs), _inputs(args))


@pytest.mark.parametrize("op", _unsupported(), ids=lambda op: op.__name__)
def test_op_without_backward_graph_raises_clearly(op):
    cases = op.gradcheck_cases(np.random.default_rng(0))
    assert cases, f"{op.__name__} has no gradcheck_cases"
    args, kwargs = cases[0]
    out = op.apply(*_inputs(args), **kwargs)
    loss = (out * fe.tensor(np.random.default_rng(1).standard_normal(out.shape))).sum()
    with pytest.raises(RuntimeError, match=f"{op.__name__} does not support create_graph=True"):
        loss.backward(create_graph=True)
