"""Tensor methods and top-level functions that once differed silently from PyTorch 2.13: each case
asserts torch's value, dtype, shape or exception class (hard-coded, so it runs without torch)."""
import warnings

import numpy as np
import pytest

import firstepoch as fe


def check(t, values, dtype):
    assert t.dtype == np.dtype(dtype), (t.dtype, dtype)
    np.testing.assert_allclose(t.detach().numpy(), np.asarray(values, dtype=dtype), rtol=1e-6)


# ---- pointwise math on integer and bool tensors: float32, never float64 or float16 -------------------
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh", "log10", "log2"])
def test_floating_pointwise_ops_on_int_and_bool_give_float32(name):
    i = fe.tensor([1, 2, 3])
    b = fe.tensor([True, False])
    want = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
            "tanh": np.tanh, "log10": np.log10, "log2": np.log2}[name]
    check(getattr(i, name)(), want(np.array([1.0, 2.0, 3.0])), np.float32)
    assert getattr(b, name)().dtype == np.float32  # was float16 for exp (NumPy's bool rule)
    assert getattr(fe.tensor([1, 2], dtype=fe.int32), name)().dtype == np.float32


def test_clamp_of_an_int_tensor_with_a_float_bound_is_float32():
    check(fe.tensor([1, 2, 3]).clamp(1.5), [1.5, 2, 3], np.float32)      # was float64
    check(fe.tensor([1, 2, 3]).clamp(2, 2), [2, 2, 2], np.int64)
    check(fe.clamp(fe.tensor([1, 2, 3]), max=2.5), [1, 2, 2.5], np.float32)
    with pytest.raises(RuntimeError):                                     # torch: RuntimeError
        fe.tensor([1.0]).clamp()


# ---- reductions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [(), []])
def test_an_empty_dim_list_reduces_over_every_axis(dim):
    x = fe.arange(6.0).reshape(2, 3)
    check(x.sum(dim), 15.0, np.float32)                                   # was x itself
    check(x.sum(dim, keepdim=True), [[15.0]], np.float32)
    check(x.mean(dim), 2.5, np.float32)
    check(x.amax(dim), 5.0, np.float32)
    check(x.amin(dim), 0.0, np.float32)
    check(x.var(dim), 3.5, np.float32)                                    # was nan per entry
    check(x.std(dim, keepdim=True), [[np.sqrt(3.5)]], np.float32)
    check(x.norm(dim=dim), np.sqrt(55.0), np.float32)
    check(x.logsumexp(dim, keepdim=True), [[np.log(np.exp(np.arange(6.0)).sum())]], np.float32)
    check(fe.sum(x, dim), 15.0, np.float32)
    assert x.any(dim).shape == (2, 3)                                     # any/all: torch reduces nothing


def test_reduction_dtype_argument():
    i = fe.tensor([[1, 2, 3], [4, 5, 6]])
    check(i.sum(dtype=fe.float64), 21.0, np.float64)
    check(fe.sum(i, 0, dtype=fe.float64), [5, 7, 9], np.float64)
    check(fe.tensor([True, True]).sum(dtype=fe.int32), 2, np.int32)
    check(fe.tensor([1, 2], dtype=fe.int32).sum(dtype=fe.int16), 3, np.int16)
    check(i.mean(dtype=fe.float64), 3.5, np.float64)
    check(fe.mean(i, 1, dtype=fe.float32), [2, 5], np.float32)
    check(fe.tensor([1.0, 2.0], dtype=fe.float64).mean(dtype=fe.float32), 1.5, np.float32)
    with pytest.raises(RuntimeError):
        i.mean(dtype=fe.int64)
    check(fe.tensor([1, 2], dtype=fe.int32).prod(dtype=fe.int32), 2, np.int32)
    check(i.prod(1, dtype=fe.float64), [6, 120], np.float64)
    check(i.cumsum(1, dtype=fe.float64), [[1, 3, 6], [4, 9, 15]], np.float64)
    check(fe.tensor([1, 2], dtype=fe.int32).cumsum(0, dtype=fe.int32), [1, 3], np.int32)
    check(fe.cumsum(fe.tensor([True, True]), 0, dtype=fe.float32), [1, 2], np.float32)


