"""The op layer's house rules, checked as behaviour: each op family has one home in firstepoch.ops
(the only Python that calls its `_C` entries) and a NumPy twin of the same name in
firstepoch.reference; nn holds Modules only; Functions never share a name with a Module; Sequential
fuses a layer with the activation after it by what the modules declare, not by their types; the
matmul path is chosen by layout, so the kernel is never called just to fail."""
import importlib
import inspect
import pathlib
import re

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch import _C
from firstepoch.autograd import REGISTRY

PACKAGE = pathlib.Path(fe.__file__).parent
FAMILIES = ["elementwise", "linalg", "conv", "pool", "norm", "softmax", "loss", "rnn", "dropout", "embedding", "optim",
            "reduce"]
# the _C entries of those families (the kernels' own names); cpu_info, set_isa and the like are not ops
FAMILY_ENTRIES = re.compile(r"_C\.(gemm|conv2d_\w+|im2col|col2im|max_pool2d\w*|avg_pool2d\w*|batch_norm_\w+|"
                            r"softmax_\w+|cross_entropy_\w+|rnn_\w+|sgd_update|sgd_update_many|adam_update|activation_\w+|prelu_\w+|"
                            r"pointwise_loss_\w+|reduce_\w+)\(")


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
    np.testing.assert_allclose(y._data, want._data, rtol=1e-6)


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
    assert np.array_equal(nn.Sequential(layer, nn.ReLU())(x).data, layer(x).relu()._data)


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
    np.testing.assert_allclose(out._data, a._data.T @ b._data)
    rev = fe.tensor(np.arange(16.0, dtype=np.float32).reshape(4, 4)).flip((0, 1))  # unreadable: copied once
    np.testing.assert_allclose((rev @ rev).data, rev._data @ rev._data)


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
    np.testing.assert_allclose(y._data, RD.dropout_forward(x, 0.3, keep), rtol=1e-15)
    np.testing.assert_allclose(X.grad, RD.dropout_backward(g, 0.3, keep), rtol=1e-15)
    w = rng.standard_normal((6, 3))
    idx = np.array([[1, 4, 1], [0, 5, 3]])
    W = fe.tensor(w, requires_grad=True)
    out = embedding(idx, W, padding_idx=4)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    np.testing.assert_array_equal(out._data, RE.embedding_forward(w, idx))
    np.testing.assert_allclose(W.grad, RE.embedding_backward(g, idx, 6, padding_idx=4), rtol=1e-14)


# ---- one name, one argument order: reference twin, _C entry, ops -------------------------------------
# Every kernel entry of these families, with the output buffers it overwrites. The rule (csrc/README.md):
# _C.<op>(input arrays, output buffers, options); with the output buffers taken out, the arguments are
# those of reference.<family>.<op>, name for name. A reference whose output shape its other arguments
# do not fix takes `<buffer>_shape` in the buffer's place. The kernels see 2-D rows, so softmax's `dim`
# is ops' to move last: the one argument the kernel leaves to Python. (rnn: tests/test_rnn.py.)
KERNEL_ENTRIES = {
    "gemm": ("linalg", ()),
    "conv2d_forward": ("conv", ("y",)),
    "conv2d_backward": ("conv", ("dx", "dweight")),
    "conv2d_backward_bias": ("conv", ("dy_out", "dbias")),
    "im2col": ("conv", ("col",)),
    "col2im": ("conv", ("dx",)),
    "max_pool2d_forward": ("pool", ("y", "argmax")),
    "max_pool2d_backward": ("pool", ("dx",)),
    "avg_pool2d_forward": ("pool", ("y",)),
    "avg_pool2d_backward": ("pool", ("dx",)),
    "batch_norm_forward": ("norm", ("y", "mean", "invstd", "var")),
    "batch_norm_eval_forward": ("norm", ("y",)),
    "batch_norm_backward": ("norm", ("dx", "dgamma", "dbeta")),
    "softmax_forward": ("softmax", ("out",)),
    "softmax_backward": ("softmax", ("dx",)),
    "cross_entropy_forward": ("loss", ("loss", "stats")),
    "cross_entropy_backward": ("loss", ("dlogits",)),
    "sgd_update": ("optim", ()),
    "sgd_update_many": ("optim", ()),
    "adam_update": ("optim", ()),
    "activation_forward": ("elementwise", ("y",)),
    "activation_backward": ("elementwise", ("dx",)),
    "prelu_forward": ("elementwise", ("y",)),
    "prelu_backward": ("elementwise", ("dx", "dweight")),
    "pointwise_loss_forward": ("loss", ("out",)),
    "pointwise_loss_backward": ("loss", ("dinput", "dtarget")),
    "reduce_sum": ("reduce", ()),
}
LEFT_TO_PYTHON = {"softmax_forward": ("dim",), "softmax_backward": ("dim",)}


