"""torch.autograd as ported code meets it: a custom autograd.Function written on Tensors (forward and
backward see Tensors, ctx.save_for_backward / saved_tensors, several outputs, mark_non_differentiable,
set_materialize_grads, double backward, once_differentiable), torch.autograd.functional (jacobian,
hessian, vjp, jvp, hvp, vhp), autograd.backward over several tensors, inference_mode, bare no_grad /
enable_grad decorators, detach_, and the error classes of requires_grad_ / register_hook / retain_grad.
Expected values are written out, so these run without torch; the last tests compare with it."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch.autograd import Function, gradcheck, gradgradcheck, once_differentiable
from firstepoch.autograd import functional as AF


def t64(values, grad=True):
    return fe.tensor(np.asarray(values, np.float64), requires_grad=grad)


class ScaledReLU(Function):
    """relu(x) * k, written the way a PyTorch tutorial writes it: Tensor methods in both passes."""

    @staticmethod
    def forward(ctx, x, k=2.0):
        ctx.save_for_backward(x)
        ctx.k = k
        ctx.seen = (type(x), tuple(ctx.needs_input_grad))
        return x.clamp(min=0) * k

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return grad_output * (x > 0).to(grad_output.dtype) * ctx.k, None


class Cube(Function):
    """x ** 3 with a backward written in Tensor ops, so it can be differentiated again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * g


