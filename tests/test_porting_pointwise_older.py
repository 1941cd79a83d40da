"""The older pointwise code against torch 2.13: div's rounding modes and floor_divide under autograd,
a Python number first in add/sub/mul/div, logaddexp at infinities and far-apart operands, abs's gradient
at NaN, heaviside's missing derivative, bool add with alpha, and the in-place methods added with them."""
import math

import numpy as np
import pytest

import firstepoch as fe


def _grad(f, *xs):
    for x in xs:
        x.grad = None
    f(*xs).sum().backward()
    return [x.grad.numpy() for x in xs]


# ---- div with a rounding mode, floor_divide ---------------------------------------------------------
@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_rounded_div_records_a_zero_gradient(mode):
    a = fe.tensor([1.5, -2.5, 3.0], requires_grad=True)
    b = fe.tensor([2.0], dtype=fe.float32, requires_grad=True)
    out = fe.div(a, b, rounding_mode=mode)
    assert out.requires_grad and out.grad_fn is not None
    da, db = _grad(lambda a, b: fe.div(a, b, rounding_mode=mode), a, b)
    np.testing.assert_array_equal(da, np.zeros(3, np.float32))
    np.testing.assert_array_equal(db, np.zeros(1, np.float32))
    assert fe.div(fe.tensor([3, -3]), 2, rounding_mode=mode).grad_fn is None  # integers: nothing recorded


@pytest.mark.parametrize("call", [lambda a: fe.floor_divide(a, 2.0), lambda a: a // 2, lambda a: 7.0 // a,
                                  lambda a: a.clone().floor_divide_(2.0)])
def test_floor_divide_requires_grad_and_raises_at_backward(call):
    a = fe.tensor([1.5, -2.5], requires_grad=True)
    out = call(a)
    assert out.requires_grad
    with pytest.raises(RuntimeError, match="floor_divide"):
        out.sum().backward()


def test_rounded_div_and_floor_divide_against_torch():
    torch = pytest.importorskip("torch")
    for mode in ("floor", "trunc"):
        t = torch.tensor([1.5, -2.5, 0.0], dtype=torch.float64, requires_grad=True)
        x = fe.tensor(t.detach().numpy(), requires_grad=True)
        (g,) = torch.autograd.grad(torch.div(t, -2.0, rounding_mode=mode).sum(), t)
        np.testing.assert_array_equal(_grad(lambda x: fe.div(x, -2.0, rounding_mode=mode), x)[0], g.numpy())
    with pytest.raises(RuntimeError):
        torch.floor_divide(torch.ones(2, requires_grad=True), 2.0).sum().backward()


# ---- a Python number first ----------------------------------------------------------------------------
NUMBER_FIRST = ["add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "multiply", "subtract",
                "divide"]


