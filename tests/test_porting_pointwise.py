"""torch's remaining pointwise and comparison names (tan, the inverse hyperbolics, sinc, lgamma/digamma/
polygamma, fmax/fmin, logaddexp2, ldexp, signbit, gcd/lcm, nextafter, the aliases, and the Tensor forms of
isclose/allclose/equal/bmm/is_signed/is_same_size/sum_to_size): values without torch first, then values,
dtypes, gradients and error classes against torch."""
import math

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.autograd import gradcheck

NAN, INF = float("nan"), float("inf")


# ---- without torch ---------------------------------------------------------------------------------------

def test_gamma_family_known_values():
    x = fe.tensor([0.5, 1.0, 2.0, 3.0, 10.0, -0.5], dtype=fe.float64)
    np.testing.assert_allclose(x.lgamma().numpy(), [math.lgamma(v) for v in x.tolist()], rtol=1e-14, atol=1e-15)
    euler = 0.5772156649015329
    np.testing.assert_allclose(fe.digamma(fe.tensor([1.0, 0.5], dtype=fe.float64)).numpy(),
                               [-euler, -euler - 2 * math.log(2)], rtol=1e-14)
    # trigamma is torch's calc_trigamma, whose asymptotic series stops at a relative error of ~5e-10
    np.testing.assert_allclose(fe.polygamma(1, fe.tensor([1.0], dtype=fe.float64)).numpy(), [math.pi ** 2 / 6],
                               rtol=1e-9)
    np.testing.assert_allclose(fe.polygamma(2, fe.tensor([1.0], dtype=fe.float64)).numpy(), [-2 * 1.2020569031595942],
                               rtol=1e-14)
    assert fe.lgamma(fe.tensor([1.0, 2.0])).tolist() == [0.0, 0.0]  # exact zeros, as libm
    assert fe.lgamma(fe.tensor([0.0, -2.0, -INF])).tolist() == [INF, INF, INF]


def test_simple_values_and_dtypes():
    i = fe.tensor([1, 2, -3])
    assert fe.tan(i).dtype == fe.float32 and fe.deg2rad(i).dtype == fe.float32
    np.testing.assert_allclose(fe.rad2deg(fe.tensor([math.pi], dtype=fe.float64)).numpy(), [180.0])
    assert fe.sinc(fe.tensor([0.0, 1.0])).tolist()[0] == 1.0
    assert fe.fmax(fe.tensor([1.0, NAN, NAN]), fe.tensor([NAN, 2.0, NAN])).numpy()[:2].tolist() == [1.0, 2.0]
    assert fe.signbit(fe.tensor([-0.0, 0.0])).tolist() == [True, False]
    assert fe.gcd(fe.tensor([-4, 0, 0]), fe.tensor([6, 0, -5])).tolist() == [2, 0, 5]
    assert fe.lcm(fe.tensor([-4, 0]), fe.tensor([6, 3])).tolist() == [12, 0]
    assert fe.rsub(fe.tensor([1, 2]), 5, alpha=2).tolist() == [3, 1]
    assert fe.ldexp(fe.tensor([1.0]), fe.tensor([3])).tolist() == [8.0]
    x = fe.tensor([1.0], requires_grad=True)
    fe.ldexp(x, fe.tensor([-3])).sum().backward()
    assert x.grad.tolist() == [0.125]  # the true slope (torch 2.13 gives 0: README porting table)


def test_new_ops_gradcheck_float64():
    rng = np.random.default_rng(0)
    x = fe.tensor(rng.uniform(0.2, 0.8, (2, 3)), requires_grad=True)
    y = fe.tensor(rng.uniform(-1.5, 1.5, (3,)), requires_grad=True)
    for f in (lambda a: a.tan(), lambda a: a.atanh(), lambda a: (a + 1.5).acosh(), lambda a: a.asinh(),
              lambda a: a.sinc(), lambda a: a.lgamma(), lambda a: a.digamma(), lambda a: a.polygamma(2),
              lambda a: a.deg2rad()):
        gradcheck(f, [x])
    for f in (fe.logaddexp2, fe.ldexp, fe.fmax, fe.fmin):
        gradcheck(f, [x, y])


