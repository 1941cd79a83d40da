"""Tensor methods, reductions and pow where a differential fuzz against PyTorch 2.13 found a silent
difference: each case asserts torch's value, gradient, dtype, shape or exception class, hard-coded
from torch runs, so it runs without torch."""
import warnings

import numpy as np
import pytest

import firstepoch as fe

nan, inf = float("nan"), float("inf")


def grad_of(f, values, dtype=np.float32):
    """(f(x) detached, d sum(f(x)) / dx) for x a leaf made from values."""
    x = fe.tensor(np.asarray(values, dtype=dtype), requires_grad=True)
    y = f(x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


def close(got, want, dtype=None):
    if dtype is not None:
        assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=1e-5, atol=1e-6)


def finite_difference(f, x, eps=1e-6):
    """d sum(f(x)) / dx by central differences, x a float64 array."""
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += eps
        lo[i] -= eps
        out[i] = (f(fe.tensor(hi)).sum().item() - f(fe.tensor(lo)).sum().item()) / (2 * eps)
    return out


# ---- 1: a NumPy scalar exponent counts as a Python number -------------------------------------------
@pytest.mark.parametrize("p, want_grad", [(np.float64(1.5), [1.5, 3.0]), (np.int64(2), [2.0, 8.0])])
def test_float32_tensor_to_a_numpy_scalar_power_keeps_float32_and_backward_works(p, want_grad):
    y, g = grad_of(lambda x: x ** p, [1.0, 4.0])        # was: backward returned a float64 gradient
    assert y.dtype == np.float32 and g.dtype == np.float32
    close(g, want_grad)
    y, g = grad_of(lambda x: fe.pow(x, np.float64(2.0)), [1.0, 4.0])
    assert y.dtype == np.float32
    close(g, [2.0, 8.0])


def test_pow_result_dtype_with_numpy_and_bool_exponents():
    assert (fe.tensor([1, 2]) ** np.float64(1.5)).dtype == np.float32              # was float64
    assert (fe.tensor([1, 2], dtype=fe.int32) ** np.int64(2)).dtype == np.int32    # was int64
    assert (fe.tensor([1, 2], dtype=fe.int32) ** True).dtype == np.int32
    b = fe.tensor([True, False])
    close((b ** True).numpy(), [True, False], np.bool_)                             # was int64
    close((b ** False).numpy(), [True, True], np.bool_)
    assert (b ** 2).dtype == np.int64 and (b ** 1.5).dtype == np.float32


# ---- 2: logcumsumexp shifts by the running maximum -------------------------------------------------
def test_logcumsumexp_uses_a_running_maximum():
    x = fe.tensor([-1000.0, 0.0, 1.0], dtype=fe.float64)
    close(x.logcumsumexp(0).numpy(), [-1000.0, 0.0, 1.3132616875182228])          # was [-inf, 0, 1.313]
    close(fe.tensor([1.0, nan, 2.0]).logcumsumexp(0).numpy(), [1.0, nan, nan])     # was all NaN
    close(fe.tensor([inf, 1.0, -inf]).logcumsumexp(0).numpy(), [inf, inf, inf])
    close(fe.tensor([-inf, -inf]).logcumsumexp(0).numpy(), [-inf, -inf])


def test_logcumsumexp_gradient():
    _, g = grad_of(lambda x: x.logcumsumexp(0), [-1000.0, 0.0, 1.0], np.float64)
    close(g, [1.0, 1.2689414213699951, 0.7310585786300049])
    _, g = grad_of(lambda x: x.logcumsumexp(0), [-inf, 1.0, -inf], np.float64)
    close(g, [nan, 2.0, 0.0])
    _, g = grad_of(lambda x: x.logcumsumexp(0), [inf, 1.0, 2.0], np.float64)
    close(g, [nan, 0.0, 0.0])
    x = np.random.default_rng(0).standard_normal((3, 4)) * 3
    for d in (0, 1):
        _, g = grad_of(lambda t: t.logcumsumexp(d), x, np.float64)
        close(g, finite_difference(lambda t: t.logcumsumexp(d), x))