@pytest.mark.parametrize("name", NUMBER_FIRST)
def test_number_first_against_torch(name):
    torch = pytest.importorskip("torch")
    for number in (2, 2.5, -3, True):
        for values, dtype in (([1, 2, 3], "int64"), ([1.5, -2.5, 3.0], "float32"), ([0.5], "float64"),
                              ([], "float32"), (4, "int32")):
            if name in ("floor_divide", "remainder", "div") and dtype.startswith("int") and number is True:
                continue  # (integer division by zero-free operands only: True // 0 errors differently)
            t = torch.tensor(values, dtype=getattr(torch, dtype))
            x = fe.tensor(np.asarray(values, dtype=dtype))
            try:
                expected = getattr(torch, name)(number, t)
            except RuntimeError:
                with pytest.raises(RuntimeError):
                    getattr(fe, name)(number, x)
                continue
            got = getattr(fe, name)(number, x)
            assert str(got.dtype) == str(expected.dtype).replace("torch.", ""), (name, number, dtype)
            np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_number_first_alpha_rounding_and_gradient():
    np.testing.assert_array_equal(fe.add(2, fe.tensor([1, 2]), alpha=3).numpy(), [5, 8])
    np.testing.assert_array_equal(fe.sub(2, fe.tensor([1, 2]), alpha=3).numpy(), [-1, -4])
    np.testing.assert_array_equal(fe.div(7, fe.tensor([2, -2]), rounding_mode="trunc").numpy(), [3, -3])
    np.testing.assert_array_equal(fe.div(7, fe.tensor([2, -2]), rounding_mode="floor").numpy(), [3, -4])
    with pytest.raises(RuntimeError):
        fe.add(2, fe.tensor([1, 2]), alpha=1.5)  # an integral result takes no float alpha (torch)
    x = fe.tensor([1.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(_grad(lambda x: fe.sub(2, x, alpha=3), x)[0], [-3.0, -3.0])
    np.testing.assert_array_equal(_grad(lambda x: fe.div(2, x), x)[0], [-2.0, -0.5])
    with pytest.raises(TypeError):
        fe.add(2, [1, 2])


def test_number_first_alpha_against_torch():
    torch = pytest.importorskip("torch")
    bt = torch.tensor([True, False])
    for number, alpha in ((2, 3), (True, 0), (True, 2), (2.5, 2), (False, True)):
        for name in ("add",):
            expected = getattr(torch, name)(number, bt, alpha=alpha)
            got = getattr(fe, name)(number, fe.tensor([True, False]), alpha=alpha)
            assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
            np.testing.assert_array_equal(got.numpy(), expected.numpy())


# ---- bool add with alpha ------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [2, 1, 0, True, False])
def test_bool_add_with_alpha_stays_bool(alpha):
    a, b = fe.tensor([True, False, False]), fe.tensor([True, True, False])
    out = fe.add(a, b, alpha=alpha)
    assert out.dtype == fe.bool
    np.testing.assert_array_equal(out.numpy(), [True, bool(alpha), False])
    np.testing.assert_array_equal(a.add(b, alpha=alpha).numpy(), out.numpy())
    torch = pytest.importorskip("torch")
    ta, tb = torch.tensor([True, False, False]), torch.tensor([True, True, False])
    np.testing.assert_array_equal(out.numpy(), torch.add(ta, tb, alpha=alpha).numpy())


# ---- logaddexp ---------------------------------------------------------------------------------------
def test_logaddexp_infinities_and_precision_against_torch():
    torch = pytest.importorskip("torch")
    inf = math.inf
    for dtype in (torch.float32, torch.float64):
        av, bv = [inf, 1.0, -inf, inf, -inf, 1e-3, 100.0, 0.5], [1.0, inf, -inf, inf, 2.0, -30.0, 0.0, 0.5]
        ta, tb = (torch.tensor(v, dtype=dtype, requires_grad=True) for v in (av, bv))
        a, b = (fe.tensor(t.detach().numpy(), requires_grad=True) for t in (ta, tb))
        out = torch.logaddexp(ta, tb)
        got = fe.logaddexp(a, b)
        np.testing.assert_array_equal(got.detach().numpy(), out.detach().numpy())  # bitwise: torch's formula
        ga, gb = torch.autograd.grad(out.sum(), (ta, tb))
        da, db = _grad(fe.logaddexp, a, b)
        np.testing.assert_allclose(da, ga.numpy(), rtol=1e-6, equal_nan=True)
        np.testing.assert_allclose(db, gb.numpy(), rtol=1e-6, equal_nan=True)


def test_logaddexp_values_without_torch():
    a = fe.tensor([math.inf, 1e-3], requires_grad=True)
    b = fe.tensor([1.0, -30.0], requires_grad=True)
    out = fe.logaddexp(a, b)
    assert out[1].item() == np.float32(1e-3) + np.log1p(np.exp(np.float32(-30.001)))
    da, db = _grad(fe.logaddexp, a, b)
    assert da[0] == 1.0 and db[0] == 0.0
    assert fe.logaddexp(fe.tensor([]), fe.tensor([])).shape == (0,)
    assert fe.logaddexp(fe.tensor(0.0, dtype=fe.float64), fe.tensor(0.0, dtype=fe.float64)).item() == math.log(2)


# ---- abs and heaviside --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_abs_gradient_is_zero_at_nan_and_zero(dtype):
    x = fe.tensor(np.array([math.nan, 0.0, -1.0, 2.0], dtype), requires_grad=True)
    np.testing.assert_array_equal(_grad(fe.abs, x)[0], [0.0, 0.0, -1.0, 1.0])
    y = fe.tensor(np.array([math.nan, -2.0], dtype), requires_grad=True)
    (g,) = fe.autograd.grad(y.abs().sum(), y, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [0.0, -1.0])
    torch = pytest.importorskip("torch")
    t = torch.tensor([math.nan, 0.0, -1.0, 2.0], dtype=getattr(torch, dtype), requires_grad=True)
    np.testing.assert_array_equal(_grad(fe.abs, x)[0], torch.autograd.grad(t.abs().sum(), t)[0].numpy())


def test_heaviside_requires_grad_and_raises_at_backward():
    x = fe.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    for out in (fe.heaviside(x, fe.tensor([0.5])), fe.heaviside(fe.tensor([0.0]), fe.tensor([0.5], requires_grad=True))):
        assert out.requires_grad
        with pytest.raises(RuntimeError, match="heaviside"):
            out.sum().backward()
    np.testing.assert_array_equal(fe.heaviside(x, fe.tensor([0.5])).detach().numpy(), [0.0, 0.5, 1.0])
    assert not fe.heaviside(fe.tensor([0, 1]), fe.tensor([1])).requires_grad
    torch = pytest.importorskip("torch")
    t = torch.heaviside(torch.tensor([0.0, 1.0], requires_grad=True), torch.tensor([0.5]))
    assert t.requires_grad
    with pytest.raises(RuntimeError):
        t.sum().backward()


# ---- the in-place methods -----------------------------------------------------------------------------
INPLACE = [("tril_", (0,)), ("tril_", (-1,)), ("triu_", (1,)), ("cumsum_", (0,)), ("cumsum_", (-1,)),
           ("floor_divide_", (2.0,)), ("remainder_", (-1.5,)), ("true_divide_", (4.0,))]


@pytest.mark.parametrize("name,args", INPLACE)
def test_inplace_methods_against_torch(name, args):
    torch = pytest.importorskip("torch")
    values = np.array([[1.5, -2.0, 3.0], [-4.5, 5.0, 0.25]])
    for dtype in ("float32", "float64"):
        t = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
        x = fe.tensor(values.astype(dtype), requires_grad=True)
        tu, xu = t * 1, x * 1
        tr, xr = getattr(tu, name)(*args), getattr(xu, name)(*args)
        assert xr is xu and xu.dtype == getattr(fe, dtype)
        np.testing.assert_allclose(xu.detach().numpy(), tu.detach().numpy(), rtol=1e-6)
        if name == "floor_divide_":
            with pytest.raises(RuntimeError):
                xr.sum().backward()
            continue
        w = np.arange(6.0).reshape(2, 3)
        (tr * torch.tensor(w, dtype=t.dtype)).sum().backward()
        (xr * fe.tensor(w.astype(dtype))).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    xl = fe.tensor(values, requires_grad=True)
    with pytest.raises(RuntimeError):
        getattr(xl, name)(*args)  # a leaf that requires grad, as torch


def test_inplace_methods_dtypes_and_errors():
    i = fe.tensor([5, 7], dtype=fe.int32)
    assert i.cumsum_(0).dtype == fe.int32 and i.tolist() == [5, 12]
    assert fe.tensor([5, -7]).floor_divide_(2).tolist() == [2, -4]
    assert fe.tensor([5, -7]).remainder_(3).tolist() == [2, 2]
    with pytest.raises(RuntimeError):
        fe.tensor([5, 7]).true_divide_(2)  # a float result into int64, as torch
    with pytest.raises(NotImplementedError):
        fe.tensor([True]).cumsum_(0)
    e = fe.zeros(0, 3)
    assert e.tril_().shape == (0, 3) and e.cumsum_(0).shape == (0, 3)
    z = fe.tensor(3.0)
    assert z.cumsum_(0).item() == 3.0 and z.true_divide_(2).item() == 1.5
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.tensor([5, 7]).true_divide_(2)
    with pytest.raises(NotImplementedError):
        torch.tensor([True]).cumsum_(0)
    assert torch.tensor([5, -7]).remainder_(3).tolist() == [2, 2]