def test_sum_of_int32_with_int32_dtype_stays_int32_and_plain_sum_is_int64():
    x = fe.tensor([1, 2], dtype=fe.int32)
    check(x.sum(), 3, np.int64)
    check(x.sum(0, dtype=fe.int32), 3, np.int32)


def test_var_with_a_bool_first_argument_is_the_unbiased_overload():
    x = fe.tensor([[1.0, 2, 3], [4, 5, 6]])
    check(x.var(False), 35 / 12, np.float32)
    check(x.std(True), np.sqrt(3.5), np.float32)
    check(fe.var(x, False), 35 / 12, np.float32)


def test_repeated_reduction_dims_raise_runtime_error():
    with pytest.raises(RuntimeError):
        fe.ones(2, 3).sum((0, 0))
    with pytest.raises(RuntimeError):
        fe.ones(2, 3).mean((1, -1))


def test_extreme_reductions_over_empty_tensors():
    values, indices = fe.zeros(0, 3).max(1)                               # an empty result, as torch
    assert values.shape == (0,) and indices.shape == (0,) and indices.dtype == np.int64
    assert fe.zeros(0, 3).amax(1).shape == (0,)
    assert fe.zeros(0, 3).argmax(1).shape == (0,)
    assert fe.zeros(0, 3).argmin(1, keepdim=True).shape == (0, 1)
    with pytest.raises(RuntimeError):
        fe.zeros(0).max()
    with pytest.raises(IndexError):
        fe.zeros(0).argmax()
    with pytest.raises(IndexError):
        fe.zeros(0, 3).min(0)
    with pytest.raises(IndexError):
        fe.zeros(0, 3).amax(0)
    with pytest.raises(IndexError):
        fe.zeros(0, 3).argmax(0)


def test_argmax_of_a_bool_tensor_raises_as_torch():
    with pytest.raises(RuntimeError):
        fe.tensor([True, False]).argmax()
    with pytest.raises(RuntimeError):
        fe.tensor([[True, False]]).argmin(1)


# ---- creation ---------------------------------------------------------------------------------------
def test_tensor_of_a_numpy_number_keeps_its_dtype():
    assert fe.tensor(np.float64(2.0)).dtype == np.float64                # was float32
    assert fe.tensor(np.float32(2.0)).dtype == np.float32
    assert fe.tensor(np.int32(2)).dtype == np.int32
    assert fe.tensor(np.bool_(True)).dtype == np.bool_
    assert fe.tensor(2.0).dtype == np.float32


def test_tensor_of_an_int_beyond_int64_raises_instead_of_wrapping():
    with pytest.raises(ValueError):                                       # torch: ValueError (overflow)
        fe.tensor([2 ** 63])
    with pytest.raises(ValueError):
        fe.tensor(2 ** 63)
    check(fe.tensor([2 ** 63 - 1]), [2 ** 63 - 1], np.int64)


def test_requires_grad_on_an_int_tensor_is_a_runtime_error():
    with pytest.raises(RuntimeError):
        fe.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError):
        fe.tensor([1, 2]).requires_grad_()


def test_arange_with_a_step_of_the_wrong_sign_raises():
    with pytest.raises(RuntimeError):
        fe.arange(0, 5, -1)
    with pytest.raises(RuntimeError):
        fe.arange(5, 0, 1)
    assert fe.arange(5, 5).shape == (0,)
    check(fe.arange(5, 0, -2), [5, 3, 1], np.int64)


def test_constructor_sizes_as_torch():
    assert fe.zeros(size=(2, 3)).shape == (2, 3)
    assert fe.ones(size=[4]).shape == (4,)
    assert fe.randn(size=(2,)).shape == (2,)
    assert fe.rand(size=(1, 2)).shape == (1, 2)
    assert fe.empty(size=(3,)).shape == (3,)
    with pytest.raises(RuntimeError):                                     # torch: RuntimeError
        fe.zeros(-1)
    with pytest.raises(RuntimeError):
        fe.ones(2, -3)
    with pytest.raises(TypeError):                                        # torch: TypeError (a float size)
        fe.ones(2.0)
    assert fe.zeros(fe.tensor(2)).shape == (2,)                           # a 0-d int tensor is an int
    assert fe.ones(3, 1).expand(-1, 4).shape == (3, 4)                    # expand keeps its -1


