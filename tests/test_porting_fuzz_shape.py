"""Differences from PyTorch 2.13 found by differential fuzzing of shape, linear-algebra and
sorting/searching methods (each test failed before its fix). Literal expected values, so most run
without torch."""
import warnings

import numpy as np
import pytest

import firstepoch as fe


def _f64(values, requires_grad=False):
    return fe.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ---- clamp / clip with tensor bounds: the bounds get torch's gradient ------------------------------------

def test_clamp_tensor_bounds_get_gradients():
    x = _f64([-2.0, -0.5, 0.0, 0.5, 2.0, 1.0], requires_grad=True)
    lo = _f64([-1.0, 0.0, 1.0, -1.0, 3.0, 0.0], requires_grad=True)
    hi = _f64([1.0, -1.0, 2.0, 0.0, 1.0, 1.0], requires_grad=True)
    y = fe.clamp(x, lo, hi)
    np.testing.assert_array_equal(y.detach().numpy(), [-1.0, -1.0, 1.0, 0.0, 1.0, 1.0])
    y.backward(_f64([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    # torch's clamp_backward_min_max: x where lo <= x <= hi, lo where x < lo < hi, hi where x > hi or hi < lo
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0, 0, 0, 6])
    np.testing.assert_array_equal(lo.grad.numpy(), [1, 0, 3, 0, 0, 0])
    np.testing.assert_array_equal(hi.grad.numpy(), [0, 2, 0, 4, 5, 0])


def test_clamp_one_tensor_bound_broadcast_gradient():
    x = _f64([[-2.0, 0.5], [3.0, -0.5]], requires_grad=True)
    lo = _f64([0.0], requires_grad=True)
    y = x.clip(min=lo)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(lo.grad.numpy(), [2])


def test_clamp_bounds_broadcasting_past_the_input_shape_raise_runtime_error():
    with pytest.raises(RuntimeError, match="broadcast"):
        fe.clamp(fe.zeros(1, 3), fe.tensor(0.0), fe.zeros(2, 1))


# ---- unique, unique_consecutive -------------------------------------------------------------------------

def test_unique_keeps_each_nan_distinct():
    x = fe.tensor([2.0, float("nan"), 1.0, float("nan"), 2.0])
    values, inverse, counts = fe.unique(x, return_inverse=True, return_counts=True)
    assert values.shape == (4,) and np.isnan(values.numpy()[2:]).all()
    np.testing.assert_array_equal(inverse.numpy(), [1, 2, 0, 3, 1])
    np.testing.assert_array_equal(counts.numpy(), [1, 2, 1, 1])


def test_unique_consecutive_of_a_0d_tensor():
    values, inverse, counts = fe.tensor(3).unique_consecutive(return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.numpy(), [3])
    assert inverse.shape == () and int(inverse) == 0
    np.testing.assert_array_equal(counts.numpy(), [1])


# ---- bincount, histc, lerp, trace, addcmul: torch's classes and dtypes ------------------------------------

def test_bincount_errors_are_torchs():
    with pytest.raises(NotImplementedError, match="Double"):
        fe.bincount(_f64([0.0, 1.0]))
    with pytest.raises(NotImplementedError, match="Bool"):
        fe.tensor([True, False]).bincount()
    with pytest.raises(RuntimeError, match="minlength"):
        fe.bincount(fe.tensor([0, 1]), minlength=-1)
    with pytest.raises(RuntimeError, match="same length"):
        fe.bincount(fe.tensor([0, 1, 1]), fe.tensor([1.0, 2.0]))


def test_histc_checks_range_and_dtype_as_torch():
    with pytest.raises(RuntimeError, match="not finite"):
        fe.histc(fe.tensor([0.0, 1.0, float("nan")]), bins=4)
    with pytest.raises(NotImplementedError, match="Long"):
        fe.arange(5).histc()
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        fe.arange(5).histc(bins=3, min=2, max=0)


def test_lerp_dtype_rules():
    a32 = fe.tensor([0.0, 1.0])
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        a32.lerp(_f64([1.0, 2.0]), 0.5)
    with pytest.raises(RuntimeError, match="`weight`"):
        fe.lerp(a32, a32, _f64([0.5, 0.5]))
    assert fe.lerp(a32, a32 + 2, _f64(0.5)).dtype == fe.float32  # a 0-d weight is a scalar
    with pytest.raises(NotImplementedError, match="Long"):
        fe.lerp(fe.arange(3), fe.arange(3), 0.5)


def test_trace_of_bool_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="Bool"):
        fe.eye(3).bool().trace()


