"""The op layer's house rules, checked as behaviour: each op family has one home in firstepoch.ops
(the only Python that calls its `_C` entries) and a NumPy twin of the same name in
firstepoch.reference; nn holds Modules only; Functions never share a name with a Module; Sequential
fuses a layer with the activation after it by what the modules declare, not by their types; the
matmul path is chosen by layout, so the kernel is never called just to fail."""
import importlib
import pathlib
import re

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch import _C
from firstepoch.autograd import REGISTRY

PACKAGE = pathlib.Path(fe.__file__).parent
FAMILIES = ["linalg", "conv", "pool", "norm", "softmax", "loss", "rnn", "dropout", "embedding", "optim"]
# the _C entries of those families (the kernels' own names); cpu_info, set_isa and the like are not ops
FAMILY_ENTRIES = re.compile(r"_C\.(gemm|conv2d_\w+|im2col|col2im|max_pool2d\w*|avg_pool2d\w*|batch_norm_\w+|"
                            r"softmax_\w+|cross_entropy_\w+|rnn_\w+|sgd_update|adam_update)\(")


@pytest.mark.parametrize("family", FAMILIES)
def test_every_op_family_has_one_home_and_a_reference_twin(family):
    ops = importlib.import_module(f"firstepoch.ops.{family}")
    ref = importlib.import_module(f"firstepoch.reference.{family}")
    assert ops.__doc__ and ref.__doc__, f"{family}: both files open with what they compute"


def test_only_ops_calls_the_family_kernels():
    callers = sorted(str(f.relative_to(PACKAGE)) for f in PACKAGE.rglob("*.py")
                     if f.relative_to(PACKAGE).parts[0] != "ops" and FAMILY_ENTRIES.search(f.read_text()))
    assert callers == [], f"these files call op kernels outside firstepoch/ops: {callers}"


def test_nn_holds_modules_only_and_op_functions_never_share_a_module_name():
    modules = {name for name in dir(nn) if isinstance(getattr(nn, name), type)}
    for fn in REGISTRY:
        assert not fn.__module__.startswith("firstepoch.nn"), f"{fn.__name__} is a Function inside {fn.__module__}"
        if fn.__module__.split(".")[-1] in FAMILIES:
            assert fn.__name__.endswith("Fn") and fn.__name__ not in modules, fn.__name__


def _recording_gemm(monkeypatch):
    calls = []
    real = _C.gemm

    def gemm(a, b, out, **kw):
        calls.append((kw.get("bias") is not None, kw.get("relu", False)))
        return real(a, b, out, **kw)
    monkeypatch.setattr(_C, "gemm", gemm)
    return calls


def test_sequential_fuses_linear_and_relu_into_one_gemm(monkeypatch):
    calls = _recording_gemm(monkeypatch)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    x = fe.randn(4, 6)
    y = model(x)
    assert calls == [(True, True), (True, True), (True, False)]  # bias and ReLU in the epilogue
    want = x
    for m in model:
        want = m(want)
    np.testing.assert_allclose(y.data, want.data, rtol=1e-6)


def test_sequential_fusion_is_a_protocol_not_a_type_check():
    """Any layer may declare that it absorbs the activation after it; a subclass that changes forward
    is not fused on its parent's word."""
    seen = []

    class Double(nn.Module):
        def forward(self, x):
            return x * 2

        def absorbs_activation(self, name):
            return name == "relu"

        def forward_with_activation(self, x, name):
            seen.append(name)
            return (x * 2).relu()

    x = fe.tensor(np.array([[-1.0, 2.0]], np.float32))
    assert np.array_equal(nn.Sequential(Double(), nn.ReLU())(x).data, [[0.0, 4.0]])
    assert seen == ["relu"]

    class ShiftedLinear(nn.Linear):
        def forward(self, x):
            return super().forward(x) - 100.0  # a ReLU after this must see the shift

    layer = ShiftedLinear(2, 2)
    assert np.array_equal(nn.Sequential(layer, nn.ReLU())(x).data, layer(x).relu().data)


def test_linear_refuses_an_activation_it_cannot_fuse():
    from firstepoch.ops.linalg import LinearFn, fusable
    assert fusable("relu") and not fusable("tanh")
    with pytest.raises(ValueError, match="activation must be None or one of"):
        LinearFn.apply(fe.randn(2, 3), fe.randn(4, 3), None, "tanh")


def test_matmul_reads_a_transposed_operand_without_a_failed_kernel_call(monkeypatch):
    a = fe.tensor(np.arange(12.0).reshape(3, 4).astype(np.float32))
    b = fe.tensor(np.ones((3, 2), np.float32))
    calls = _recording_gemm(monkeypatch)
    out = a.T @ b
    assert len(calls) == 1
    np.testing.assert_allclose(out.data, a.data.T @ b.data)
    rev = fe.tensor(np.arange(16.0, dtype=np.float32).reshape(4, 4))[::-1, ::-1]  # unreadable: copied once
    np.testing.assert_allclose((rev @ rev).data, rev.data @ rev.data)


def test_dropout_and_embedding_match_their_references(rng):
    from firstepoch.ops.dropout import DropoutFn
    from firstepoch.ops.embedding import embedding
    from firstepoch.reference import dropout as RD, embedding as RE
    x = rng.standard_normal((4, 5))
    keep = rng.random((4, 5)) >= 0.3
    X = fe.tensor(x, requires_grad=True)
    y = DropoutFn.apply(X, 0.3, keep)
    g = rng.standard_normal((4, 5))
    y.backward(g)
    np.testing.assert_allclose(y.data, RD.dropout_forward(x, 0.3, keep), rtol=1e-15)
    np.testing.assert_allclose(X.grad, RD.dropout_backward(g, 0.3, keep), rtol=1e-15)
    w = rng.standard_normal((6, 3))
    idx = np.array([[1, 4, 1], [0, 5, 3]])
    W = fe.tensor(w, requires_grad=True)
    out = embedding(idx, W, padding_idx=4)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    np.testing.assert_array_equal(out.data, RE.embedding_forward(w, idx))
    np.testing.assert_allclose(W.grad, RE.embedding_backward(g, idx, 6, padding_idx=4), rtol=1e-14)
