"""The operators and Tensor methods ported PyTorch code uses (issue 16), each against torch 2.x on
random inputs: values, result dtypes, gradients (where torch's op is differentiable) and the error
class of bad input. Every case runs the same lambda on firstepoch and on torch (`L` is the module:
`L.tensor` builds index tensors in either). The gradient checks of the new Functions themselves are in
tests/test_gradcheck_registry.py."""
import math

import firstepoch as fe
import numpy as np
import pytest


def _dtype_name(dt):
    return str(dt).replace("torch.", "")


def _leaves(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _run(L, fn, arrays, grad):
    """fn applied to tensors of L made from arrays (floating ones require grad when grad); returns
    (inputs, outputs)."""
    inputs = [L.tensor(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    return inputs, _leaves(fn(L, *inputs))


def check(fn, *arrays, grad=True, rtol=1e-6, atol=1e-9):
    """fn on firstepoch and on torch: the same values and dtypes, and (grad) the same input gradients
    for the same random weighting of the floating outputs."""
    torch = pytest.importorskip("torch")
    f_in, f_out = _run(fe, fn, arrays, grad)
    t_in, t_out = _run(torch, fn, arrays, grad)
    assert len(f_out) == len(t_out)
    for f, t in zip(f_out, t_out):
        assert _dtype_name(f.dtype) == _dtype_name(t.dtype), (f.dtype, t.dtype)
        assert tuple(f.shape) == tuple(t.shape), (f.shape, t.shape)
        np.testing.assert_allclose(np.asarray(f.detach().numpy()), t.detach().numpy(), rtol=rtol, atol=atol)
    if not grad or not any(a.dtype.kind == "f" for a in arrays):
        return
    rng = np.random.default_rng(7)
    f_loss, t_loss = 0, 0
    for f, t in zip(f_out, t_out):
        if t.requires_grad:
            assert f.requires_grad
            w = rng.standard_normal(tuple(t.shape))
            f_loss = f_loss + (f * fe.tensor(w, dtype=f.dtype)).sum()
            t_loss = t_loss + (t * torch.tensor(w, dtype=t.dtype)).sum()
    if isinstance(t_loss, int):
        return
    f_loss.backward()
    t_loss.backward()
    for i, (f, t) in enumerate(zip(f_in, t_in)):
        if t.grad is None:
            assert f.grad is None or not np.any(f.grad.numpy()), f"input {i}"
        else:
            np.testing.assert_allclose(np.asarray(f.grad.numpy()), t.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")


def same_error(fn, *arrays):
    """fn raises on torch; it raises the same class on firstepoch."""
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        fn(torch, *[torch.tensor(a) for a in arrays])
    with pytest.raises(type(theirs.value)):
        fn(fe, *[fe.tensor(a) for a in arrays])


R = np.random.default_rng(2024)
X = R.standard_normal((3, 4))                       # float64: gradients compared tightly
X3 = R.standard_normal((2, 3, 4))
POS = np.abs(R.standard_normal((3, 4))) + 0.1
I = R.integers(-9, 10, (3, 4))                      # int64
B = R.standard_normal((3, 4)) > 0                   # bool
ZEROS = np.array([[1.5, 0.0, 3.0, -2.0], [0.0, 2.0, 0.0, 1.0], [1.0, 2.0, -1.0, 0.5]])
DIVISOR = R.uniform(0.5, 2.0, (4,)) * np.array([1, -1, 1, -1])

CASES = {
    # pointwise
    "sin": (lambda L, x: x.sin(), X),
    "cos": (lambda L, x: x.cos(), X),
    "log1p": (lambda L, x: x.log1p(), POS),
    "expm1": (lambda L, x: x.expm1(), X),
    "sin_int": (lambda L, x: x.sin(), I),
    "log1p_int_float32": (lambda L, x: x.abs().log1p(), I),
    "pow_number": (lambda L, x: x.pow(3), X),
    "pow_tensor": (lambda L, x, y: x.pow(y), POS, X),
    "pow_int": (lambda L, x: x.pow(2), I),
    # reductions
    "prod": (lambda L, x: x.prod(), X),
    "prod_dim": (lambda L, x: x.prod(1), X),
    "prod_keepdim": (lambda L, x: x.prod(-2, keepdim=True), X),
    "prod_zeros_dim": (lambda L, x: x.prod(1), ZEROS),
    "prod_zeros_all": (lambda L, x: x[:, 1:].prod(), ZEROS),
    "prod_two_zeros": (lambda L, x: x.prod(), ZEROS),
    "prod_int": (lambda L, x: x.prod(0), I),
    "prod_bool": (lambda L, x: x.prod(), B),
    "cumsum": (lambda L, x: x.cumsum(1), X3),
    "cumsum_neg": (lambda L, x: x.cumsum(-3), X3),
    "cumsum_int": (lambda L, x: x.cumsum(0), I),
    "cumsum_bool": (lambda L, x: x.cumsum(1), B),
    "logsumexp": (lambda L, x: x.logsumexp(1), X3),
    "logsumexp_tuple": (lambda L, x: x.logsumexp((0, 2)), X3),
    "logsumexp_keepdim": (lambda L, x: x.logsumexp(-1, keepdim=True), X3),
    "logsumexp_large": (lambda L, x: (x * 1000).logsumexp(1), X),
    "logsumexp_int": (lambda L, x: x.logsumexp(0), I),
    "norm": (lambda L, x: x.norm(), X),
    "norm_1": (lambda L, x: x.norm(1), X),
    "norm_inf": (lambda L, x: x.norm(float("inf")), X),
    "norm_neg_inf_dim": (lambda L, x: x.norm(float("-inf"), dim=1), X),
    "norm_dim": (lambda L, x: x.norm(2, dim=1), X3),
    "norm_fro_tuple": (lambda L, x: x.norm("fro", dim=(0, 2)), X3),
    "norm_3_keepdim": (lambda L, x: x.norm(p=3, dim=0, keepdim=True), X),
    "norm_0": (lambda L, x: x.norm(0), ZEROS),
    "norm_keepdim_all": (lambda L, x: x.norm(keepdim=True), X),
    "var_correction0": (lambda L, x: x.var(correction=0), X),
    "var_correction2": (lambda L, x: x.var(1, correction=2), X),
    "var_unbiased_false": (lambda L, x: x.var(dim=1, unbiased=False), X),
    "var_positional_unbiased": (lambda L, x: x.var(1, True), X),
    "var_positional_keepdim": (lambda L, x: x.var(0, False, True), X),
    "var_tuple": (lambda L, x: x.var((0, 2)), X3),
    "std_correction": (lambda L, x: x.std(1, keepdim=True, correction=0), X),
    "std": (lambda L, x: x.std(), X),
    "any": (lambda L, x: x.any(), B),
    "any_tuple": (lambda L, x: x.any(dim=(0, 2)), X3 > 1),
    "all_keepdim": (lambda L, x: x.all(1, keepdim=True), B),
    "all_int": (lambda L, x: x.all(0), I),
    "any_float_tuple": (lambda L, x: x.any((0, 1)), X),
    # shape
    "expand": (lambda L, x: x[:, :1].expand(2, 3, 4), X),
    "expand_keep": (lambda L, x: x[:, :1].expand(-1, 5), X),
    "expand_tuple": (lambda L, x: x[0].expand((3, 4)), X),
    "expand_as": (lambda L, x, y: x[:1].expand_as(y), X, X3),
    "repeat": (lambda L, x: x.repeat(2, 1, 3), X),
    "repeat_int": (lambda L, x: x.repeat(2, 2), I),
    "split": (lambda L, x: x.split(3, 1), X),
    "split_sections": (lambda L, x: x.split([1, 2], 0), X),
    "chunk": (lambda L, x: x.chunk(3, 1), X),
    "chunk_uneven": (lambda L, x: x.reshape(-1).chunk(5), X),
    "unbind": (lambda L, x: x.unbind(1), X),
    "split_empty": (lambda L, x: x[:0].split(2), X),
    "chunk_empty": (lambda L, x: x[:, :0].chunk(3, 1), X),
    "flip": (lambda L, x: x.flip(1), X3),
    "flip_varargs": (lambda L, x: x.flip(2, 0), X3),
    "flip_list": (lambda L, x: x.flip([-1]), X3),
    "roll_flat": (lambda L, x: x.roll(5), X),
    "roll_dims": (lambda L, x: x.roll((1, -2), (0, 1)), X3),
    "roll_one": (lambda L, x: x.roll(-1, 2), X3),
    "clone": (lambda L, x: x.clone() * 2, X),
    "contiguous": (lambda L, x: x.t().contiguous(), X),
    "t": (lambda L, x: x.t(), X),
    "t_1d": (lambda L, x: x[0].t(), X),
    "squeeze_tuple": (lambda L, x: x.reshape(1, 3, 1, 4, 1).squeeze((0, 2, 3)), X),
    "squeeze_list": (lambda L, x: x.reshape(1, 3, 1, 4).squeeze([0, -2]), X),
    "unsqueeze_squeeze_int": (lambda L, x: x.reshape(1, 12).squeeze(0), X),
    # indexing along an axis
    "gather": (lambda L, x: x.gather(1, L.tensor([[0, 0, 3], [1, 2, 1], [3, 3, 3]])), X),
    "gather_smaller": (lambda L, x: x.gather(0, L.tensor([[2, 0], [2, 2]])), X),
    "gather_3d": (lambda L, x: x.gather(2, L.tensor(np.zeros((2, 3, 1), np.int64))), X3),
    "scatter": (lambda L, x, s: x.scatter(1, L.tensor([[0, 3], [2, 1], [1, 0]]), s), X, X[:, :2] * 5),
    "scatter_dim0": (lambda L, x, s: x.scatter(0, L.tensor([[2, 0, 1, 0]]), s), X, X[:1] * 3),
    "scatter_value": (lambda L, x: x.scatter(1, L.tensor([[0], [3], [1]]), 2.5), X),
    "scatter_value_kw": (lambda L, x: x.scatter(1, L.tensor([[0], [3], [1]]), value=-1.0), X),
    "scatter_int": (lambda L, x: x.scatter(0, L.tensor([[1, 2, 0, 1]]), 7.5), I),
    "masked_fill": (lambda L, x: x.masked_fill(x > 0.3, -1.0), X),
    "masked_fill_broadcast": (lambda L, x: x.masked_fill(L.tensor([True, False, False, True]), 2), X),
    "masked_fill_tensor": (lambda L, x, v: x.masked_fill(x < 0, v), X, np.array(4.0)),
    "masked_fill_int": (lambda L, x: x.masked_fill(x > 2, 1.5), I),
    "index_select": (lambda L, x: x.index_select(1, L.tensor([2, 0, 2])), X),
    "index_select_0d": (lambda L, x: x.index_select(0, L.tensor(2)), X),
    "index_select_int": (lambda L, x: x.index_select(0, L.tensor([1, 1])), I),
    # sorting
    "sort": (lambda L, x: x.sort(), X),
    "sort_dim0_desc": (lambda L, x: x.sort(0, descending=True), X3),
    "sort_stable_ties": (lambda L, x: x.sort(stable=True), I),
    "sort_stable_ties_desc": (lambda L, x: x.sort(dim=-1, descending=True, stable=True), I),
    "sort_bool": (lambda L, x: x.sort(dim=1, stable=True), B),
    "sort_nan": (lambda L, x: x.sort(), np.array([3.0, np.nan, -1.0, np.nan, 2.0])),
    "sort_nan_desc": (lambda L, x: x.sort(descending=True), np.array([3.0, np.nan, -1.0, 2.0])),
    "argsort": (lambda L, x: x.argsort(descending=True), X),
    "argsort_dim": (lambda L, x: x.argsort(dim=0), X3),
    "topk": (lambda L, x: x.topk(2), X),
    "topk_smallest_dim0": (lambda L, x: x.topk(2, dim=0, largest=False), X3),
    "topk_all": (lambda L, x: x.topk(4, 1), X),
    "topk_int": (lambda L, x: x.topk(3), R.permutation(12).reshape(3, 4)),
    # operators
    "remainder": (lambda L, x, y: x % y, X * 3, DIVISOR),
    "remainder_number": (lambda L, x: x % 1.5, X * 3),
    "remainder_negative_number": (lambda L, x: x % -0.7, X * 3),
    "remainder_method": (lambda L, x, y: x.remainder(y), X * 3, DIVISOR),
    "remainder_int": (lambda L, x: x % 4, I),
    "remainder_int_negative": (lambda L, x, y: x % y, I, np.array([3, -3, 5, -2])),
    "remainder_int_float": (lambda L, x: x % 2.5, I),
    "floordiv_int": (lambda L, x: x // 4, I),
    "floordiv_int_negative": (lambda L, x, y: x // y, I, np.array([3, -3, 5, -2])),
    "floordiv_int_float": (lambda L, x: x // 2.5, I),
    "floor_divide_method": (lambda L, x: x.floor_divide(3), I),
    "and_int": (lambda L, x, y: x & y, I, I[::-1] * 3),
    "or_int": (lambda L, x: x | 6, I),
    "xor_int": (lambda L, x, y: x ^ y, I, I[::-1]),
    "rand_int": (lambda L, x: 5 & x, I),
    "ror_bool_int": (lambda L, x: 2 | x, B),
    "and_bool": (lambda L, x, y: x & y, B, B[::-1]),
    "or_bool_scalar": (lambda L, x: x | False, B),
    "xor_bool_int": (lambda L, x, y: x ^ y, B, I),
    "and_bool_number": (lambda L, x: x & 1, B),
    "invert_int": (lambda L, x: ~x, I),
    "invert_bool": (lambda L, x: ~x, B),
    "bitwise_methods": (lambda L, x: (x.bitwise_and(3), x.bitwise_or(1), x.bitwise_xor(2), x.bitwise_not()), I),
    # comparisons and logical ops
    "comparison_operators": (lambda L, x, y: (x < y, x <= y, x > y, x >= y, x == y, x != y), X, X[0]),
    "comparison_methods": (lambda L, x, y: (x.lt(y), x.le(y), x.gt(y), x.ge(y), x.eq(y), x.ne(y)), X, X[:, :1]),
    "comparison_numbers": (lambda L, x: (x.lt(0.5), x.ge(0), x.eq(2), x.ne(-1)), I),
    "comparison_aliases": (lambda L, x, y: (x.greater(y), x.less(y), x.greater_equal(y), x.less_equal(y),
                                            x.not_equal(y)), X, X[::-1]),
    "comparison_int_float": (lambda L, x, y: (x < y, x.eq(y)), I, X),
    "logical": (lambda L, x, y: (x.logical_and(y), x.logical_or(y), x.logical_xor(y), x.logical_not()), X, I),
    "logical_bool": (lambda L, x, y: (x.logical_and(y), x.logical_not()), B, B[::-1]),
    # sizes and conversions
    "new_zeros": (lambda L, x: (x.new_zeros(2, 3), x.new_zeros((2,)), x.new_ones(3), x.new_full((2, 2), 7),
                                x.new_tensor([1, 2]), x.new_zeros(2, dtype=L.int64)), X),
    "new_int": (lambda L, x: (x.new_ones(2), x.new_full((2,), 7.5), x.new_tensor([1.5, 2.0]), x.new_empty(3) * 0), I),
    "type_as": (lambda L, x, y: (x.type_as(y), y.type_as(x)), I, X),
}


@pytest.mark.parametrize("name", list(CASES))
def test_against_torch(name):
    pytest.importorskip("torch")
    fn, *arrays = CASES[name]
    check(fn, *arrays)


# values only: torch's gradient is missing (floor division; a number % a tensor) or broken (scatter from
# a src larger than index: torch's backward returns src's gradient in index's shape and fails)
VALUE_CASES = {
    "floordiv": (lambda L, x, y: x // y, X * 3, DIVISOR),
    "rfloordiv": (lambda L, x: 7 // x, DIVISOR),
    "rfloordiv_float": (lambda L, x: 7.5 // x, X),
    "rremainder": (lambda L, x: 2.5 % x, DIVISOR),
    "rremainder_int": (lambda L, x: 7 % x, np.array([3, -3, 5, -2])),
    "floordiv_by_zero_float": (lambda L, x: x // 0.0, np.array([1.0, -1.0, 0.0])),
    "remainder_by_zero_float": (lambda L, x: x % 0.0, np.array([1.0, -1.0, 0.0])),
    "scatter_larger_src": (lambda L, x, s: x.scatter(1, L.tensor([[0, 3], [2, 1], [1, 0]]), s), X, X[:, :3] * 5),
}


@pytest.mark.parametrize("name", list(VALUE_CASES))
def test_values_against_torch(name):
    pytest.importorskip("torch")
    fn, *arrays = VALUE_CASES[name]
    check(fn, *arrays, grad=False)


def test_remainder_of_a_number_by_a_tensor_has_the_gradient_of_the_formula():
    """A deliberate difference: torch has no derivative for number % tensor; here it is -floor(a / b)."""
    b = fe.tensor(DIVISOR, requires_grad=True)
    (2.5 % b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), -np.floor(2.5 / DIVISOR))


def test_float32_results_keep_float32():
    pytest.importorskip("torch")
    x = X.astype(np.float32)
    for fn in (lambda L, x: x.sin(), lambda L, x: x.prod(1), lambda L, x: x.cumsum(0), lambda L, x: x.logsumexp(1),
               lambda L, x: x.norm(dim=1), lambda L, x: x.var(correction=0), lambda L, x: x % 0.7,
               lambda L, x: x.expand(2, 3, 4), lambda L, x: x.gather(1, L.tensor([[1], [0], [3]])),
               lambda L, x: x.sort(0), lambda L, x: x.topk(1), lambda L, x: x.masked_fill(x > 0, 2)):
        check(fn, x, rtol=2e-6, atol=1e-6)


def test_0d_tensors():
    torch = pytest.importorskip("torch")
    s = np.array(1.25)
    for fn in (lambda L, x: x.item(), lambda L, x: x.tolist(), lambda L, x: x.numel(), lambda L, x: x.dim()):
        ours, theirs = fn(fe, fe.tensor(s)), fn(torch, torch.tensor(s))
        assert ours == theirs and type(ours) is type(theirs), (ours, theirs)
    assert tuple(fe.tensor(s).size()) == tuple(torch.tensor(s).size()) == ()
    for value in (3, True, 2.5):
        assert type(fe.tensor(value).item()) is type(torch.tensor(value).item())
        assert fe.tensor([value]).tolist() == torch.tensor([value]).tolist()
    for fn in (lambda L, x: x.sort(), lambda L, x: x.topk(1), lambda L, x: x.cumsum(0), lambda L, x: x.prod(0),
               lambda L, x: x.logsumexp(0), lambda L, x: x.norm(), lambda L, x: x.t(), lambda L, x: x.flip(()),
               lambda L, x: x.squeeze((0,)), lambda L, x: x.any(0), lambda L, x: x.index_select(0, L.tensor([0]))):
        check(fn, s)


def test_size_with_negative_dims():
    torch = pytest.importorskip("torch")
    ours, theirs = fe.tensor(X3), torch.tensor(X3)
    for d in range(-3, 3):
        assert ours.size(d) == theirs.size(d)
    for bad in (3, -4):
        with pytest.raises(IndexError):
            theirs.size(bad)
        with pytest.raises(IndexError):
            ours.size(bad)


ERRORS = {
    "and_float": (lambda L, x: x & x, X),
    "and_int_float_number": (lambda L, x: x & 1.5, I),
    "or_int_float_tensor": (lambda L, x, y: x | y, I, X),
    "invert_float": (lambda L, x: ~x, X),
    "floordiv_int_by_zero": (lambda L, x: x // 0, I),
    "remainder_int_by_zero": (lambda L, x, y: x % y, I, np.array([1, 0, 2, 3])),
    "floordiv_bool": (lambda L, x: x // x, B),
    "remainder_bool": (lambda L, x: x % x, B),
    "lt_string": (lambda L, x: x.lt("a"), X),
    "t_3d": (lambda L, x: x.t(), X3),
    "expand_mismatch": (lambda L, x: x.expand(3, 5), X),
    "expand_too_few": (lambda L, x: x.expand(4), X),
    "expand_new_minus_one": (lambda L, x: x.expand(-1, 3, 4), X),
    "repeat_too_few": (lambda L, x: x.repeat(2), X),
    "split_bad_sections": (lambda L, x: x.split([1, 1], 0), X),
    "split_zero": (lambda L, x: x.split(0), X),
    "chunk_zero": (lambda L, x: x.chunk(0), X),
    "gather_out_of_range": (lambda L, x: x.gather(1, L.tensor([[4], [0], [0]])), X),
    "gather_negative": (lambda L, x: x.gather(1, L.tensor([[-1], [0], [0]])), X),
    "gather_ndim": (lambda L, x: x.gather(1, L.tensor([0, 1])), X),
    "gather_too_big": (lambda L, x: x.gather(1, L.tensor([[0]] * 4)), X),
    "gather_float_index": (lambda L, x: x.gather(1, L.tensor([[0.0]])), X),
    "gather_bad_dim": (lambda L, x: x.gather(2, L.tensor([[0]])), X),
    "scatter_dtype": (lambda L, x, s: x.scatter(0, L.tensor([[0]]), s), X, I),
    "index_select_2d": (lambda L, x: x.index_select(1, L.tensor([[0, 1]])), X),
    "index_select_float": (lambda L, x: x.index_select(1, L.tensor([0.0])), X),
    "index_select_out_of_range": (lambda L, x: x.index_select(1, L.tensor([4])), X),
    "index_select_0d_two_values": (lambda L, x: x.sum().index_select(0, L.tensor([0, 0])), X),
    "masked_fill_float_mask": (lambda L, x: x.masked_fill(x, 1.0), X),
    "masked_fill_1d_value": (lambda L, x: x.masked_fill(x > 0, L.tensor([1.0])), X),
    "masked_fill_bad_shape": (lambda L, x: x.masked_fill(L.tensor([True, False]), 1.0), X),
    "topk_too_many": (lambda L, x: x.topk(5), X),
    "sort_bad_dim": (lambda L, x: x.sort(2), X),
    "flip_bad_dim": (lambda L, x: x.flip(2), X),
    "flip_repeated_dim": (lambda L, x: x.flip((0, 0)), X),
    "roll_misaligned": (lambda L, x: x.roll((1, 2), 0), X),
    "squeeze_bad_dim": (lambda L, x: x.squeeze((0, 5)), X),
    "squeeze_repeated_dim": (lambda L, x: x.reshape(1, 12).squeeze((0, 0)), X),
    "prod_tuple": (lambda L, x: x.prod((0, 1)), X),
    "cumsum_bad_dim": (lambda L, x: x.cumsum(2), X),
    "cumsum_no_dim": (lambda L, x: x.cumsum(), X),
    "logsumexp_no_dim": (lambda L, x: x.logsumexp(), X),
    "norm_int": (lambda L, x: x.norm(), I),
    "var_int": (lambda L, x: x.var(), I),
    "var_both": (lambda L, x: x.var(unbiased=True, correction=1), X),
    "unbind_0d": (lambda L, x: x.sum().unbind(), X),
    "any_bad_dim": (lambda L, x: x.any(2), X),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    pytest.importorskip("torch")
    fn, *arrays = ERRORS[name]
    same_error(fn, *arrays)


# ---- what differs on purpose, and what torch cannot check -----------------------------------------------

def test_floor_divide_result_requires_grad_and_raises_at_backward():
    """As torch: floor_divide has no derivative, so its result requires grad and backward raises."""
    x = fe.tensor(X, requires_grad=True)
    assert (x // 2).requires_grad
    with pytest.raises(RuntimeError, match="floor_divide"):
        (x // 2).sum().backward()
    assert (x % 2).requires_grad


def test_var_with_too_few_entries_is_inf_or_nan_as_torch():
    with np.errstate(all="ignore"):
        assert math.isnan(fe.tensor([1.0]).var().item())
        assert math.isinf(fe.tensor([1.0, 2.0]).var(correction=2).item())


def test_expand_shares_memory_and_clone_does_not():
    x = fe.tensor(X[:, :1])
    assert np.shares_memory(x.expand(3, 5).numpy(), x.numpy())
    c = x.clone()
    assert not np.shares_memory(c.numpy(), x.numpy())
    np.testing.assert_array_equal(c.numpy(), x.numpy())


def test_contiguous_is_self_when_contiguous():
    x = fe.tensor(X, requires_grad=True)
    assert x.contiguous() is x
    t = x.t()
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.detach().numpy().flags.c_contiguous
    c.sum().backward()
    np.testing.assert_array_equal(np.asarray(x.grad), np.ones_like(X))


def test_expanded_tensor_feeds_matmul_and_backward():
    w = fe.tensor(R.standard_normal((4, 2)), requires_grad=True)
    b = fe.tensor(X[:1], requires_grad=True)
    (b.expand(5, 4) @ w).sum().backward()
    np.testing.assert_allclose(np.asarray(b.grad), np.broadcast_to(5 * np.asarray(w.detach().numpy()).sum(1), (1, 4)))


def test_logsumexp_is_stable_where_the_naive_formula_is_not():
    x = fe.tensor(np.array([1000.0, 1000.0, -1000.0]))
    np.testing.assert_allclose(x.logsumexp(0).item(), 1000.0 + math.log(2.0), rtol=1e-12)


def test_prod_gradient_with_one_zero_by_finite_differences():
    x0 = ZEROS[0].copy()
    x = fe.tensor(x0, requires_grad=True)
    x.prod().backward()
    eps = 1e-6
    for i in range(x0.size):
        up, down = x0.copy(), x0.copy()
        up[i] += eps
        down[i] -= eps
        np.testing.assert_allclose(np.asarray(x.grad)[i], (up.prod() - down.prod()) / (2 * eps), atol=1e-6)


def test_sort_is_stable_by_default_here():
    x = fe.tensor([2, 1, 2, 1, 2])
    np.testing.assert_array_equal(x.sort().indices.numpy(), [1, 3, 0, 2, 4])
    np.testing.assert_array_equal(x.sort(descending=True).indices.numpy(), [0, 2, 4, 1, 3])


def test_new_tensor_methods_reject_other_devices():
    x = fe.tensor(X)
    assert x.new_zeros(2, device="cpu").shape == (2,)
    with pytest.raises(RuntimeError, match="CPU only"):
        x.new_ones(2, device="cuda")


def test_new_functions_are_registered_for_the_gradient_sweep():
    from firstepoch.autograd import REGISTRY
    names = {op.__name__ for op in REGISTRY if op.differentiable}
    for name in ("SinFn", "CosFn", "Log1pFn", "Expm1Fn", "RemainderFn", "ProdFn", "CumsumFn", "LogSumExpFn",
                 "NormFn", "ExpandFn", "RepeatFn", "FlipFn", "RollFn", "GatherFn", "ScatterFn", "IndexSelectFn",
                 "CloneFn"):
        assert name in names, name