def test_sum_to_size_and_queries():
    z = fe.ones(2, 3)
    assert z.sum_to_size(3).tolist() == [2.0, 2.0, 2.0] and z.sum_to_size((2, 1)).shape == (2, 1)
    assert z.sum_to_size(2, 3) is z
    with pytest.raises(RuntimeError):
        z.sum_to_size(2)
    assert not fe.tensor([1], dtype=fe.uint8).is_signed() and fe.tensor([1.0]).is_signed()
    assert z.is_same_size(fe.zeros(2, 3)) and not z.is_same_size(fe.zeros(3))


def test_sinc_and_logaddexp2_gradients_at_the_edges():
    """torch's values: sinc's slope is 0 where pi x² underflows (not 0/0 = NaN); logaddexp2 keeps a small
    result (log1p, not log2 of 1 + tiny) and gives an infinite operand the whole gradient (not inf - inf)."""
    for dt, tiny in ((fe.float64, 5e-300), (fe.float32, 1e-30)):
        x = fe.tensor([tiny, -tiny, 0.0], dtype=dt, requires_grad=True)
        x.sinc().sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert fe.logaddexp2(fe.tensor([0.0]), fe.tensor([-40.0])).item() == pytest.approx(2.0 ** -40 / math.log(2),
                                                                                        rel=1e-6)
    a = fe.tensor([INF, 1.0, -INF, 2.0, INF], dtype=fe.float64, requires_grad=True)
    b = fe.tensor([1.0, INF, 0.0, 2.0, INF], dtype=fe.float64, requires_grad=True)
    y = fe.logaddexp2(a, b)
    assert y.tolist()[:4] == [INF, INF, 0.0, 3.0] and y.tolist()[4] == INF
    y.backward(fe.ones(5, dtype=fe.float64))
    assert a.grad.tolist()[:4] == [1.0, 0.0, 0.0, 0.5] and b.grad.tolist()[:4] == [0.0, 1.0, 1.0, 0.5]
    assert math.isnan(a.grad.tolist()[4])  # inf and inf: torch's formula gives NaN too
    assert gradcheck(fe.logaddexp2, [fe.tensor([[0.3, -2.0]], dtype=fe.float64, requires_grad=True),
                                     fe.tensor([1.0, -2.0], dtype=fe.float64, requires_grad=True)])


def test_bad_arguments_raise_torchs_classes():
    """Each of these was a silent answer or another class; torch 2.13 raises as below."""
    x = fe.tensor([1.0, 2.0])
    for kw in ({"rtol": -1.0}, {"atol": -1e-3}):
        with pytest.raises(RuntimeError, match="must be greater than or equal to zero"):
            x.isclose(x, **kw)
        with pytest.raises(RuntimeError):
            fe.allclose(x, x, **kw)
    for name in ("add_", "sub_", "subtract_"):  # the in-place forms check alpha as the others do
        with pytest.raises(RuntimeError, match="Boolean alpha"):
            getattr(fe.tensor([1.0, 2.0]), name)(x, alpha=True)
        with pytest.raises(RuntimeError, match="Boolean alpha"):
            getattr(fe.tensor([1, 2]), name)(1, alpha=True)
    with pytest.raises(NotImplementedError):  # torch has no bool exponent kernel
        fe.ldexp(x, fe.tensor([True, False]))
    with pytest.raises(NotImplementedError):
        x.clone().ldexp_(fe.tensor([True, False]))
    for call in (lambda: fe.divide(x, 2, rounding_mode="round"), lambda: x.div(x, rounding_mode="x"),
                 lambda: x.clone().div_(2, rounding_mode="x")):
        with pytest.raises(RuntimeError, match="rounding_mode"):
            call()


# ---- against torch ---------------------------------------------------------------------------------------

def _inputs(torch):
    """Each dtype's edge values, including empty and 0-d tensors."""
    f = np.array([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.5, 3.7, -7.3, 1e-8, 40.0, NAN, INF, -INF, 0.99, -0.99,
                  1.5, 1.4616321449683622, 1e10, -1e3 - 0.25])
    return [f, f.astype(np.float32), np.array([-3, -1, 0, 1, 2, 5, 12]), np.zeros((0, 2)), np.array(0.75),
            np.array([True, False])]


UNARY = ["tan", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg", "sinc", "lgamma",
         "digamma", "signbit", "isposinf", "isneginf", "absolute"]


