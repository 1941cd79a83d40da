"""Differences from PyTorch 2.13 found by differential fuzzing of type promotion, indexing, the
gather/scatter/index_* family and creation functions (expected values are torch's, written out)."""
import warnings

import numpy as np
import pytest

import firstepoch as fe


def _t(values, dtype):
    return fe.tensor(np.array(values, dtype=dtype))


# ---- type promotion ----------------------------------------------------------------------------------
def test_bool_pow_bool_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="pow"):
        fe.tensor([True, False]) ** fe.tensor([True, True])
    with pytest.raises(NotImplementedError, match="pow"):
        True ** fe.tensor([True, False])


def test_inplace_integer_result_into_narrower_integer_wraps():
    # torch's canCast allows int -> int of any width: uint8 += int8 is kept (wrapping), not an error
    x = _t([250, 3], np.uint8)
    x += _t([10, -4], np.int8)
    assert x.dtype == np.uint8 and x.tolist() == [4, 255]
    y = _t([1, 2], np.uint8)
    y *= _t([300, 2], np.int32)
    assert y.tolist() == [44, 4]


def test_inplace_checks_result_type_before_computing():
    x = fe.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        x &= fe.tensor([1.5, 2.0])
    b = fe.tensor([True, False])
    with pytest.raises(RuntimeError, match="can't be cast"):
        b |= fe.tensor([1.0, 0.0])
    with pytest.raises(RuntimeError, match="can't be cast"):
        b ^= 1.5


def test_comparison_in_result_type_wraps_like_torch():
    x = _t([0, 3, 5], np.uint8)
    assert (x < -2).tolist() == [True, True, True]  # -2 is 254 as uint8
    assert (x >= -2).tolist() == [False, False, False]
    assert (x < fe.tensor(-2)).tolist() == [True, True, True]  # 0-d int64: compared in uint8
    assert (_t([1, 2], np.int8) < 200).tolist() == [False, False]  # 200 is -56 as int8


# ---- indexing ----------------------------------------------------------------------------------------
def test_index_tensor_of_narrow_int_dtype_is_index_error():
    x = fe.arange(12.0).reshape(4, 3)
    with pytest.raises(IndexError, match="long, int, byte or bool"):
        x[_t([0, 1], np.int16)]
    with pytest.raises(IndexError, match="long, int, byte or bool"):
        x[_t([0, 1], np.int16)] = 1.0
    assert x[np.array([0, 1], np.int16)].shape == (2, 3)  # an array is converted first, as torch
    assert x[_t(1, np.int16)].shape == (3,)  # a 0-d tensor is an integer