def test_addcmul_integer_tensors_with_a_float_value_stay_integer():
    out = fe.addcmul(fe.arange(3), fe.arange(3), fe.arange(1, 4), value=1.7)  # torch casts value to int64
    assert out.dtype == fe.int64
    np.testing.assert_array_equal(out.numpy(), [0, 3, 8])


# ---- addmm family: input shape and beta == 0 ---------------------------------------------------------------

@pytest.mark.parametrize("name, shapes", [("addmm", [(2, 4), (2, 3), (3, 4)]), ("addmv", [(2,), (2, 3), (3,)]),
                                          ("baddbmm", [(5, 2, 4), (5, 2, 3), (5, 3, 4)]),
                                          ("addbmm", [(2, 4), (5, 2, 3), (5, 3, 4)])])
def test_beta_zero_gives_the_input_a_zero_gradient(name, shapes):
    rng = np.random.default_rng(0)
    inp = _f64(np.full(shapes[0], np.nan), requires_grad=True)
    a, b = (_f64(rng.standard_normal(s)) for s in shapes[1:])
    out = getattr(fe, name)(inp, a, b, beta=0)
    assert not np.isnan(out.detach().numpy()).any()
    out.sum().backward()
    assert inp.grad is not None and inp.grad.shape == shapes[0]
    np.testing.assert_array_equal(inp.grad.numpy(), 0)


def test_addmm_input_larger_than_the_product_raises_runtime_error():
    with pytest.raises(RuntimeError, match=r"\[3, 4\].*\[2, 4\]"):
        fe.addmm(fe.zeros(3, 4), fe.zeros(2, 3), fe.zeros(3, 4))
    with pytest.raises(RuntimeError):  # would broadcast to (5, 2, 4) before
        fe.addmm(fe.zeros(5, 2, 4), fe.zeros(2, 3), fe.zeros(3, 4))


# ---- einsum, tensordot, cross, norm ---------------------------------------------------------------------

def test_einsum_broadcasts_size_one_letters_with_gradient():
    a = _f64([[1.0], [2.0]], requires_grad=True)  # 'j' has size 1 here, 3 in b
    b = _f64([1.0, 2.0, 3.0], requires_grad=True)
    y = fe.einsum("ij,j->i", a, b)
    np.testing.assert_array_equal(y.detach().numpy(), [6.0, 12.0])
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[6.0], [6.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [3.0, 3.0, 3.0])


def test_tensordot_dims_larger_than_ndim_raises_runtime_error():
    with pytest.raises(RuntimeError, match="dims=5"):
        fe.tensordot(fe.zeros(2, 3), fe.zeros(3, 2), 5)


def test_cross_needs_the_same_number_of_dims():
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        fe.cross(fe.zeros(3, 3), fe.zeros(3))


def test_norm_takes_dtype():
    n = fe.tensor([3.0, 4.0]).norm(dtype=fe.float64)
    assert n.dtype == fe.float64 and float(n) == 5.0


# ---- shape methods ----------------------------------------------------------------------------------------