# ---- indexing and iteration --------------------------------------------------------------------------
def test_iterating_a_0d_tensor_raises():
    with pytest.raises(TypeError):
        list(fe.tensor(1.0))                                              # was []
    rows = list(fe.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert len(rows) == 2 and rows[1].shape == (2,)


def test_a_uint8_index_tensor_is_a_mask():
    x = fe.tensor([10, 20, 30])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(x[fe.tensor([1, 0, 1], dtype=fe.uint8)], [10, 30], np.int64)   # was x[[1, 0, 1]]
        y = x.clone()
        y[fe.tensor([0, 1, 0], dtype=fe.uint8)] = 0
    check(y, [10, 0, 30], np.int64)
    with pytest.warns(UserWarning, match="uint8"):
        x[fe.tensor([1, 1, 1], dtype=fe.uint8)]


# ---- shape errors: torch's RuntimeError, not NumPy's ValueError --------------------------------------
@pytest.mark.parametrize("call", [
    lambda: fe.ones(2, 3) + fe.ones(4),
    lambda: fe.ones(2, 3) - fe.ones(2),
    lambda: 2 * fe.ones(2, 3) * fe.ones(2),
    lambda: fe.ones(2, 3) / fe.ones(2),
    lambda: fe.ones(2, 3) ** fe.ones(2),
    lambda: fe.ones(2, 3) // fe.ones(2),
    lambda: fe.ones(2, 3) % fe.ones(2),
    lambda: fe.ones(2, 3) < fe.ones(2),
    lambda: fe.ones(2, 3) == fe.ones(2),
    lambda: fe.maximum(fe.ones(2, 3), fe.ones(2)),
    lambda: fe.where(fe.ones(2, 3) > 0, fe.ones(2), 0.0),
    lambda: fe.tensor([1, 2, 3]) & fe.tensor([1, 2]),
    lambda: fe.ones(3).logical_and(fe.ones(2)),
    lambda: fe.where(fe.tensor([1, 0]), fe.ones(2), 0.0),     # a condition that is not bool
    lambda: fe.ones(2, 3).reshape(4, 2),
    lambda: fe.ones(2, 3).reshape(-1, -1),
    lambda: fe.ones(2, 3).view(4, -1),
    lambda: fe.ones(2, 3).permute(0),
    lambda: fe.ones(2, 3).permute(0, 0),
    lambda: fe.ones(2, 3, 4).flatten(2, 1),
    lambda: fe.ones(2).item(),
    lambda: fe.cat([fe.ones(2, 2), fe.ones(3, 1)]),
    lambda: fe.cat([fe.tensor(1.0), fe.tensor(2.0)]),
    lambda: fe.stack([fe.ones(2), fe.ones(3)]),
    lambda: fe.stack([]),
    lambda: fe.ones(2, 3) @ fe.ones(2, 3),
    lambda: fe.tensor(2.0) @ fe.tensor(2.0),
    lambda: fe.ones(2, 2, 3) @ fe.ones(3, 3, 4),
])
def test_shape_errors_are_runtime_errors(call):
    with pytest.raises(RuntimeError):
        call()


def test_cat_leaves_out_1d_empty_tensors_as_torch():
    x = fe.tensor([[1.0, 2.0]])
    check(fe.cat([fe.tensor([]), x]), [[1, 2]], np.float32)             # was a shape error
    check(fe.cat([x, fe.zeros(0)], 1), [[1, 2]], np.float32)
    check(fe.cat([fe.tensor([]), fe.tensor([[1, 2]])]), [[1, 2]], np.float32)  # its dtype still promotes
    assert fe.cat([fe.zeros(0), fe.zeros(0)]).shape == (0,)
    with pytest.raises(ValueError):                                       # torch.cat([]): ValueError
        fe.cat([])
    a = fe.tensor([[1.0, 2.0]], requires_grad=True)
    fe.cat([fe.tensor([]), a, a]).sum().backward()
    check(a.grad, [[2, 2]], np.float32)


# ---- more edge cases --------------------------------------------------------------------------------
def test_bool_tensor_to_an_int_power_is_int64():
    check(fe.tensor([True, False]) ** 2, [1, 0], np.int64)                # was int8 (NumPy's rule)


def test_clamp_with_tensor_bounds_follows_result_type():
    x = fe.tensor([[3.0, 1, 2], [0, -1, 5]])
    check(x.clamp(fe.tensor(0.0, dtype=fe.float64)), [[3, 1, 2], [0, 0, 5]], np.float32)   # was float64
    check(fe.tensor([3, 1]).clamp(min=fe.tensor(2)), [3, 2], np.int64)
    check(x.clamp(fe.tensor([1.0, 1.5, 2.0]), fe.tensor(2.5)), [[2.5, 1.5, 2], [1, 1.5, 2.5]], np.float32)


def test_transpose_of_a_vector_checks_its_dims():
    assert fe.ones(3).transpose(0, -1).shape == (3,)
    assert fe.tensor(1.0).transpose(0, -1).shape == ()
    with pytest.raises(IndexError):
        fe.ones(3).transpose(0, 1)                                        # was a silent no-op


def test_flip_needs_dims():
    with pytest.raises(TypeError):
        fe.ones(2, 3).flip()                                              # was an unflipped copy
    check(fe.tensor([1, 2, 3]).flip(0), [3, 2, 1], np.int64)


def test_gather_of_a_vector_with_a_0d_index():
    check(fe.tensor([1.0, 2.0]).gather(0, fe.tensor(1)), 2.0, np.float32)


def test_softmax_dtype_argument():
    x = fe.tensor([[1.0, 2.0, 3.0]])
    assert x.softmax(1, dtype=fe.float64).dtype == np.float64
    assert fe.softmax(x, 1, dtype=fe.float64).dtype == np.float64
    assert fe.log_softmax(x, -1, dtype=fe.float64).dtype == np.float64


def test_named_arithmetic_methods():
    x = fe.tensor([1.0, 2.0, 3.0], requires_grad=True)
    i = fe.tensor([-7, 7, 6])
    check(x.add(x, alpha=2), [3, 6, 9], np.float32)
    check(fe.add(x, 1), [2, 3, 4], np.float32)
    check(x.sub(1, alpha=2), [-1, 0, 1], np.float32)
    check(fe.sub(i, 1), [-8, 6, 5], np.int64)
    check(x.mul(fe.tensor([True, False, True])), [1, 0, 3], np.float32)
    check(fe.mul(i, 2), [-14, 14, 12], np.int64)
    check(i.div(2), [-3.5, 3.5, 3], np.float32)
    check(fe.div(i, 2, rounding_mode="floor"), [-4, 3, 3], np.int64)
    check(i.div(2, rounding_mode="trunc"), [-3, 3, 3], np.int64)
    check(i.div(-4, rounding_mode="trunc"), [1, -1, -1], np.int64)
    check(fe.tensor([-3.5, 3.5]).div(2, rounding_mode="trunc"), [-1, 1], np.float32)
    check(i.true_divide(2), [-3.5, 3.5, 3], np.float32)
    check(x.neg(), [-1, -2, -3], np.float32)
    check(i.square(), [49, 49, 36], np.int64)
    check(fe.square(x), [1, 4, 9], np.float32)
    assert x.is_floating_point() and not i.is_floating_point()
    v = fe.tensor([float("nan"), float("inf"), 1.0])
    check(v.isnan(), [True, False, False], np.bool_)
    check(fe.isinf(v), [False, True, False], np.bool_)
    check(v.isfinite(), [False, False, True], np.bool_)
    check(fe.amax(fe.tensor([[1, 5], [3, 2]]), 1), [5, 3], np.int64)
    assert fe.ones(2, 3).reshape_as(fe.zeros(3, 2)).shape == (3, 2)
    assert fe.ones(2, 3).swapaxes(0, 1).shape == (3, 2)
    with pytest.raises(RuntimeError):  # torch's class
        i.div(2, rounding_mode="round")
    (x.mul(2).add(x, alpha=3).div(5)).sum().backward()
    check(x.grad, [1, 1, 1], np.float32)


@pytest.mark.parametrize("op, want", [
    (lambda x: x.__ipow__(2), [1, 4, 9]),
    (lambda x: x.__ifloordiv__(2), [0, 1, 1]),
    (lambda x: x.__imod__(2), [1, 0, 1]),
    (lambda x: x.__iand__(1), [1, 0, 1]),
    (lambda x: x.__ior__(4), [5, 6, 7]),
    (lambda x: x.__ixor__(1), [0, 3, 2]),
    (lambda x: x.pow_(2), [1, 4, 9]),
    (lambda x: x.neg_(), [-1, -2, -3]),
])
def test_augmented_assignments_change_the_tensor_in_place(op, want):
    x = fe.tensor([1, 2, 3])
    alias, view = x, x[:]
    assert op(x) is alias                                                 # x **= 2 was x = x ** 2
    check(alias, want, np.int64)
    check(view, want, np.int64)


def test_float_in_place_math_and_its_gradient():
    x = fe.tensor([1.0, 4.0], requires_grad=True)
    y = x * 1
    y **= 2
    y.sqrt_()
    y.exp_()
    y.log_()
    y.abs_()
    check(y, [1, 4], np.float32)
    y.sum().backward()
    check(x.grad, [1, 1], np.float32)
    with pytest.raises(RuntimeError):                                     # int **= 0.5: float can't go into int64
        z = fe.tensor([1, 2])
        z **= 0.5


def test_casting_a_tensor_that_requires_grad_to_an_integer_dtype_leaves_the_graph():
    x = fe.tensor([1.7, -1.7], requires_grad=True)
    for cast in (lambda: x.long(), lambda: x.int(), lambda: x.to(fe.int64), lambda: x.bool(), lambda: x.byte()):
        y = cast()                                                        # was TypeError
        assert not y.requires_grad and y.grad_fn is None
    check(x.long(), [1, -1], np.int64)


def test_random_fills_of_integer_tensors_raise():
    for fill in (lambda t: t.normal_(), lambda t: t.uniform_(0, 5)):
        with pytest.raises(NotImplementedError):                          # normal_ filled zeros before
            fill(fe.tensor([1, 2]))


def test_tensor_of_a_list_of_numpy_numbers_or_tensors_keeps_their_dtype():
    check(fe.tensor([np.float64(1.0), np.float64(2.0)]), [1, 2], np.float64)   # was float32
    check(fe.tensor([np.int32(1), np.int32(2)]), [1, 2], np.int32)             # was int64
    check(fe.tensor([np.float64(1.0), 2.0]), [1, 2], np.float64)
    check(fe.tensor([np.int32(1), 2]), [1, 2], np.int64)
    check(fe.tensor([np.float32(1.0), 2]), [1, 2], np.float32)
    check(fe.tensor([fe.tensor(1.0, dtype=fe.float64), fe.tensor(2.0, dtype=fe.float64)]), [1, 2], np.float64)
    check(fe.tensor([[np.float64(1.0)], [2.0]]), [[1], [2]], np.float64)
    check(fe.tensor([1.0, 2.0]), [1, 2], np.float32)
    check(fe.tensor([[1, 2], [3, 4]]), [[1, 2], [3, 4]], np.int64)


def test_integer_tensor_to_negative_integer_tensor_powers():
    base = fe.tensor([-2, -1, 0, 1, 2, 3]).reshape(6, 1)
    exponent = fe.tensor([-1, -2, -3])
    check(base ** exponent, [[0, 0, 0], [-1, 1, -1], [0, 0, 0], [1, 1, 1], [0, 0, 0], [0, 0, 0]], np.int64)
    check(fe.tensor([2, 3]) ** fe.tensor(-1), [0, 0], np.int64)            # was NumPy's ValueError
    check(2 ** fe.tensor([-1, 2]), [0, 4], np.int64)
    check(fe.tensor([2, 3]) ** fe.tensor([2, 0]), [4, 1], np.int64)
    with pytest.raises(RuntimeError):                                       # a Python exponent: torch raises
        fe.tensor([2]) ** -1


def test_pow_function_with_a_number_base():
    check(fe.pow(2, fe.tensor([1, 2])), [2, 4], np.int64)                  # was TypeError
    check(fe.pow(2.5, fe.tensor([1, 2])), [2.5, 6.25], np.float32)
    check(fe.pow(fe.tensor([1.0, 2.0]), 2), [1, 4], np.float32)


def test_nonzero_argwhere_and_where_with_a_condition_alone():
    x = fe.tensor([[0.0, 1.0], [2.0, 0.0]])
    check(x.nonzero(), [[0, 1], [1, 0]], np.int64)
    check(fe.argwhere(x), [[0, 1], [1, 0]], np.int64)
    rows, cols = fe.where(x > 0)                                          # was TypeError
    check(rows, [0, 1], np.int64)
    check(cols, [1, 0], np.int64)
    rows, cols = fe.nonzero(x, as_tuple=True)
    check(cols, [1, 0], np.int64)
    assert fe.tensor(3.0).nonzero().shape == (1, 0)
    assert fe.tensor(0.0).nonzero().shape == (0, 0)
    assert fe.zeros(0, 2).nonzero().shape == (0, 2)
    with pytest.raises(TypeError):
        fe.where(x > 0, x)


def test_comparing_with_a_list_is_not_elementwise():
    a = fe.tensor([1, 2, 3])
    assert (a == [1, 2, 3]) is False and (a != (1, 2, 3)) is True         # was a bool tensor
    with pytest.raises(TypeError):
        a < [1, 2, 3]
    with pytest.raises(TypeError):
        a.eq([1, 2, 3])
    check(a == np.array([1, 0, 3]), [True, False, True], np.bool_)


def test_masked_fill_and_scatter_in_place():
    x = fe.tensor([[1.0, 2.0], [3.0, 4.0]])
    alias = x
    assert x.masked_fill_(x > 2, 0.0) is alias
    check(alias, [[1, 2], [0, 0]], np.float32)
    x.scatter_(1, fe.tensor([[1], [0]]), 9.0)
    check(alias, [[1, 9], [9, 0]], np.float32)
    x.scatter_(0, fe.tensor([[0, 1]]), fe.tensor([[5.0, 6.0]]))
    check(alias, [[5, 9], [9, 6]], np.float32)
    w = fe.tensor([1.0, 2.0], requires_grad=True)
    y = w * 1
    y.masked_fill_(fe.tensor([True, False]), 0.0)
    y.sum().backward()
    check(w.grad, [0, 1], np.float32)


def test_a_list_holding_sequences_or_tensors_indexes_as_a_tuple():
    x = fe.arange(12.0).reshape(3, 4)
    check(x[[[0, 1], [1, 2]]], [1, 6], np.float32)                        # was rows 0,1 and 1,2 stacked
    check(x[[[0], [1]]], [1], np.float32)
    check(x[[fe.tensor(0), fe.tensor(1)]], 1, np.float32)
    check(x[[0, slice(1, 3)]], [1, 2], np.float32)
    check(x[[0, 2]], [[0, 1, 2, 3], [8, 9, 10, 11]], np.float32)            # plain ints: rows, as before
    y = x.clone()
    y[[[0, 1], [1, 2]]] = 0.0
    check(y[[0, 1], [1, 2]], [0, 0], np.float32)
    assert y.sum().item() == x.sum().item() - 7


def test_narrow_select_unflatten_tril_triu():
    x = fe.arange(12.0).reshape(3, 4)
    check(x.narrow(1, -2, 2), [[2, 3], [6, 7], [10, 11]], np.float32)
    assert x.narrow(1, 4, 0).shape == (3, 0)
    with pytest.raises(RuntimeError):
        x.narrow(1, 3, 2)
    with pytest.raises(IndexError):
        x.narrow(1, -5, 1)
    check(x.select(1, -1), [3, 7, 11], np.float32)
    with pytest.raises(IndexError):
        x.select(1, 4)
    assert x.unflatten(1, (2, -1)).shape == (3, 2, 2)
    with pytest.raises(RuntimeError):
        x.unflatten(1, (3, -1))
    check(x.tril(-1), [[0, 0, 0, 0], [4, 0, 0, 0], [8, 9, 0, 0]], np.float32)
    check(fe.triu(x, 1), [[0, 1, 2, 3], [0, 0, 6, 7], [0, 0, 0, 11]], np.float32)
    check(fe.tril(fe.ones(2, 2, dtype=fe.int64)), [[1, 0], [1, 1]], np.int64)
    with pytest.raises(RuntimeError):
        fe.ones(3).tril()
    v = x.narrow(0, 1, 1)
    v.fill_(0.0)                                                          # a view, as torch
    check(x[1], [0, 0, 0, 0], np.float32)
    w = fe.ones(2, 2, requires_grad=True)
    w.tril().sum().backward()
    check(w.grad, [[1, 0], [1, 1]], np.float32)


def test_max_and_min_of_two_tensors_as_methods():
    x, y = fe.tensor([1.0, 5.0]), fe.tensor([3.0, 2.0])
    check(x.max(y), [3, 5], np.float32)                                   # was TypeError
    check(x.min(y), [1, 2], np.float32)
    check(x.max(other=y), [3, 5], np.float32)
    assert x.max(0).indices.item() == 1


def test_unique():
    x = fe.tensor([[3, 1], [2, 1], [3, 1]])
    check(x.unique(), [1, 2, 3], np.int64)
    values, inverse, counts = fe.unique(x, return_inverse=True, return_counts=True)
    check(inverse, [[2, 0], [1, 0], [2, 0]], np.int64)
    check(counts, [3, 1, 2], np.int64)
    rows, inverse = x.unique(dim=0, return_inverse=True)
    check(rows, [[2, 1], [3, 1]], np.int64)
    check(inverse, [1, 0, 1], np.int64)
    check(fe.tensor([3.0, 1.0, 3.0]).unique(sorted=False), [1, 3], np.float32)


def test_a_number_that_does_not_fit_an_integer_tensor_raises():
    x = fe.tensor([1, 2])
    for write in (lambda: x.__setitem__(0, float("nan")), lambda: x.__setitem__(0, 1e20),
                  lambda: x.fill_(float("inf")), lambda: fe.full((2,), float("nan"), dtype=fe.int64),
                  lambda: fe.tensor([1], dtype=fe.uint8).__setitem__(0, 300),
                  lambda: fe.tensor([1], dtype=fe.uint8).__setitem__(0, 255.7),
                  lambda: fe.tensor([1], dtype=fe.int8).__setitem__(0, -129)):
        with pytest.raises(RuntimeError):                                  # was a wrapped garbage value
            write()
    check(x, [1, 2], np.int64)
    u = fe.tensor([0, 0], dtype=fe.uint8)
    u[0] = -1                                                             # two's complement, as torch
    u[1] = 254.9
    check(u, [255, 254], np.uint8)
    x[1] = 2.9
    check(x, [1, 2], np.int64)


def test_requires_grad_attribute_is_checked_as_torchs():
    # torch: `t.requires_grad = True` on an integer tensor and `y.requires_grad = False` on a non-leaf raise
    # RuntimeError; both were accepted (an int leaf then "required" a gradient no op could give it)
    t = fe.tensor([1, 2])
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require gradients"):
        t.requires_grad = True
    assert t.requires_grad is False
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        fe.tensor([True]).requires_grad = True
    x = fe.randn(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad = False
    y.requires_grad = True  # already true: allowed, as torch
    t.requires_grad = False  # False on an int leaf: allowed, as torch
    leaf = fe.zeros(3)
    leaf.requires_grad = True
    (leaf * leaf).sum().backward()
    assert leaf.grad is not None and leaf.grad.shape == (3,)
    leaf.requires_grad = False
    assert (leaf * 2).requires_grad is False


def test_stride_of_an_empty_tensor_is_torchs():
    """NumPy gives empty arrays all-zero strides; torch reports C-contiguous ones (sizes 0 counted as 1)."""
    for shape, want in [((0, 2, 5, 4), (40, 20, 4, 1)), ((2, 0, 3), (3, 3, 1)), ((3, 1, 0), (1, 1, 1)), ((0,), (1,))]:
        t = fe.zeros(*shape)
        assert t.stride() == want and t.stride(-1) == want[-1]