def test_uint8_ndarray_index_is_a_mask():
    x = fe.arange(12.0).reshape(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert x[np.array([1, 0, 1, 1], np.uint8)].shape == (3, 3)


def test_setitem_mask_value_shape_mismatch_is_runtime_error():
    x = fe.zeros(4, 5, 3)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        x[np.ones((4, 5), bool)] = fe.ones(5, 3)


# ---- gather / scatter / index_* / masked_* -----------------------------------------------------------
def test_long_only_index_ops():
    x = fe.zeros(3, 4)
    i32 = _t([0, 1], np.int32)
    with pytest.raises(RuntimeError, match="int64"):
        x.take(i32)
    with pytest.raises(RuntimeError, match="int64"):
        x.take_along_dim(_t([[0, 1, 2, 0]], np.int32), dim=0)
    with pytest.raises(RuntimeError, match="int64"):
        x.index_copy(0, i32, fe.ones(2, 4))
    with pytest.raises(IndexError, match="int64"):
        x.index_fill(0, i32, 1.0)
    with pytest.raises(IndexError, match="int64"):
        x.index_fill(0, fe.tensor([0.0]), 1.0)
    with pytest.raises(RuntimeError, match="vector/scalar"):
        x.index_fill(0, fe.tensor([[0, 1]]), 1.0)


def test_index_add_and_copy_reject_negative_index():
    x = fe.zeros(3, 4)
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.index_add(0, fe.tensor([-1]), fe.ones(1, 4))
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.index_add(0, fe.tensor([3]), fe.ones(1, 4))
    with pytest.raises(IndexError, match="out of bounds"):
        x.index_add(0, fe.tensor([-1]), fe.ones(1, 4), alpha=2)
    with pytest.raises(IndexError, match="out of bounds"):
        x.index_copy(1, fe.tensor([-1]), fe.ones(3, 1))
    assert x.index_fill(0, fe.tensor([-1]), 1.0).sum(1).tolist() == [0.0, 0.0, 4.0]  # index_fill wraps


def test_take_along_dim_errors():
    x = fe.zeros(3, 4)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.take_along_dim(fe.tensor([0, 1]), dim=2)
    with pytest.raises(RuntimeError, match="broadcast"):
        x.take_along_dim(fe.tensor([[0, 1, 2, 0], [2, 2, 1, 0]]), dim=1)


def test_masked_ops_broadcast():
    x = fe.ones(3, 4)
    with pytest.raises(RuntimeError, match="mask"):
        x.masked_select(fe.tensor([True, False]))
    with pytest.raises(RuntimeError, match="mask"):
        x.masked_scatter(fe.tensor([True, False]), fe.ones(10))
    y = x.masked_fill(fe.ones(2, 3, 4, dtype=fe.bool), 9.0)  # out of place: the broadcast shape, as torch
    assert y.shape == (2, 3, 4) and y.sum().item() == 216.0
    xg = fe.ones(3, 4, requires_grad=True)
    xg.masked_fill(fe.zeros(2, 3, 4, dtype=fe.bool), 9.0).sum().backward()
    assert xg.grad.tolist() == [[2.0] * 4] * 3
    with pytest.raises(RuntimeError):
        x.clone().masked_fill_(fe.ones(2, 3, 4, dtype=fe.bool), 9.0)


# ---- creation ----------------------------------------------------------------------------------------
def test_arange_float_arguments_with_integer_dtype():
    assert fe.arange(-3, 3, 1.5, dtype=fe.int32).tolist() == [-3, -2, -1, 0]
    assert fe.arange(-3, 3, 1.5, dtype=fe.int64).tolist() == [-3, -2, -1, 0, 1, 2]
    assert fe.arange(0, 2.5, dtype=fe.int64).tolist() == [0, 1]
    assert fe.arange(5, 0.5, -1.5, dtype=fe.int32).tolist() == [5, 4, 3]
    with pytest.raises(NotImplementedError):
        fe.arange(3, dtype=fe.bool)


def test_against_torch_promotion_sample():
    torch = pytest.importorskip("torch")
    dts = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]
    for a in dts:
        for b in dts:
            for make_b in (lambda d: np.array([1, 0, 1], d), lambda d: np.array(1, d)):
                xa, xb = np.array([2, 0, 1], a), make_b(b)
                for op in ("__lt__", "__add__", "__mul__"):
                    try:
                        want = getattr(torch.from_numpy(xa), op)(torch.from_numpy(xb.copy()))
                    except Exception as e:  # noqa: BLE001 - the class is what is compared
                        with pytest.raises(type(e)):
                            getattr(fe.tensor(xa), op)(fe.tensor(xb))
                        continue
                    got = getattr(fe.tensor(xa), op)(fe.tensor(xb))
                    assert str(got.dtype) == str(want.numpy().dtype), (a, b, op)
                    assert got.tolist() == want.tolist(), (a, b, op)


# ---- names ported code used that were missing: shifts, Tensor.where, scatter_reduce ------------------

def test_shifts_as_torch():
    a = fe.tensor(np.array([1, 2, -3, 100], dtype=np.int8))
    assert (a << 1).tolist() == [2, 4, -6, -56] and (a << 1).dtype == fe.int8
    assert (a << 8).tolist() == [0, 0, 0, 0] and (a << -1).tolist() == [0, 0, 0, 0]  # past the width: 0
    assert (a >> 1).tolist() == [0, 1, -2, 50]
    assert (a >> 9).tolist() == [0, 0, -1, 0] and (a >> -1).tolist() == [0, 0, -1, 0]  # the sign
    assert (1 << a).tolist() == [2, 4, 0, 0]
    assert (fe.tensor([True]) << 1).tolist() == [2] and (fe.tensor([True]) << 1).dtype == fe.int64
    assert (fe.tensor([1]) << 63).tolist() == [-(2 ** 63)] and (fe.tensor([-8]) >> 64).tolist() == [-1]
    assert (fe.tensor(np.array([200], np.uint8)) << 1).tolist() == [144]
    assert fe.bitwise_left_shift(fe.tensor([1, 2]), fe.tensor(np.array([1, 2], np.int8))).tolist() == [2, 8]
    assert fe.bitwise_right_shift(fe.tensor([8]), 2).tolist() == [2]
    for bad in (lambda: fe.tensor([1.5]) << 1, lambda: a << 1.5, lambda: fe.tensor([3.0]) >> 1):
        with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
            bad()
    b = a.clone()
    b <<= 1
    assert b.tolist() == [2, 4, -6, -56] and b.dtype == fe.int8


def test_tensor_where_method():
    assert fe.tensor([1.0, 2.0]).where(fe.tensor([True, False]), 0.0).tolist() == [1.0, 0.0]
    r = fe.tensor([1, 2]).where(fe.tensor([True, False]), fe.tensor([5.0, 6.0]))
    assert r.tolist() == [1.0, 6.0] and r.dtype == fe.float32


