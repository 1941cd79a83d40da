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