def kernel_arguments(entry):
    """The argument names of a _C entry, read from pybind11's signature line."""
    line = getattr(_C, entry).__doc__.splitlines()[0]
    assert line.startswith(entry + "("), line
    inner, depth, parts, cur = line[len(entry) + 1:line.rindex(") ->")], 0, [], ""
    for ch in inner:  # split at the commas outside brackets (types like tuple[int, int] hold commas)
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.split(":")[0].strip() for p in parts if p.strip() not in ("*", "/", "")]


def python_arguments(fn, skip=0):
    return list(inspect.signature(fn).parameters)[skip:]


@pytest.mark.parametrize("entry", sorted(KERNEL_ENTRIES))
def test_kernel_entry_and_its_reference_take_the_same_arguments_in_the_same_order(entry):
    family, outputs = KERNEL_ENTRIES[entry]
    ref = getattr(importlib.import_module(f"firstepoch.reference.{family}"), entry, None)
    assert ref is not None, f"reference.{family} has no {entry}, the twin of _C.{entry}"
    args = kernel_arguments(entry)
    assert set(outputs) <= set(args), f"_C.{entry}{tuple(args)} lacks output buffers {outputs}"
    ref_args = python_arguments(ref)
    want = [a + "_shape" if a in outputs and a + "_shape" in ref_args else a
            for a in args if a not in outputs or a + "_shape" in ref_args]
    got = [a for a in ref_args if a not in LEFT_TO_PYTHON.get(entry, ())]
    assert got == want, f"reference.{family}.{entry}{tuple(ref_args)} vs _C.{entry}{tuple(args)} (outputs {outputs})"
    at = [args.index(o) for o in outputs]
    assert at == list(range(at[0], at[0] + len(at))) if at else True, f"_C.{entry}{tuple(args)}: {outputs} apart"


def test_every_family_kernel_entry_is_paired_with_a_reference():
    entries = {n for n in dir(_C) if FAMILY_ENTRIES.search(f"_C.{n}(") and not n.startswith("rnn_")}
    assert entries == set(KERNEL_ENTRIES), f"unpaired: {sorted(entries ^ set(KERNEL_ENTRIES))}"


def test_ops_functions_take_their_reference_twins_arguments():
    """A Function's forward (after ctx) and an ops array function take the reference's arguments."""
    from firstepoch.ops import conv, loss, optim, pool, softmax
    from firstepoch.reference import conv as RC, loss as RL, optim as RO, pool as RP, softmax as RS
    pairs = [(conv.Conv2dFn.forward, RC.conv2d_forward), (pool.MaxPool2dFn.forward, RP.max_pool2d_forward),
             (pool.AvgPool2dFn.forward, RP.avg_pool2d_forward), (softmax.SoftmaxFn.forward, RS.softmax_forward),
             (loss.CrossEntropyFn.forward, RL.cross_entropy)]
    for fn, ref in pairs:
        assert python_arguments(fn, 1) == python_arguments(ref), f"{fn.__qualname__} vs reference {ref.__name__}"
    for mod, rmod, names in [(softmax, RS, ("softmax_forward", "softmax_backward")),
                             (loss, RL, ("cross_entropy_forward", "cross_entropy_backward")),
                             (optim, RO, ("sgd_update", "sgd_update_many", "adam_update"))]:
        for name in names:
            assert python_arguments(getattr(mod, name)) == python_arguments(getattr(rmod, name)), name
