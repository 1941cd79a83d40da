"""The autograd engine and the Function contract: what apply() records, how backward walks and frees
the graph, no_grad, gradcheck itself, and every registered op's float32 path (dtypes kept, values
close to float64)."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch.autograd import REGISTRY, Function, gradcheck

import test_gradcheck_registry  # noqa: F401  (imports every module, so REGISTRY is complete)


def t64(a, grad=True):
    return fe.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


class Scale(Function):
    """y = x * k for a constant k passed positionally, with an offset passed as a keyword: a test op."""

    tensor_io = False  # an op on arrays, as firstepoch's own (not torch's Tensor contract)

    @staticmethod
    def forward(ctx, x, k, offset=0.0):
        ctx.seen = (type(x), k, offset, list(ctx.needs_input_grad))
        ctx.k = k
        return x * k + offset

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.k, None

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((2, 3)), 3.0), {"offset": 1.0})]


def test_apply_unwraps_tensors_and_records_the_node():
    x = t64([1.0, 2.0])
    y = Scale.apply(x, 2.0, offset=0.5)
    assert isinstance(y, fe.Tensor) and y.requires_grad and y.grad_fn is Scale and not y.is_leaf
    assert y._ctx.seen == (np.ndarray, 2.0, 0.5, [True, False])
    np.testing.assert_array_equal(y._data, [2.5, 4.5])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_apply_records_nothing_without_grad_inputs_or_under_no_grad():
    x = t64([1.0], grad=False)
    y = Scale.apply(x, 2.0)
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    xg = t64([1.0])
    with fe.no_grad():
        z = Scale.apply(xg, 2.0)
    assert not z.requires_grad and z._ctx is None


def test_non_differentiable_ops_do_not_record():
    class Floor(Function):
        tensor_io = False  # an op on arrays, as firstepoch's own (not torch's Tensor contract)

        differentiable = False

        @staticmethod
        def forward(ctx, x):
            return np.floor(x)

    try:
        y = Floor.apply(t64([1.5]))
        assert not y.requires_grad and y.grad_fn is None
    finally:
        REGISTRY.remove(Floor)


def test_diamond_graph_accumulates_both_paths():
    x = t64([2.0])
    a = x * 3.0
    b = x.exp()
    (a * b).sum().backward()  # d/dx 3x e^x = 3e^x + 3x e^x
    np.testing.assert_allclose(x.grad, [3 * np.exp(2) * 3])


def test_a_tensor_used_as_both_operands():
    x = t64([3.0, -1.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, -2.0])
    y = t64([1.0, 2.0])
    (y + y).sum().backward()  # Add hands the same gradient array to both inputs
    np.testing.assert_allclose(y.grad, [2.0, 2.0])


def test_leaf_gradients_never_share_memory():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0])
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 1  # an in-place change to one leaf's gradient leaves the other alone
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    c = t64([[1.0, 2.0]])
    (c.reshape(2) * 1.0).sum().backward()
    assert c.grad._data.flags.writeable and c.grad.shape == (1, 2)


def test_long_chain_backward_is_iterative():
    x = t64([0.5])
    y = x
    for _ in range(100_000):
        y = y + 0.0
    y.backward(np.ones(1))
    np.testing.assert_array_equal(x.grad, [1.0])


def test_second_backward_needs_retain_graph():
    x = t64([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    z = (x * 2).sum()
    x.grad = None
    z.backward(retain_graph=True)
    z.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


def test_backward_argument_errors():
    x = t64([1.0, 2.0])
    with pytest.raises(ValueError, match=r"grad has shape \(3,\), the output has shape \(2,\)"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        t64([1.0], grad=False).backward()


def test_engine_rejects_a_gradient_of_the_wrong_shape_or_dtype():
    class BadShape(Function):
        tensor_io = False  # an op on arrays, as firstepoch's own (not torch's Tensor contract)

        differentiable = False

        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad):
            return (np.ones(7),)

    class BadDtype(Function):
        tensor_io = False  # an op on arrays, as firstepoch's own (not torch's Tensor contract)

        differentiable = False

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return (grad.astype(np.float32) * 2,)

    try:
        for op, msg in ((BadShape, r"BadShape.backward returned a float64 gradient of shape \(7,\)"),
                        (BadDtype, "BadDtype.backward returned a float32 gradient .* for a float64 input")):
            op.differentiable = True
            x = t64([1.0, 2.0])
            with pytest.raises(RuntimeError, match=msg):
                op.apply(x).sum().backward()
    finally:
        REGISTRY.remove(BadShape)
        REGISTRY.remove(BadDtype)


def test_no_grad_nests_restores_and_decorates():
    x = t64([1.0])
    assert fe.is_grad_enabled()
    with fe.no_grad():
        assert not fe.is_grad_enabled()
        with fe.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert fe.is_grad_enabled()
    with pytest.raises(ZeroDivisionError):
        with fe.no_grad():
            1 / 0
    assert fe.is_grad_enabled()

    @fe.no_grad()
    def infer(v):
        return v * 2

    assert not infer(x).requires_grad and fe.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = t64([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    y = (x * d).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])  # d counts as a constant


def test_integer_tensors_never_require_grad():
    labels = fe.tensor([0, 2, 1])
    assert labels.dtype == np.int64 and not labels.requires_grad
    with pytest.raises(RuntimeError, match="floating point .*can require gradients"):
        labels.requires_grad_()
    x = t64([1.0, 2.0, 3.0])
    y = (x * labels).sum()  # the int64 operand takes x's dtype and gets no gradient
    y.backward()
    assert x.grad.dtype == np.float64 and labels.grad is None
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 1.0])


# ---- gradcheck itself ------------------------------------------------------------------------------

def test_gradcheck_passes_and_fails_with_a_clear_message():
    x, w = t64(np.linspace(-1, 1, 6).reshape(2, 3)), t64(np.linspace(0.5, 1.5, 12).reshape(3, 4))
    assert gradcheck(lambda a, b: (a @ b).tanh(), [x, w])

    class HalfGrad(Function):
        tensor_io = False  # an op on arrays, as firstepoch's own (not torch's Tensor contract)

        differentiable = False

        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad * 1.0, grad * 0.5  # both wrong: d(ab)/da = b

    HalfGrad.differentiable = True  # defined as False to stay out of the registry sweep
    try:
        a, b = t64([[1.0, 2.0]]), t64([[3.0, 4.0]])
        with pytest.raises(AssertionError, match=r"input 0 of shape \(1, 2\): at index \(0, 1\)"):
            gradcheck(lambda p, q: HalfGrad.apply(p, q), [a, b])
    finally:
        REGISTRY.remove(HalfGrad)
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda p: p * 2, [fe.tensor([1.0], requires_grad=True)])


def test_gradcheck_passes_non_tensor_inputs_through():
    x = t64([[0.3, -0.2, 0.9]])
    assert gradcheck(lambda v, k: Scale.apply(v, k, offset=2.0), [x, 4.0])


# ---- every registered op in float32 -----------------------------------------------------------------

def _float32_ops():
    return [op for op in REGISTRY if op.differentiable and op.gradcheck_cases(np.random.default_rng(0))]


@pytest.mark.parametrize("op", _float32_ops(), ids=lambda op: op.__name__)
def test_every_op_keeps_float32_and_agrees_with_float64(op):
    """Forward and backward in float32 keep float32 (no silent float64 temporaries leaking out) and
    agree with the same op in float64."""
    for args, kwargs in op.gradcheck_cases(np.random.default_rng(1)):
        results = {}
        for dtype in (np.float32, np.float64):
            inputs = [fe.tensor(a.astype(dtype), requires_grad=True)
                      if isinstance(a, np.ndarray) and a.dtype == np.float64 else a for a in args]
            # arrays among the keywords (batch norm's running statistics) follow the dtype too: ops refuse a
            # mix, as torch ("mixed dtype")
            kw = {k: v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype == np.float64 else v
                  for k, v in kwargs.items()}
            out = op.apply(*inputs, **kw)
            weight = np.random.default_rng(2).standard_normal(out.shape).astype(out.dtype)
            out.backward(weight)
            grads = [x.grad for x in inputs if isinstance(x, fe.Tensor) and x.requires_grad]
            for x, g in zip([x for x in inputs if isinstance(x, fe.Tensor) and x.requires_grad], grads):
                assert g is not None and g.dtype == x.dtype, f"{op.__name__}: gradient dtype {g and g.dtype}"
            results[dtype] = (out, grads)
        out32, grads32 = results[np.float32]
        out64, grads64 = results[np.float64]
        if op.__name__ != "CastFn":
            assert out32.dtype == np.float32, f"{op.__name__}: float32 inputs gave a {out32.dtype} output"
        np.testing.assert_allclose(out32._data, out64._data, rtol=1e-4, atol=1e-4)
        for g32, g64 in zip(grads32, grads64):
            np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-3)


# ---- x[index] gradients added into one array (Function.backward_into) -------------------------------------

def test_split_pieces_gradients_are_summed_into_one_array():
    """The pieces of x.split(...) each had a backward that made a zero array of x's shape, and the engine
    added those whole: peak memory of the backward was ~3 arrays of x's size. Now they are scattered into
    one."""
    import tracemalloc
    x = fe.tensor(np.random.default_rng(0).standard_normal(1 << 20), requires_grad=True)
    pieces = x.split(1 << 18)
    loss = sum((p * float(i + 1)).sum() for i, p in enumerate(pieces))
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    loss.backward()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    expect = np.repeat(np.arange(1.0, 5.0), 1 << 18)
    np.testing.assert_array_equal(x.grad._data, expect)
    assert peak < 2.2 * x._data.nbytes, peak / x._data.nbytes


def test_index_gradients_add_to_other_uses_of_the_input():
    """x used by an op and by slices and a fancy index with repeats: the sum is the reference's, whether
    the slices come first or last, and a hook on x sees the whole sum once."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 4))
    seen = []
    for order in range(2):
        x = fe.tensor(a, requires_grad=True)
        x.register_hook(lambda g: seen.append(g._data.copy()))
        parts = [(x * 3.0).sum(), (x[1:3] ** 2).sum(), x[np.array([0, 0, 4])].sum() * 2.0, x[:, ::2].sum()]
        loss = sum(parts if order == 0 else parts[::-1])
        loss.backward()
        want = np.full_like(a, 3.0)
        want[1:3] += 2 * a[1:3]
        want[0] += 4.0
        want[4] += 2.0
        want[:, ::2] += 1.0
        np.testing.assert_allclose(x.grad._data, want, rtol=1e-15, atol=1e-15)
        np.testing.assert_allclose(seen[-1], want, rtol=1e-15, atol=1e-15)
    assert len(seen) == 2


def test_index_gradients_under_profile_and_anomaly_mode():
    a = np.random.default_rng(2).standard_normal((6, 3))
    grads = []
    for mode in ("plain", "profile", "anomaly"):
        x = fe.tensor(a, requires_grad=True)
        q, k, v = x.split(2)
        loss = (q * k).sum() + (v ** 3).sum() + x.sum()
        if mode == "profile":
            with fe.profile() as prof:
                loss.backward()
            rows = {(r["op"], r["phase"]): r for r in prof.rows()}
            assert rows[("GetItemFn", "backward")]["calls"] == 3
        elif mode == "anomaly":
            with fe.autograd.detect_anomaly():
                loss.backward()
        else:
            loss.backward()
        grads.append(x.grad._data)
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[0], grads[2])
    np.testing.assert_allclose(grads[0], np.concatenate([a[2:4], a[0:2], 3 * a[4:] ** 2]) + 1.0)