def _close(ours, theirs, torch, rtol, atol, what):
    theirs = theirs.detach() if isinstance(theirs, torch.Tensor) else theirs
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), what
    assert tuple(ours.shape) == tuple(theirs.shape), what
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def _same_outcome(torch, ours, theirs, what, rtol=1e-6, atol=1e-6):
    """Both give an error of one class, or values that agree."""
    try:
        expected = theirs()
    except Exception as e:  # noqa: BLE001 - the class is what we compare
        with pytest.raises(type(e)):
            ours()
        return
    result = ours()
    if isinstance(expected, torch.Tensor):
        _close(result, expected, torch, rtol, atol, what)
    else:
        assert result == expected, what


def test_unary_against_torch():
    torch = pytest.importorskip("torch")
    with np.errstate(all="ignore"):
        for a in _inputs(torch):
            for name in UNARY:
                tol = 1e-12 if a.dtype == np.float64 else 2e-6
                _same_outcome(torch, lambda: getattr(fe, name)(fe.tensor(a)),
                              lambda: getattr(torch, name)(torch.tensor(a)), f"{name} {a.dtype}", tol, tol)
                _same_outcome(torch, lambda: getattr(fe.tensor(a), name)(),
                              lambda: getattr(torch.tensor(a), name)(), f"Tensor.{name} {a.dtype}", tol, tol)


def test_polygamma_against_torch():
    torch = pytest.importorskip("torch")
    x = np.array([0.0, -1.0, -0.5, -2.25, 0.1, 1.0, 2.5, 9.0, 10.0, 30.5, 1e4, INF, -INF, NAN])
    for n in (0, 1, 2, 3, 6):
        ours, theirs = fe.polygamma(n, fe.tensor(x)), torch.polygamma(n, torch.tensor(x))
        _close(ours, theirs, torch, 1e-10, 0, f"polygamma({n})")
    x32 = np.array([0.3, 1.0, 4.5, 12.0, -2.5], dtype=np.float32)  # (off the float32 poles, see polygamma's doc)
    _close(fe.polygamma(1, fe.tensor(x32)), torch.polygamma(1, torch.tensor(x32)), torch, 1e-5, 0, "trigamma f32")
    _close(fe.tensor([1, 2]).polygamma(2), torch.tensor([1, 2]).polygamma(2), torch, 1e-6, 0, "polygamma int")
    for n, cls in ((-1, RuntimeError), (1.5, TypeError)):
        with pytest.raises(cls):
            torch.polygamma(n, torch.tensor([1.0]))
        with pytest.raises(cls):
            fe.polygamma(n, fe.tensor([1.0]))


BINARY = ["fmax", "fmin", "logaddexp2", "ldexp", "gcd", "lcm", "nextafter", "subtract", "multiply", "divide",
          "greater", "greater_equal", "less", "less_equal", "not_equal", "rsub"]


def test_binary_against_torch():
    torch = pytest.importorskip("torch")
    f = np.array([[1.0, NAN, -2.0, INF], [0.0, -0.0, 3.5, NAN]])
    g = np.array([1.0, 2.0, NAN, -INF])
    i, j = np.array([[4, -6, 0], [9, 0, 7]]), np.array([6, 4, 0])
    pairs = [(f, g), (f.astype(np.float32), g.astype(np.float32)), (f.astype(np.float32), g), (i, j), (i, g[:3]),
             (np.zeros((0, 3)), np.ones(3)), (np.array(2.0), np.array(3)), (np.array([True, False]), np.array([True, True])),
             (np.ones((2, 3)), np.ones((2, 2)))]
    with np.errstate(all="ignore"):
        for a, b in pairs:
            for name in BINARY:
                what = f"{name} {a.dtype}/{b.dtype} {a.shape}/{b.shape}"
                _same_outcome(torch, lambda: getattr(fe, name)(fe.tensor(a), fe.tensor(b)),
                              lambda: getattr(torch, name)(torch.tensor(a), torch.tensor(b)), what)
                if name != "rsub":
                    _same_outcome(torch, lambda: getattr(fe.tensor(a), name)(fe.tensor(b)),
                                  lambda: getattr(torch.tensor(a), name)(torch.tensor(b)), "Tensor." + what)
        for name in ("fmax", "gcd", "ldexp", "nextafter", "logaddexp2"):  # other must be a Tensor
            with pytest.raises(TypeError):
                getattr(torch, name)(torch.tensor([1.0]), 2)
            with pytest.raises(TypeError):
                getattr(fe, name)(fe.tensor([1.0]), 2)