@pytest.mark.parametrize("reduce,include_self,expected", [
    ("sum", True, [10, 7, 13]), ("sum", False, [5, 7, 4]), ("prod", True, [30, 7, 36]), ("prod", False, [6, 7, 4]),
    ("mean", True, [3, 7, 6]), ("mean", False, [2, 7, 4]), ("amax", True, [5, 7, 9]), ("amax", False, [3, 7, 4]),
    ("amin", True, [2, 7, 4]), ("amin", False, [2, 7, 4])])
def test_scatter_reduce_integers_as_torch(reduce, include_self, expected):
    # torch 2.13's values (integer mean floors)
    out = fe.tensor([5, 7, 9]).scatter_reduce(0, fe.tensor([0, 0, 2]), fe.tensor([2, 3, 4]), reduce,
                                             include_self=include_self)
    assert out.tolist() == expected and out.dtype == fe.int64


def test_scatter_reduce_gradients_as_torch():
    # amax: ties share the gradient, x's own entry counted where it equals the result (torch's rule)
    x = fe.tensor([1.0, 5.0, 0.0], dtype=fe.float64, requires_grad=True)
    src = fe.tensor([3.0, 3.0, 5.0, 2.0], dtype=fe.float64, requires_grad=True)
    out = x.scatter_reduce(0, fe.tensor([0, 0, 1, 2]), src, "amax")
    assert out.tolist() == [3.0, 5.0, 2.0]
    out.backward(fe.tensor([1.0, 1.0, 1.0], dtype=fe.float64))
    assert x.grad.tolist() == [0.0, 0.5, 0.0] and src.grad.tolist() == [0.5, 0.5, 0.5, 1.0]
    # prod with one zero among the entries: the product of the others, not 0 or NaN
    x = fe.tensor([2.0, 1.0], dtype=fe.float64, requires_grad=True)
    src = fe.tensor([0.0, 3.0], dtype=fe.float64, requires_grad=True)
    x.scatter_reduce(0, fe.tensor([0, 0]), src, "prod").sum().backward()
    assert x.grad.tolist() == [0.0, 1.0] and src.grad.tolist() == [6.0, 0.0]
    # mean without self: x gets no gradient where src writes
    x = fe.tensor([2.0, 1.0], dtype=fe.float64, requires_grad=True)
    src = fe.tensor([4.0, 6.0], dtype=fe.float64, requires_grad=True)
    out = x.scatter_reduce(0, fe.tensor([0, 0]), src, "mean", include_self=False)
    assert out.tolist() == [5.0, 1.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0] and src.grad.tolist() == [0.5, 0.5]


def test_scatter_reduce_errors():
    x = fe.zeros(3)
    with pytest.raises(RuntimeError, match="reduce argument must be either"):
        x.scatter_reduce(0, fe.tensor([0]), fe.ones(1), "max")
    with pytest.raises(RuntimeError, match="Expected dtype int64"):
        x.scatter_reduce(0, fe.tensor(np.array([0], np.int32)), fe.ones(1), "sum")
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.scatter_reduce(0, fe.tensor([3]), fe.ones(1), "sum")
    with pytest.raises(RuntimeError, match="self.dtype to be equal to src.dtype"):
        x.scatter_reduce(0, fe.tensor([0]), fe.ones(1, dtype=fe.float64), "sum")


def test_scatter_reduce_matches_torch_at_random():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for trial in range(150):
        dt = (np.float64, np.float32)[trial % 2]
        nd = int(rng.integers(1, 4))
        xs = tuple(int(v) for v in rng.integers(1, 5, nd))
        dim = int(rng.integers(0, nd))
        ishape = tuple(int(rng.integers(1, xs[i] + 1)) if i != dim else int(rng.integers(1, 7)) for i in range(nd))
        draw = (lambda s: rng.integers(-2, 3, s).astype(dt)) if trial % 3 == 0 else (lambda s: rng.standard_normal(s).astype(dt))
        x, src, g = draw(xs), draw(ishape), rng.standard_normal(xs).astype(dt)
        idx = rng.integers(0, xs[dim], ishape)
        reduce, include = ("sum", "prod", "mean", "amax", "amin")[trial % 5], bool(trial % 7 % 2)
        tx, ts = torch.tensor(x, requires_grad=True), torch.tensor(src, requires_grad=True)
        tr = tx.scatter_reduce(dim, torch.tensor(idx), ts, reduce, include_self=include)
        tr.backward(torch.tensor(g))
        fx, fs = fe.tensor(x, requires_grad=True), fe.tensor(src, requires_grad=True)
        fr = fx.scatter_reduce(dim, fe.tensor(idx), fs, reduce, include_self=include)
        fr.backward(fe.tensor(g))
        tol = 1e-4 if dt == np.float32 else 1e-10
        for a, b in ((tr.detach(), fr.detach()), (tx.grad, fx.grad), (ts.grad, fs.grad)):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=tol, atol=tol, err_msg=f"{reduce} {include}")