# ---- 3: mode() of a 1-D tensor gives 0-d indices ---------------------------------------------------
def test_mode_median_kthvalue_of_a_vector_give_0d_indices():
    r = fe.tensor([1.0, 2.0, 2.0]).mode()
    assert r.values.shape == () and r.indices.shape == ()                           # indices were (1,)
    assert r.values.item() == 2.0 and r.indices.item() == 2
    r = fe.tensor([[1.0, 2.0, 2.0]]).mode()
    assert r.values.shape == (1,) and r.indices.shape == (1,)
    for r in (fe.tensor([1.0, 2.0, 2.0]).median(0), fe.tensor([1.0, 2.0, 2.0]).kthvalue(1),
              fe.tensor([1.0, 2.0, 2.0]).nanmedian(0)):
        assert r.values.shape == () and r.indices.shape == ()                       # indices were (1,)


# ---- 4: count_nonzero(dim=()) counts everything ----------------------------------------------------
def test_count_nonzero_with_an_empty_dim_list_reduces_all():
    for dim in ((), []):
        c = fe.count_nonzero(fe.tensor([[1.0, 0.0]]), dim=dim)
        assert c.shape == () and c.item() == 1                                     # was shape (1, 2)


# ---- 5: std's gradient where the std is 0; var/std with correction >= N ----------------------------
def test_std_gradient_is_zero_where_std_is_zero():
    _, g = grad_of(lambda x: x.std(), [1.0, 1.0, 1.0])
    close(g, [0.0, 0.0, 0.0])                                                       # was NaN
    _, g = grad_of(lambda x: x.std(0), [[1.0, 2.0], [1.0, 3.0]])
    close(g, [[0.0, -0.70710677], [0.0, 0.70710677]])
    _, g = grad_of(lambda x: fe.std_mean(x)[0], [1.0, 1.0, 1.0])
    close(g, [0.0, 0.0, 0.0])
    _, g = grad_of(lambda x: fe.std_mean(x, 0)[0], [[1.0, 2.0], [1.0, 3.0]])
    close(g, [[0.0, -0.70710677], [0.0, 0.70710677]])


def test_var_and_std_gradients_with_no_degrees_of_freedom():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, g = grad_of(lambda x: x.var(correction=3), [1.0, 2.0, 4.0])
        close(y, inf)
        close(g, [inf, inf, inf])                                                   # was [-inf, -inf, inf]
        _, g = grad_of(lambda x: x.var(correction=5), [1.0, 2.0, 4.0])
        close(g, [inf, inf, inf])
        _, g = grad_of(lambda x: x.var(correction=5), [1.0, 1.0, 1.0])
        close(g, [nan, nan, nan])
        _, g = grad_of(lambda x: x.std(correction=3), [1.0, 2.0, 4.0])
        close(g, [nan, nan, nan])
        _, g = grad_of(lambda x: x.std(correction=0), [1.0])
        close(g, [0.0])
        # along a dim: 2 / (n - correction), as torch (negative past n; -inf * 0 is NaN)
        x = [[1.0, 2.0], [2.0, 2.0], [4.0, 2.0]]
        y, g = grad_of(lambda t: t.var(0, correction=3), x, np.float64)
        close(y, [inf, nan])
        close(g, [[-inf, nan], [-inf, nan], [inf, nan]])
        y, g = grad_of(lambda t: t.var(0, correction=5), x, np.float64)
        close(y, [inf, nan])
        close(g, [[4 / 3, 0.0], [1 / 3, 0.0], [-5 / 3, 0.0]])
        _, g = grad_of(lambda t: t.std(0, correction=5), x, np.float64)
        close(g, [[0.0, nan], [0.0, nan], [0.0, nan]])


# ---- 6: max()/min() with NaN split the gradient among the NaNs -------------------------------------
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_without_dim_split_the_gradient_among_nans(name):
    y, g = grad_of(lambda x: getattr(x, name)(), [1.0, nan, 3.0, nan])
    assert np.isnan(y)
    close(g, [0.0, 0.5, 0.0, 0.5])                                                  # was all NaN


