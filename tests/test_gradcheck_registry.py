"""Every registered differentiable op against float64 central differences, using the cases the op
itself supplies: a new op without cases, or with a wrong backward, fails here.

Every module of the package is imported first, so a Function defined anywhere (nn layers, models, a
future family file) is registered before the sweep; none can escape it by living outside autograd/.
"""
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import firstepoch
from firstepoch.autograd import REGISTRY, gradcheck


def _import_every_module():
    for info in pkgutil.walk_packages(firstepoch.__path__, "firstepoch."):
        if info.name.endswith(".__main__"):  # a command-line entry point: importing it runs the command
            continue
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as e:  # an optional extra that is not installed; our own must import
            if (e.name or "").startswith("firstepoch"):
                raise


_import_every_module()


def differentiable_ops():
    return [op for op in REGISTRY if op.differentiable]


def test_registry_is_populated():
    names = {op.__name__ for op in differentiable_ops()}
    for expected in ("AddFn", "SubFn", "MulFn", "DivFn", "PowFn", "PowTensorFn", "NegFn", "ExpFn", "LogFn", "SqrtFn",
                     "AbsFn", "ClipFn", "CastFn", "ReLUFn", "LeakyReLUFn", "SigmoidFn", "TanhFn", "SoftplusFn",
                     "GELUFn",
                     "SumFn", "MeanFn", "VarFn", "MaxFn", "MinFn", "TakeAlongDimFn",
                     "ReshapeFn", "PermuteFn", "GetItemFn", "CatFn", "StackFn", "WhereFn",
                     "MatmulFn", "SoftmaxFn", "CrossEntropyFn", "NLLLossFn", "MSELossFn", "L1LossFn",
                     "BCEWithLogitsFn", "LinearFn", "DropoutFn", "Conv2dFn", "MaxPool2dFn", "AvgPool2dFn", "BatchNormFn",
                     "RNNFn", "EmbeddingFn"):
        assert expected in names, f"{expected} is not registered"


def test_every_function_in_ops_registers_itself():
    """A Function class defined in any firstepoch.ops module is in REGISTRY by being defined (no list
    to keep up to date); only bases declared with register=False (named _Something) stay out."""
    for info in pkgutil.iter_modules(firstepoch.ops.__path__, "firstepoch.ops."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, firstepoch.autograd.Function) and cls.__module__ == module.__name__:
                assert (cls in REGISTRY) != cls.__name__.startswith("_"), f"{info.name}.{cls.__name__}"


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


def test_an_op_without_cases_fails_the_sweep():
    """The sweep's own guard: a differentiable op that supplies no cases is reported, not skipped."""
    class NoCases(firstepoch.autograd.Function):
        tensor_io = False  # an op on arrays, as firstepoch's own

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return (grad * 2,)

    try:
        assert NoCases in differentiable_ops()
        with pytest.raises(AssertionError, match="NoCases is differentiable but has no gradcheck_cases"):
            test_op_gradcheck(NoCases)
    finally:
        REGISTRY.remove(NoCases)


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(firstepoch.autograd.Function):
        tensor_io = False  # an op on arrays, as firstepoch's own
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