class SumAndProduct(Function):
    """Two outputs: a + b and a * b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a + b, a * b

    @staticmethod
    def backward(ctx, g_sum, g_prod):
        a, b = ctx.saved_tensors
        return g_sum + g_prod * b, g_sum + g_prod * a


def test_custom_function_sees_tensors_and_gives_the_gradient():
    x = fe.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    y = ScaledReLU.apply(x, 3.0)
    assert y.tolist() == [0.0, 6.0, 9.0] and y.requires_grad and not y.is_leaf
    assert y.grad_fn.__name__ == "ScaledReLUBackward"
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 3.0]
    # forward saw the Tensor itself, with needs_input_grad per argument (the number: False)
    assert y._ctx.user_ctx.seen == (fe.Tensor, (True, False))
    # no grad needed: nothing recorded; under no_grad: nothing recorded
    z = ScaledReLU.apply(fe.tensor([1.0, -1.0]))
    assert not z.requires_grad and z.grad_fn is None
    with fe.no_grad():
        assert not ScaledReLU.apply(x).requires_grad
    # a second backward through the freed graph raises, as torch
    w = ScaledReLU.apply(x)
    loss = w.sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_custom_function_passes_gradcheck_and_double_backward():
    x = t64([0.5, -1.5, 2.0])
    assert gradcheck(lambda a: Cube.apply(a), [x])
    assert gradgradcheck(lambda a: Cube.apply(a), [x])
    g, = fe.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    h, = fe.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * np.array([0.5, -1.5, 2.0]))


def test_custom_function_with_two_outputs():
    a, b = t64([1.0, 2.0]), t64([3.0, 5.0])
    s, p = SumAndProduct.apply(a, b)
    assert s.tolist() == [4.0, 7.0] and p.tolist() == [3.0, 10.0]
    (s * 2 + p).sum().backward()
    # d/da (2(a + b) + ab) = 2 + b; d/db = 2 + a
    assert a.grad.tolist() == [5.0, 7.0] and b.grad.tolist() == [3.0, 4.0]
    # only one output used: the other's gradient is zeros (materialized, as torch's default)
    a.grad = b.grad = None
    _, p = SumAndProduct.apply(a, b)
    p.sum().backward()
    assert a.grad.tolist() == [3.0, 5.0] and b.grad.tolist() == [1.0, 2.0]
    assert gradcheck(lambda u, v: SumAndProduct.apply(u, v)[1] * 3 + SumAndProduct.apply(u, v)[0], [a, b])


def test_materialize_grads_off_and_non_differentiable_outputs():
    class ArgmaxAndValue(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, idx)
            return x.max(), idx

        @staticmethod
        def backward(ctx, g_value, g_idx):
            assert g_idx is None  # not materialized
            x, idx = ctx.saved_tensors
            out = fe.zeros_like(x)
            out[int(idx)] = g_value
            return out

    x = t64([1.0, 4.0, 2.0])
    value, idx = ArgmaxAndValue.apply(x)
    assert value.requires_grad and not idx.requires_grad and int(idx) == 1
    value.backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_custom_function_errors():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooFew.apply(t64([1.0]), t64([2.0])).sum().backward()

    class Dirty(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.mark_dirty(a)
            return a

    with pytest.raises(NotImplementedError, match="mark_dirty"):
        Dirty.apply(t64([1.0]))

    class SavesANumber(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(3.0)
            return a

    with pytest.raises(TypeError, match="save_for_backward"):
        SavesANumber.apply(t64([1.0]))


def test_once_differentiable_backward_runs_without_recording():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            x, = ctx.saved_tensors
            assert not fe.is_grad_enabled()
            return 2 * x * g

    x = t64([3.0])
    g, = fe.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [6.0] and not g.requires_grad


def test_functions_on_arrays_keep_the_array_contract():
    class Twice(Function):
        tensor_io = False

        @staticmethod
        def forward(ctx, x):
            ctx.kind = type(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    try:
        y = Twice.apply(t64([1.0]))
        assert y._ctx.kind is np.ndarray and y.grad_fn is Twice
    finally:
        fe.autograd.REGISTRY.remove(Twice)
    assert not ScaledReLU.__dict__.get("register", False) and ScaledReLU not in fe.autograd.REGISTRY


# ---- torch.autograd.functional -----------------------------------------------------------------------

def test_jacobian_and_hessian():
    x = t64([1.0, 2.0], grad=False)
    J = AF.jacobian(lambda t: t ** 2, x)
    assert J.shape == (2, 2) and J.tolist() == [[2.0, 0.0], [0.0, 4.0]]
    H = AF.hessian(lambda t: (t ** 3).sum(), x)
    assert H.tolist() == [[6.0, 0.0], [0.0, 12.0]]
    # tuple inputs: one block per input; the inputs' .grad untouched
    a, b = t64([1.0, 2.0]), t64([3.0])
    Ja, Jb = AF.jacobian(lambda u, v: u * v, (a, b))
    assert Ja.tolist() == [[3.0, 0.0], [0.0, 3.0]] and Jb.tolist() == [[1.0], [2.0]]
    assert a.grad is None and b.grad is None
    Hs = AF.hessian(lambda u, v: (u * u * v).sum(), (a, b))
    assert Hs[0][0].tolist() == [[6.0, 0.0], [0.0, 6.0]] and Hs[0][1].tolist() == [[2.0], [4.0]]
    assert Hs[1][0].tolist() == [[2.0, 4.0]] and Hs[1][1].tolist() == [[0.0]]
    # a matrix output: shape outputs + inputs
    M = t64(np.arange(6.0).reshape(2, 3), grad=False)
    assert AF.jacobian(lambda m: m.sum(1), M).shape == (2, 2, 3)
    with pytest.raises(NotImplementedError, match="vectorize"):
        AF.jacobian(lambda t: t, x, vectorize=True)


def test_vector_products():
    x = t64([1.0, 2.0], grad=False)
    v = t64([1.0, 1.0], grad=False)
    out, vjp = AF.vjp(lambda t: t ** 2, x, v)
    assert out.tolist() == [1.0, 4.0] and vjp.tolist() == [2.0, 4.0] and not vjp.requires_grad
    out, jvp = AF.jvp(lambda t: t ** 2, x, v)
    assert jvp.tolist() == [2.0, 4.0]
    # f(x) = x0^2 x1: H = [[2 x1, 2 x0], [2 x0, 0]] = [[4, 2], [2, 0]]
    f = lambda t: t[0] ** 2 * t[1]  # noqa: E731
    _, hv = AF.hvp(f, x, t64([1.0, 0.0], grad=False))
    _, vh = AF.vhp(f, x, t64([1.0, 0.0], grad=False))
    assert hv.tolist() == [4.0, 2.0] and vh.tolist() == [4.0, 2.0]
    with pytest.raises(RuntimeError, match="single-element"):
        AF.vjp(lambda t: t ** 2, x)
    with pytest.raises(TypeError, match="Tensor or a tuple of Tensors"):
        AF.jacobian(lambda t: t, [1.0, 2.0])
    # create_graph: the result keeps its graph back to an input that requires grad
    y = t64([3.0])
    _, g = AF.vjp(lambda t: t ** 3, y, t64([1.0], grad=False), create_graph=True)
    g.sum().backward()
    assert y.grad.tolist() == [18.0]  # d/dy (3 y^2) = 6 y


# ---- the rest of the autograd surface ---------------------------------------------------------------

def test_autograd_backward_over_several_tensors():
    a = t64([1.0, 2.0])
    fe.autograd.backward([(a * 2).sum(), (a * a).sum()])
    assert a.grad.tolist() == [4.0, 6.0]
    a.grad = None
    fe.autograd.backward(a * 3, grad_tensors=t64([1.0, 10.0], grad=False))
    assert a.grad.tolist() == [3.0, 30.0]


def test_inference_mode_and_bare_decorators():
    x = t64([1.0])
    with fe.inference_mode():
        assert fe.is_inference_mode_enabled() and not fe.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert not fe.is_inference_mode_enabled() and fe.is_grad_enabled()
    with fe.inference_mode(False):
        assert (x * 2).requires_grad and not fe.is_inference_mode_enabled()

    @fe.inference_mode
    def bare(t):
        return (t * 2).requires_grad

    @fe.inference_mode()
    def called(t):
        return (t * 2).requires_grad

    @fe.no_grad
    def bare_no_grad(t):
        return (t * 2).requires_grad

    assert not bare(x) and not called(x) and not bare_no_grad(x)
    with fe.no_grad():
        assert fe.enable_grad(lambda t: (t * 2).requires_grad)(x)


def test_detach_in_place_and_leaf_only_flags():
    x = t64([1.0])
    y = x * 2
    assert y.detach_() is y and y.is_leaf and not y.requires_grad
    with pytest.raises(RuntimeError, match="leaf variables"):
        (x * 2).requires_grad_(False)
    assert (x * 2).requires_grad_(True).requires_grad  # setting True on a non-leaf that requires grad is fine
    plain = fe.tensor([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        plain.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="does not require grad"):
        plain.retain_grad()


def test_matches_torch_where_installed():
    torch = pytest.importorskip("torch")

    def make(lib):
        class MyReLU(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k=2.0):
                ctx.save_for_backward(x)
                ctx.k = k
                return x.clamp(min=0) * k

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return g * (x > 0).to(g.dtype) * ctx.k, None
        return MyReLU

    xs = np.array([-1.0, 2.0, 0.5, -3.0])
    xt = torch.tensor(xs, requires_grad=True)
    xf = fe.tensor(xs, requires_grad=True)
    (make(torch).apply(xt, 3.0) ** 2).sum().backward()
    (make(fe).apply(xf, 3.0) ** 2).sum().backward()
    np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy())
    f = lambda t: (t ** 3).sum() * t[0]  # noqa: E731
    np.testing.assert_allclose(AF.hessian(f, fe.tensor(xs)).numpy(),
                               torch.autograd.functional.hessian(f, torch.tensor(xs)).numpy())
    np.testing.assert_allclose(AF.jacobian(lambda t: t.tanh() * t[1], fe.tensor(xs)).numpy(),
                               torch.autograd.functional.jacobian(lambda t: t.tanh() * t[1], torch.tensor(xs)).numpy())


def test_tensor_repr_as_torch():
    # torch 2.13's strings: the default dtypes (float32, int64, bool) are not printed; 4 decimals,
    # whole-number floats with a point, scientific notation past 1000x, one width per element
    assert repr(fe.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(fe.tensor([1.5, 2.25])) == "tensor([1.5000, 2.2500])"
    assert repr(fe.tensor([-0.5, 2.0])) == "tensor([-0.5000,  2.0000])"
    assert repr(fe.tensor([1e-5, 2.0])) == "tensor([1.0000e-05, 2.0000e+00])"
    assert repr(fe.tensor([float("nan"), 1.0, float("inf")])) == "tensor([nan, 1., inf])"
    assert repr(fe.tensor([[1, 10], [100, -5]])) == "tensor([[  1,  10],\n        [100,  -5]])"
    assert repr(fe.tensor(3.5)) == "tensor(3.5000)" and repr(fe.tensor(3)) == "tensor(3)"
    assert repr(fe.tensor([True, False])) == "tensor([ True, False])"
    assert repr(fe.zeros(0, 3)) == "tensor([], size=(0, 3))" and repr(fe.zeros(0)) == "tensor([])"
    assert repr(fe.tensor([1.0, 2.0], dtype=fe.float64)) == "tensor([1., 2.], dtype=float64)"
    x = fe.ones(2, requires_grad=True)
    assert repr(x) == "tensor([1., 1.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 2.], grad_fn=<MulFn>)"
    assert repr(fe.nn.Parameter(fe.ones(2))) == "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    assert repr(fe.arange(2000.0)) == ("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
                                       "        1.9990e+03])")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for a in (rng.standard_normal((3, 4)).astype(np.float32), np.arange(30.0, dtype=np.float32).reshape(5, 6) / 7,
              np.arange(1200).reshape(40, 30), rng.integers(-5, 5, (2, 3, 2))):
        assert repr(fe.tensor(a)) == repr(torch.tensor(a))