# ---- 7: median()/nanmedian() without dim split the gradient evenly ---------------------------------
def test_median_without_dim_splits_the_gradient_among_equal_entries():
    _, g = grad_of(lambda x: x.median(), [2.0, 2.0, 1.0, 3.0, 2.0])
    close(g, [1 / 3, 1 / 3, 0.0, 0.0, 1 / 3])                                       # was [0, 1, 0, 0, 0]
    _, g = grad_of(lambda x: x.median(), [1.0, nan, 3.0, nan])
    close(g, [0.0, 0.5, 0.0, 0.5])                                                  # was [0, 1, 0, 0]
    y, g = grad_of(lambda x: x.nanmedian(), [1.0, nan, 3.0, nan])
    close(y, 1.0)
    close(g, [1.0, 0.0, 0.0, 0.0])
    _, g = grad_of(lambda x: x.nanmedian(), [2.0, 2.0, nan, 1.0, 3.0, 2.0])
    close(g, [1 / 3, 1 / 3, 0.0, 0.0, 0.0, 1 / 3])
    _, g = grad_of(lambda x: x.nanmedian(), [nan, nan])
    close(g, [0.5, 0.5])
    _, g = grad_of(lambda x: x.median(0).values, [2.0, 2.0, 1.0, 3.0, 2.0])        # along dim: one entry
    close(g, [0.0, 1.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_of_an_empty_tensor_keeps_requires_grad(name):
    y = getattr(fe.zeros(0, requires_grad=True), name)()
    assert y.requires_grad and np.isnan(y.item())                                   # was outside the graph
    y.backward()


# ---- 8: pow's gradients at zero are masked to 0, as torch's pow_backward ---------------------------
def test_pow_gradients_at_zero():
    _, g = grad_of(lambda x: x ** 0.0, [0.0, 1.0])
    close(g, [0.0, 0.0])                                                            # was [nan, 0]
    _, g = grad_of(lambda x: x ** 0.0, [0.0, nan, inf])
    close(g, [0.0, 0.0, 0.0])
    _, g = grad_of(lambda x: 0.0 ** x, [0.0, 1.0, 2.0])
    close(g, [0.0, 0.0, 0.0])                                                       # was [-inf, nan, nan]
    _, g = grad_of(lambda x: 0.0 ** x, [-1.0, -0.5, nan])
    close(g, [-inf, -inf, nan])
    _, g = grad_of(lambda x: 2.0 ** x, [0.0, 1.0])
    close(g, [np.log(2.0), 2 * np.log(2.0)])


def test_pow_of_two_tensors_gradients_at_zero():
    a = fe.tensor([0.0, 0.0, 0.0, 0.0], requires_grad=True)
    b = fe.tensor([0.0, 1.0, 2.0, -1.0], requires_grad=True)
    (a ** b).sum().backward()
    close(a.grad.numpy(), [0.0, 1.0, 0.0, -inf])                                    # was [nan, 1, 0, -inf]
    close(b.grad.numpy(), [0.0, 0.0, 0.0, -inf])                                    # was [-inf, nan, nan, -inf]
    a = fe.tensor([0.0, 2.0, nan, -1.0], requires_grad=True)
    b = fe.tensor([0.0, 0.0, 0.0, 0.0], requires_grad=True)
    (a ** b).sum().backward()
    close(a.grad.numpy(), [0.0, 0.0, 0.0, 0.0])
    close(b.grad.numpy(), [0.0, np.log(2.0), nan, nan])


def test_pow_gradients_at_zero_with_create_graph():
    x = fe.tensor([0.0, 1.0], requires_grad=True)
    (g,) = fe.autograd.grad((x ** 0.0).sum(), x, create_graph=True)
    close(g.detach().numpy(), [0.0, 0.0])
    a = fe.tensor([0.0, 0.0], requires_grad=True)
    b = fe.tensor([0.0, 2.0], requires_grad=True)
    ga, gb = fe.autograd.grad((a ** b).sum(), (a, b), create_graph=True)
    close(ga.detach().numpy(), [0.0, 0.0])
    close(gb.detach().numpy(), [0.0, 0.0])


# ---- 9: norm with p < 1 at a zero entry ------------------------------------------------------------
def test_norm_gradient_at_a_zero_entry():
    _, g = grad_of(lambda x: x.norm(p=0.5), [0.0, 1.0, 2.0])
    close(g, [0.0, 2.4142135, 1.7071068])                                           # was [nan, ...]
    _, g = grad_of(lambda x: x.norm(p=0.3), [0.0, 1.0, 2.0])
    norm = (1 + 2 ** 0.3) ** (1 / 0.3)
    close(g, [0.0, norm ** 0.7, 2 ** -0.7 * norm ** 0.7])                             # torch [0, 6.5048, 4.0041]
    _, g = grad_of(lambda x: x.norm(p=0.5, dim=0), [[0.0, 1.0], [2.0, 0.0]])
    close(g, [[0.0, 1.0], [1.0, 0.0]])
    _, g = grad_of(lambda x: x.norm(p=1), [0.0, 1.0, -2.0])
    close(g, [0.0, 1.0, -1.0])
    _, g = grad_of(lambda x: x.norm(p=-1), [0.0, 1.0])
    close(g, [0.0, 0.0])
    _, g = grad_of(lambda x: x.norm(p=-1), [2.0, 1.0])
    close(g, [1 / 9, 4 / 9])
    _, g = grad_of(lambda x: x.norm(p=1.5), [0.0, -2.0])
    close(g, [0.0, -1.0])                                                           # was [nan, -1]
    for p in (0.5, 1.5, 3.0, -1.0):
        _, g = grad_of(lambda x: x.norm(p=p), [0.0, 0.0])
        close(g, [0.0, 0.0])


# ---- 10: logit at 0 and 1 --------------------------------------------------------------------------
def test_logit_gradient_at_zero_and_one():
    _, g = grad_of(lambda x: x.logit(), [0.0, 1.0, 0.5])
    close(g, [inf, inf, 4.0])                                                       # was [nan, nan, 4]
    _, g = grad_of(lambda x: x.logit(eps=0.0), [0.0, 1.0])
    close(g, [inf, inf])
    _, g = grad_of(lambda x: x.logit(eps=0.1), [0.0, 1.0, 0.5, 0.1, 0.9])
    close(g, [0.0, 0.0, 4.0, 1 / 0.09, 1 / 0.09])
    _, g = grad_of(lambda x: x.logit(), [-0.5, 1.5])
    close(g, [nan, nan])


# ---- 11: prod/cumprod gradients with NaN or inf ----------------------------------------------------
@pytest.mark.parametrize("x, want", [
    ([2.0, nan, 3.0], [nan, nan, nan]),        # was [nan, 6, nan]
    ([2.0, inf, 3.0], [inf, nan, inf]),
    ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),
    ([2.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
    ([0.0, nan, 3.0], [nan, 0.0, nan]),
    ([0.0, inf, 3.0], [inf, 0.0, nan]),
    ([0.0, 0.0, nan], [0.0, 0.0, 0.0]),
])
def test_prod_gradient_with_nan_inf_and_zeros(x, want):
    _, g = grad_of(lambda t: t.prod(), x)
    close(g, want)


def test_prod_along_dim_gradient_with_nan_inf_and_zeros():
    _, g = grad_of(lambda t: t.prod(0), [[2.0, nan, 0.0], [3.0, 1.0, inf]])
    close(g, [[3.0, 1.0, inf], [2.0, nan, 0.0]])
    _, g = grad_of(lambda t: t.prod(0), [[0.0, 0.0, 0.0], [3.0, nan, inf]])
    close(g, [[3.0, nan, inf], [0.0, 0.0, 0.0]])
    _, g = grad_of(lambda t: t.prod(1), [[2.0, nan], [3.0, 4.0]])
    close(g, [[nan, nan], [4.0, 3.0]])


@pytest.mark.parametrize("x, want", [
    ([2.0, nan, 3.0], [nan, nan, nan]),
    ([2.0, inf, 3.0], [inf, nan, inf]),
    ([2.0, 0.0, 3.0], [1.0, 8.0, 0.0]),
    ([0.0, 2.0, 0.0, 3.0], [3.0, 0.0, 0.0, 0.0]),
    ([3.0, 2.0, nan, 0.0], [nan, nan, nan, nan]),
    ([0.0, nan, 3.0], [nan, 0.0, 0.0]),
])
def test_cumprod_gradient_with_nan_inf_and_zeros(x, want):
    _, g = grad_of(lambda t: t.cumprod(0), x)
    close(g, want)


# ---- 12: negative slice steps ----------------------------------------------------------------------
def test_negative_slice_step_raises_value_error():
    x = fe.tensor([1.0, 2.0, 3.0])
    for index in (slice(None, None, -1), (None, slice(None, None, -1))):
        with pytest.raises(ValueError, match="step must be greater than zero"):
            x[index]
        with pytest.raises(ValueError, match="step must be greater than zero"):
            x[index] = 0.0
    with pytest.raises(ValueError):
        x[::0]
    with pytest.raises(ValueError):                                                 # was RuntimeError
        x[::0] = 0.0


# ---- 13: index_select out of range -----------------------------------------------------------------
@pytest.mark.parametrize("index", [[3], [-1], [5]])
def test_index_select_out_of_range_is_index_error(index):
    with pytest.raises(IndexError):                                                 # was RuntimeError
        fe.tensor([1.0, 2.0, 3.0]).index_select(0, fe.tensor(index))
    with pytest.raises(IndexError):
        fe.zeros(3, 1).index_select(0, fe.tensor(index))
    with pytest.raises(RuntimeError):  # torch's 2-D, dim 1 kernel raises RuntimeError
        fe.zeros(3, 3).index_select(1, fe.tensor(index))


# ---- 14: calls torch rejects -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "median", "nanmedian"])
def test_keepdim_without_dim_is_type_error(name):
    x = fe.tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        getattr(x, name)(keepdim=True)
    with pytest.raises(TypeError):
        getattr(fe, name)(x, keepdim=True)


def test_keepdim_with_dim_none_still_works_for_sum_and_mean():
    x = fe.tensor([1.0, 2.0, 3.0])
    assert x.sum(None, True).shape == (1,) and x.sum(dim=None, keepdim=True).shape == (1,)
    assert fe.sum(x, dim=None, keepdim=True).shape == (1,)


def test_subtraction_with_a_bool_scalar_raises():
    x = fe.tensor([1.0, 2.0])
    for f in (lambda: x - True, lambda: True - x, lambda: x.sub(True), lambda: fe.sub(x, True)):
        with pytest.raises(RuntimeError, match="Subtraction"):
            f()
    close((x - 1).numpy(), [0.0, 1.0])


def test_logsumexp_with_an_empty_dim_list_raises():
    x = fe.tensor([1.0, 2.0, 3.0])
    for dim in ((), []):
        with pytest.raises(RuntimeError):
            x.logsumexp(dim)
    close(fe.tensor(1.0).logsumexp(()).numpy(), 1.0)  # a 0-d tensor: torch gives itself
    close(fe.tensor([[1.0, 2.0], [3.0, 4.0]]).logsumexp((), keepdim=True).numpy(), [[4.440189698561196]])


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_of_a_bool_tensor_is_not_implemented(name):
    b = fe.tensor([True, False])
    with pytest.raises(NotImplementedError):
        getattr(b, name)()
    with pytest.raises(NotImplementedError):
        getattr(b, name)(0)


# ---- 15: rounding of bool and integer tensors ------------------------------------------------------
@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "frac"])
def test_rounding_of_bool_is_not_implemented(name):
    with pytest.raises(NotImplementedError):
        getattr(fe.tensor([True, False]), name)()


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
def test_rounding_of_integers_returns_them(name):
    close(getattr(fe.tensor([1, 2]), name)().numpy(), [1, 2], np.int64)
    close(getattr(fe.tensor([1, 2], dtype=fe.uint8), name)().numpy(), [1, 2], np.uint8)


def test_frac_and_round_decimals_of_integers_are_not_implemented():
    for f in (lambda: fe.tensor([1, 2]).frac(), lambda: fe.tensor([1, 2]).round(decimals=1),
              lambda: fe.tensor([True]).round(decimals=1), lambda: fe.tensor([True]).floor_(),
              lambda: fe.tensor([1]).frac_()):
        with pytest.raises(NotImplementedError):
            f()


def test_norm_without_an_identity_refuses_an_empty_reduction():
    """p = +-inf or p < 0 has no identity: torch raises RuntimeError on an empty reduction; NumPy's max/min had
    leaked their ValueError (inf) and p = -1 had given inf. Other p give 0 there, as torch."""
    x = fe.zeros(3, 0)
    for p in (float("inf"), float("-inf"), -1, -0.5):
        with pytest.raises(RuntimeError, match=f"cannot compute the {p:g} norm on the dimension 1"):
            x.norm(p, dim=1)
        with pytest.raises(RuntimeError, match="on an empty tensor"):
            fe.zeros(0).norm(p)
    for p in (0, 0.5, 1, 2):
        np.testing.assert_array_equal(x.norm(p, dim=1).numpy(), np.zeros(3, np.float32))
    assert fe.zeros(2, 3).norm(float("inf"), dim=1).shape == (2,)  # not empty: computed