def test_view_dtype_reinterprets_bytes():
    x = fe.tensor([0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.view(fe.int32).numpy(), [0, 1065353216, 1073741824, 1077936128])
    assert fe.arange(4).view(fe.int32).shape == (8,)
    assert fe.tensor([1.0], dtype=fe.float64).view(fe.int64).item() == 4607182418800017408
    with pytest.raises(RuntimeError):
        fe.tensor(1.0).view(fe.float64)  # different element size on a 0-d tensor


def test_view_without_arguments_is_a_type_error():
    with pytest.raises(TypeError):
        fe.zeros(2, 3).view()


def test_permute_dim_out_of_range_is_index_error():
    with pytest.raises(IndexError):
        fe.zeros(2, 3, 4).permute(0, 1, 3)


def test_mT_of_a_0d_tensor_is_the_identity_with_a_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert float(fe.tensor(2.0).mT) == 2.0
    assert any("deprecated" in str(w.message) for w in caught)


def test_tensor_split_keywords():
    x = fe.arange(7)
    assert [t.tolist() for t in x.tensor_split(indices=[1, 5])] == [[0], [1, 2, 3, 4], [5, 6]]
    assert [len(t) for t in fe.tensor_split(x, sections=3)] == [3, 2, 2]


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
def test_stacking_an_empty_list_raises_runtime_error(name):
    with pytest.raises(RuntimeError, match="non-empty TensorList"):
        getattr(fe, name)([])


def test_cat_of_one_tensor_instead_of_a_list_is_a_type_error():
    with pytest.raises(TypeError):
        fe.cat(fe.zeros(2, 3))


def test_meshgrid_needs_one_dtype_and_broadcast_tensors_raises_runtime_error():
    with pytest.raises(RuntimeError, match="same dtype"):
        fe.meshgrid(fe.arange(3.0), fe.arange(2), indexing="ij")
    with pytest.raises(RuntimeError):
        fe.broadcast_tensors(fe.zeros(2, 3), fe.zeros(4, 3))


def test_against_torch_when_available():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, lo, hi = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((3, 1))
    grads = []
    for lib in (fe, torch):
        ts = [lib.tensor(v, requires_grad=True) for v in (x, lo, hi)]
        (lib.clamp(*ts) * lib.tensor(np.cos(np.arange(12.0)).reshape(3, 4))).sum().backward()
        grads.append([t.grad.numpy() for t in ts])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=1e-12)
    v = np.array([2.0, np.nan, 1.0, np.nan])
    np.testing.assert_array_equal(fe.unique(fe.tensor(v)).numpy(), torch.unique(torch.tensor(v)).numpy())


def test_isin_as_torch():
    assert fe.isin(fe.tensor([1, 2, 3, 4]), fe.tensor([2, 4])).tolist() == [False, True, False, True]
    nan = float("nan")
    assert fe.isin(fe.tensor([[1.0, nan], [3.0, 4.0]]), fe.tensor([nan, 3.0])).tolist() == [[False, False], [True, False]]
    assert fe.isin(fe.tensor([1, 2]), 2).tolist() == [False, True]
    r = fe.isin(2, fe.tensor([1, 2]))
    assert r.shape == () and r.item() is True and r.dtype == fe.bool
    assert fe.isin(fe.tensor([1, 2]), fe.tensor([2.5]), invert=True).tolist() == [True, True]
    # compared in the result type: uint8 with int64 is int64, so 200 is not -56
    assert fe.isin(fe.tensor(np.array([200], np.uint8)), fe.tensor([200, -56])).tolist() == [True]
    assert fe.isin(fe.zeros(0), fe.tensor([1.0])).shape == (0,)
    with pytest.raises(RuntimeError, match="Bool"):
        fe.isin(fe.tensor([True, False]), fe.tensor([1]))
    with pytest.raises(TypeError, match="test_elements"):
        fe.isin(fe.tensor([1, 2]), [2])


def test_broadcast_shapes_as_torch():
    assert fe.broadcast_shapes((2, 1), (3,), 1) == (2, 3)
    assert fe.broadcast_shapes() == ()
    assert fe.broadcast_shapes((0, 1), [1, 5]) == (0, 5)
    for bad in (((2,), (3,)), ((2,), (-1,)), (2.0,)):
        with pytest.raises(RuntimeError):
            fe.broadcast_shapes(*bad)