def test_alpha_and_rounding_mode_against_torch():
    torch = pytest.importorskip("torch")
    i = np.array([7, -7, 2])
    for kwargs in ({"alpha": 2}, {"alpha": 1.5}, {"alpha": True}):
        for other in (3, 2.5):
            for name in ("subtract", "rsub", "add", "sub"):
                _same_outcome(torch, lambda: getattr(fe, name)(fe.tensor(i), other, **kwargs),
                              lambda: getattr(torch, name)(torch.tensor(i), other, **kwargs), f"{name} {kwargs}")
    for mode in (None, "floor", "trunc"):
        _same_outcome(torch, lambda: fe.divide(fe.tensor(i), 2, rounding_mode=mode),
                      lambda: torch.divide(torch.tensor(i), 2, rounding_mode=mode), f"divide {mode}")
        _same_outcome(torch, lambda: fe.tensor(i.astype(np.float32)).divide_(2, rounding_mode=mode),
                      lambda: torch.tensor(i.astype(np.float32)).divide_(2, rounding_mode=mode), f"divide_ {mode}")


def test_gradients_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-0.9, 0.9, (2, 3)), rng.uniform(-0.9, 0.9, (3,))
    a[0, 0] = b[0]  # a tie for fmax/fmin: all to the first operand, as torch
    a[1, 1] = NAN
    a[1, 2] = b[2]  # a tie for nextafter: no gradient to either, as torch
    for name in ("fmax", "fmin", "logaddexp2", "ldexp", "nextafter"):
        ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
        fa, fb = (fe.tensor(v, requires_grad=True) for v in (a, b))
        getattr(torch, name)(ta, tb).sum().backward()
        getattr(fe, name)(fa, fb).sum().backward()
        for ours, theirs in ((fa, ta), (fb, tb)):
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, equal_nan=True, err_msg=name)
    x = np.array([0.0, 0.3, -0.4, 0.7, -2.5, 3.0])
    for name in ("tan", "asinh", "atanh", "sinc", "lgamma", "digamma", "deg2rad"):
        tx, fx = torch.tensor(x, requires_grad=True), fe.tensor(x, requires_grad=True)
        getattr(torch, name)(tx).sum().backward()
        getattr(fe, name)(fx).sum().backward()
        np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, equal_nan=True, err_msg=name)


def test_inplace_forms_against_torch():
    torch = pytest.importorskip("torch")
    x = np.array([0.3, -0.2, 0.9])
    for name, args in (("tan_", ()), ("atanh_", ()), ("deg2rad_", ()), ("sinc_", ()), ("lgamma_", ()),
                       ("digamma_", ()), ("polygamma_", (1,)), ("absolute_", ()), ("multiply_", (2.0,)),
                       ("subtract_", (1.0,))):
        t, f = torch.tensor(x), fe.tensor(x)
        assert getattr(f, name)(*args) is f
        getattr(t, name)(*args)
        np.testing.assert_allclose(f.numpy(), t.numpy(), rtol=1e-12, err_msg=name)
    t, f = torch.tensor([4, 6]), fe.tensor([4, 6])
    t.gcd_(torch.tensor([6, 4])), f.gcd_(fe.tensor([6, 4]))
    assert f.tolist() == t.tolist()
    for name in ("tan_", "sinc_"):  # a float result into an integer tensor: torch's RuntimeError
        with pytest.raises(RuntimeError):
            getattr(torch.tensor([1, 2]), name)()
        with pytest.raises(RuntimeError):
            getattr(fe.tensor([1, 2]), name)()
        assert hasattr(fe, name) == hasattr(torch, name)


def test_tensor_methods_against_torch():
    torch = pytest.importorskip("torch")
    f, g = np.array([1.0, NAN, 2.0]), np.array([1.0 + 1e-9, NAN, 2.1])
    for eq in (False, True):
        _same_outcome(torch, lambda: fe.tensor(f).isclose(fe.tensor(g), equal_nan=eq),
                      lambda: torch.tensor(f).isclose(torch.tensor(g), equal_nan=eq), "isclose")
        assert fe.tensor(f).allclose(fe.tensor(f), equal_nan=eq) == torch.tensor(f).allclose(torch.tensor(f), equal_nan=eq)
    _same_outcome(torch, lambda: fe.tensor([1, 2]).isclose(fe.tensor([1.0, 2.0])),
                  lambda: torch.tensor([1, 2]).isclose(torch.tensor([1.0, 2.0])), "isclose dtypes")
    assert fe.tensor([1, 2]).equal(fe.tensor([1.0, 2.0])) == torch.tensor([1, 2]).equal(torch.tensor([1.0, 2.0]))
    a, b = np.ones((2, 3, 4), np.float32), np.ones((2, 4, 5), np.float32)
    _same_outcome(torch, lambda: fe.tensor(a).bmm(fe.tensor(b)), lambda: torch.tensor(a).bmm(torch.tensor(b)), "bmm")
    _same_outcome(torch, lambda: fe.tensor(a[0]).bmm(fe.tensor(b[0])), lambda: torch.tensor(a[0]).bmm(torch.tensor(b[0])),
                  "bmm 2-D")
    for dt in ("uint8", "int8", "int32", "int64", "float32", "float64", "bool"):
        assert fe.zeros(1, dtype=getattr(fe, dt)).is_signed() == torch.zeros(1, dtype=getattr(torch, dt)).is_signed()
    z = np.arange(6.0).reshape(2, 3)
    for size in ((3,), (1, 3), ((2, 1),), ((),), (1, 1), (2,), (1, 2, 3), (-1, 3)):
        _same_outcome(torch, lambda: fe.tensor(z).sum_to_size(*size), lambda: torch.tensor(z).sum_to_size(*size),
                      f"sum_to_size{size}")
    _same_outcome(torch, lambda: fe.tensor(z.astype(np.int32)).sum_to_size(3),
                  lambda: torch.tensor(z.astype(np.int32)).sum_to_size(3), "sum_to_size int32")
    assert fe.swapdims(fe.tensor(z), 0, 1).shape == torch.swapdims(torch.tensor(z), 0, 1).shape
    assert fe.is_same_size(fe.tensor(z), fe.tensor(z)) and fe.is_signed(fe.tensor(z))


# ---- in-place comparisons and logical ops (gt_, eq_, logical_and_, ...) -------------------------------

INPLACE_COMPARISONS = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "less_", "less_equal_", "greater_",
                       "greater_equal_", "not_equal_", "logical_and_", "logical_or_", "logical_xor_"]


def test_inplace_comparisons_by_hand():
    a = fe.tensor([1, 2, 3])
    assert a.gt_(1.5) is a and a.tolist() == [0, 1, 1] and a.dtype == fe.int64
    b = fe.tensor([1.0, 0.0, 2.0])
    assert b.logical_not_().tolist() == [0.0, 1.0, 0.0] and b.dtype == fe.float32
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        fe.tensor([1.0, 2.0, 3.0]).gt_(fe.ones(2, 3))
    with pytest.raises(RuntimeError, match="leaf Variable"):
        fe.tensor([1.0, 2.0], requires_grad=True).gt_(1)
    x = fe.tensor([1.0, -2.0, 3.0], dtype=fe.float64, requires_grad=True)
    y = x * 1
    y.lt_(0)  # recorded with a zero gradient, as torch's LtBackward
    assert y.grad_fn is not None and y.tolist() == [0.0, 1.0, 0.0]
    (y * x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("name", INPLACE_COMPARISONS)
def test_inplace_comparisons_match_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for dtype in ("float32", "float64", "int64", "bool"):
        a = (rng.integers(-2, 3, (3, 4)) if dtype != "bool" else rng.random((3, 4)) < 0.5).astype(dtype)
        for other in (1, 0.5, rng.integers(-2, 3, (4,)).astype(dtype), rng.random((3, 1)) < 0.5):
            f_other = fe.tensor(other) if isinstance(other, np.ndarray) else other
            t_other = torch.tensor(other) if isinstance(other, np.ndarray) else other
            try:
                want = getattr(torch.tensor(a), name)(t_other)
            except (RuntimeError, TypeError) as e:
                with pytest.raises(type(e)):
                    getattr(fe.tensor(a), name)(f_other)
                continue
            got = getattr(fe.tensor(a), name)(f_other)
            assert got.numpy().tolist() == want.numpy().tolist() and str(got.dtype) == str(want.dtype).split(".")[1]
    x, tx = fe.tensor([1.0, -2.0], requires_grad=True), torch.tensor([1.0, -2.0], requires_grad=True)
    y, ty = x * 1, tx * 1
    getattr(y, name)(fe.tensor(0.0))
    getattr(ty, name)(torch.tensor(0.0))
    assert y.requires_grad == ty.requires_grad and (y.grad_fn is None) == (ty.grad_fn is None)
