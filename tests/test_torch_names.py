"""torch names added for ported code (pointwise math, linear algebra, cumulative/sorting/statistics,
shape and index ops, creation and dtype helpers): each with hard-coded values (no torch needed), then
against torch 2.x where it is installed: values, dtype, shape, and float64 gradients."""
import math

import numpy as np
import pytest

import firstepoch as fe


def _vals(t):
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


# ---- hard-coded values ----------------------------------------------------------------------------

def test_rounding_family_by_hand():
    x = fe.tensor([-1.5, -0.5, 0.5, 1.5, 2.7])
    assert fe.floor(x).tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert x.ceil().tolist() == [-1.0, -0.0, 1.0, 2.0, 3.0]
    assert x.round().tolist() == [-2.0, -0.0, 0.0, 2.0, 3.0]  # half to even
    assert x.trunc().tolist() == fe.fix(x).tolist() == [-1.0, -0.0, 0.0, 1.0, 2.0]
    assert np.allclose(x.frac().numpy(), [-0.5, -0.5, 0.5, 0.5, 0.7])
    assert fe.round(fe.tensor([1.2345, 1250.0]), decimals=2).tolist() == pytest.approx([1.23, 1250.0])
    assert fe.round(fe.tensor([1250.0, 1351.0]), decimals=-2).tolist() == [1200.0, 1400.0]
    assert fe.tensor([3, -2]).floor().dtype == fe.int64
    assert fe.sign(fe.tensor([-2.0, 0.0, 3.0])).tolist() == [-1.0, 0.0, 1.0]


def test_pointwise_math_by_hand():
    assert fe.reciprocal(fe.tensor([2, 4])).tolist() == [0.5, 0.25]
    assert fe.rsqrt(fe.tensor([4.0])).tolist() == [0.5]
    assert fe.exp2(fe.tensor([3])).tolist() == [8.0]
    assert fe.fmod(fe.tensor([-3.0, 3.0]), 2).tolist() == [-1.0, 1.0]
    assert fe.fmod(fe.tensor([-3, 3]), 2).tolist() == [-1, 1]
    assert fe.hypot(fe.tensor([3.0]), fe.tensor([4.0])).tolist() == [5.0]
    assert fe.atan2(fe.tensor([1.0]), fe.tensor([-1.0])).item() == pytest.approx(3 * math.pi / 4)
    assert fe.logaddexp(fe.tensor([0.0, -math.inf]), fe.tensor([0.0, -math.inf])).tolist() == [
        pytest.approx(math.log(2)), -math.inf]
    assert fe.xlogy(fe.tensor([0.0, 2.0]), fe.tensor([0.0, math.e])).tolist() == pytest.approx([0.0, 2.0])
    x, y = fe.tensor([0.0], requires_grad=True), fe.tensor([0.0], requires_grad=True)
    fe.xlogy(x, y).sum().backward()
    assert y.grad.tolist() == [0.0]  # deliberate: torch gives NaN (0 / 0)
    assert fe.copysign(fe.tensor([1.0, -2.0]), -1).tolist() == [-1.0, -2.0]
    assert fe.heaviside(fe.tensor([-1.0, 0.0, 2.0]), fe.tensor([0.5])).tolist() == [0.0, 0.5, 1.0]
    assert fe.float_power(fe.tensor([2]), 3).dtype == fe.float64
    assert fe.lerp(fe.tensor([0.0]), fe.tensor([10.0]), 0.3).tolist() == pytest.approx([3.0])
    assert fe.addcmul(fe.tensor([1.0]), fe.tensor([2.0]), fe.tensor([3.0]), value=2).tolist() == [13.0]
    assert fe.addcdiv(fe.tensor([1.0]), fe.tensor([2.0]), fe.tensor([4.0]), value=2).tolist() == [2.0]
    assert fe.erf(fe.tensor([0.0, 1.0], dtype=fe.float64)).tolist() == pytest.approx([0.0, math.erf(1.0)], rel=1e-15)
    assert fe.erfc(fe.tensor([5.0], dtype=fe.float64)).item() == pytest.approx(math.erfc(5.0), rel=1e-14)
    assert fe.erfinv(fe.tensor([math.erf(0.7)], dtype=fe.float64)).item() == pytest.approx(0.7, rel=1e-14)
    assert fe.erfinv(fe.tensor([1.0, -1.0])).tolist() == [math.inf, -math.inf]
    big = np.finfo(np.float32).max
    assert fe.nan_to_num(fe.tensor([math.nan, math.inf, -math.inf])).tolist() == [0.0, big, -big]
    assert fe.logit(fe.tensor([0.5])).tolist() == [0.0]
    assert fe.clamp_min(fe.tensor([1.0, 5.0]), 2).tolist() == [2.0, 5.0]
    x = fe.tensor([[1.0, 2.0], [3.0, 4.0]])
    x.fill_diagonal_(0)
    assert x.tolist() == [[0.0, 2.0], [3.0, 0.0]]
    y = fe.tensor([1.6, -2.2])
    y.floor_()
    assert y.tolist() == [1.0, -3.0]


def test_linear_algebra_by_hand():
    a, b = fe.tensor([1.0, 2.0, 3.0]), fe.tensor([4.0, 5.0, 6.0])
    assert fe.dot(a, b).item() == 32.0 and fe.outer(a, b).shape == (3, 3)
    assert fe.cross(a, b).tolist() == [-3.0, 6.0, -3.0]
    m = fe.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert fe.trace(m).item() == 5.0 and fe.diag(m).tolist() == [1.0, 4.0]
    assert fe.diag(fe.tensor([1.0, 2.0])).tolist() == [[1.0, 0.0], [0.0, 2.0]]
    assert fe.kron(fe.eye(2), fe.ones(1, 2)).tolist() == [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]
    assert fe.tril_indices(3, 3).tolist() == [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    assert fe.mv(m, fe.tensor([1.0, 1.0])).tolist() == [3.0, 7.0]
    assert fe.tensordot(m, m, dims=1).tolist() == (m @ m).tolist()
    assert fe.movedim(fe.zeros(2, 3, 4), 0, -1).shape == (3, 4, 2) and fe.zeros(2, 3, 4).mT.shape == (2, 4, 3)
    with pytest.raises(RuntimeError):
        fe.dot(a, fe.tensor([1.0, 2.0]))


def test_order_statistics_by_hand():
    x = fe.tensor([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, 2.0]])
    assert fe.median(x).item() == 2.0
    assert x.median(1).values.tolist() == [1.0, 2.0]
    assert x.kthvalue(3, 1).values.tolist() == [2.0, 5.0]
    assert x.mode(1).values.tolist() == [1.0, 5.0]
    assert fe.quantile(fe.tensor([0.0, 1.0, 2.0, 3.0]), 0.5).item() == 1.5
    assert fe.cumprod(fe.tensor([1, 2, 3]), 0).tolist() == [1, 2, 6]
    assert fe.cummax(fe.tensor([1.0, 3.0, 2.0]), 0).indices.tolist() == [0, 1, 1]
    assert fe.diff(fe.tensor([1, 4, 9])).tolist() == [3, 5]
    assert fe.bincount(fe.tensor([0, 2, 2])).tolist() == [1, 0, 2]
    assert fe.histc(fe.tensor([0.0, 0.5, 1.0]), bins=2, min=0, max=1).tolist() == [1.0, 2.0]
    assert fe.searchsorted(fe.tensor([1, 3, 5]), fe.tensor([3, 6])).tolist() == [1, 3]
    assert fe.nanmean(fe.tensor([1.0, math.nan, 3.0])).item() == 2.0
    assert fe.count_nonzero(fe.tensor([0, 1, 2])).item() == 2
    lo, hi = fe.aminmax(fe.tensor([2, -1, 5]))
    assert (lo.item(), hi.item()) == (-1, 5)


def test_shape_and_index_ops_by_hand():
    x = fe.tensor([[1, 2], [3, 4]])
    assert fe.repeat_interleave(fe.tensor([1, 2]), 2).tolist() == [1, 1, 2, 2]
    assert fe.tile(fe.tensor([1, 2]), (2,)).tolist() == [1, 2, 1, 2]
    assert fe.rot90(x).tolist() == [[2, 4], [1, 3]]
    assert fe.fliplr(x).tolist() == [[2, 1], [4, 3]] and fe.flipud(x).tolist() == [[3, 4], [1, 2]]
    assert fe.take(x, fe.tensor([3, 0])).tolist() == [4, 1]
    assert fe.hstack([x, x]).shape == (2, 4) and fe.vstack([x, x]).shape == (4, 2)
    assert fe.dstack([x, x]).shape == (2, 2, 2) and fe.column_stack([fe.tensor([1, 2])]).shape == (2, 1)
    assert fe.atleast_3d(fe.tensor([1, 2])).shape == (1, 2, 1)
    assert [t.tolist() for t in fe.tensor_split(fe.arange(5), 2)] == [[0, 1, 2], [3, 4]]
    assert fe.block_diag(x, fe.tensor([[5]])).tolist() == [[1, 2, 0], [3, 4, 0], [0, 0, 5]]
    assert fe.zeros(3).scatter_add(0, fe.tensor([0, 0, 2]), fe.ones(3)).tolist() == [2.0, 0.0, 1.0]
    assert fe.zeros(3).index_add(0, fe.tensor([1, 1]), fe.ones(2)).tolist() == [0.0, 2.0, 0.0]
    assert x.index_fill(1, fe.tensor([0]), 0).tolist() == [[0, 2], [0, 4]]
    assert x.masked_select(x > 2).tolist() == [3, 4]
    assert x.masked_scatter(x > 2, fe.tensor([7, 8, 9])).tolist() == [[1, 2], [7, 8]]
    gi, gj = fe.meshgrid(fe.tensor([1, 2]), fe.tensor([3, 4, 5]), indexing="ij")
    assert gi.shape == gj.shape == (2, 3) and gj[0].tolist() == [3, 4, 5]
    assert fe.cartesian_prod(fe.tensor([1, 2]), fe.tensor([3, 4])).tolist() == [[1, 3], [1, 4], [2, 3], [2, 4]]
    assert fe.combinations(fe.tensor([1, 2, 3])).tolist() == [[1, 2], [1, 3], [2, 3]]


# ---- against torch ------------------------------------------------------------------------------------

def _rng_inputs(specs, rng):
    out = []
    for s in specs:
        if isinstance(s, tuple) and s and s[0] == "pos":
            out.append(np.abs(rng.standard_normal(s[1])) + 0.5)
        elif isinstance(s, tuple) and s and s[0] == "unit":
            out.append(rng.uniform(-0.9, 0.9, s[1]))
        elif isinstance(s, tuple) and s and s[0] == "prob":
            out.append(rng.uniform(0.1, 0.9, s[1]))
        elif isinstance(s, tuple) and s and s[0] == "int":
            out.append(rng.integers(-5, 6, s[1]))
        elif isinstance(s, tuple) and s and s[0] == "raw":
            out.append(np.asarray(s[1]))
        else:
            out.append(rng.standard_normal(s))
    return out


S = (3, 4)
# (id, f(module, *tensors), input specs, differentiable)
CASES = [
    ("floor", lambda m, x: m.floor(x), [S], True),
    ("ceil", lambda m, x: x.ceil(), [S], True),
    ("round", lambda m, x: m.round(x * 3), [S], True),
    ("round_decimals", lambda m, x: m.round(x * 30, decimals=1), [S], False),
    ("round_neg_decimals", lambda m, x: m.round(x * 300, decimals=-1), [S], False),
    ("trunc", lambda m, x: m.trunc(x * 3), [S], True),
    ("fix", lambda m, x: m.fix(x * 3), [S], True),
    ("frac", lambda m, x: m.frac(x * 3), [S], True),
    ("sign", lambda m, x: m.sign(x), [S], True),
    ("sgn", lambda m, x: x.sgn(), [S], True),
    ("sign_int", lambda m, x: m.sign(x), [("int", S)], False),
    ("pointwise_specials", lambda m, x: [f(x) for f in (m.sign, m.sgn, m.floor, m.ceil, m.round, m.trunc, m.frac,
                                                          m.reciprocal, m.rsqrt, m.exp2, m.sinh, m.cosh, m.asin,
                                                          m.atan, m.logit, m.erf, m.erfc, m.erfinv, m.nan_to_num)],
     [("raw", [np.nan, np.inf, -np.inf, -0.5, 0.0, -0.0, 2.5, 1.0, -1.0])], False),
    ("floor_int", lambda m, x: m.floor(x), [("int", S)], False),
    ("reciprocal", lambda m, x: m.reciprocal(x), [("pos", S)], True),
    ("reciprocal_int", lambda m, x: m.reciprocal(x), [("raw", [1, 2, 4])], False),
    ("rsqrt", lambda m, x: x.rsqrt(), [("pos", S)], True),
    ("exp2", lambda m, x: m.exp2(x), [S], True),
    ("exp2_int", lambda m, x: m.exp2(x), [("int", S)], False),
    ("float_power", lambda m, x: m.float_power(x, 2), [S], True),
    ("fmod", lambda m, a, b: m.fmod(a, b), [S, ("pos", (4,))], True),
    ("fmod_scalar", lambda m, a: m.fmod(a, 1.5), [S], True),
    ("fmod_int", lambda m, a: m.fmod(a, 3), [("int", S)], False),
    ("atan2", lambda m, a, b: m.atan2(a, b), [S, (4,)], True),
    ("arctan2", lambda m, a, b: m.arctan2(a, b), [S, S], True),
    ("hypot", lambda m, a, b: m.hypot(a, b), [S, S], True),
    ("logaddexp", lambda m, a, b: m.logaddexp(a, b), [S, (4,)], True),
    ("sinh", lambda m, x: m.sinh(x), [S], True),
    ("cosh", lambda m, x: x.cosh(), [S], True),
    ("asin", lambda m, x: m.asin(x), [("unit", S)], True),
    ("arcsin", lambda m, x: m.arcsin(x), [("unit", S)], True),
    ("acos", lambda m, x: m.acos(x), [("unit", S)], True),
    ("arccos", lambda m, x: x.arccos(), [("unit", S)], True),
    ("atan", lambda m, x: m.atan(x), [S], True),
    ("arctan", lambda m, x: m.arctan(x), [S], True),
    ("sinh_int", lambda m, x: m.sinh(x), [("int", S)], False),
    ("logit", lambda m, x: m.logit(x), [("prob", S)], True),
    ("logit_eps", lambda m, x: m.logit(x, eps=0.2), [("prob", S)], True),
    ("xlogy", lambda m, a, b: m.xlogy(a, b), [S, ("pos", S)], True),
    ("xlogy_zeros", lambda m, a, b: m.xlogy(a, b), [("raw", [0.0, 0.0, 1.5, 2.0]), ("raw", [-1.0, 2.0, 3.0, 0.5])],
     True),
    ("copysign", lambda m, a, b: m.copysign(a, b), [S, S], True),
    ("copysign_scalar", lambda m, a: m.copysign(a, -1.0), [S], True),
    ("heaviside", lambda m, a, b: m.heaviside(a, b), [("raw", [-1.0, 0.0, 2.0]), ("raw", [0.5, 0.25, 0.1])], False),
    ("clamp_min", lambda m, x: m.clamp_min(x, 0.1), [S], True),
    ("clamp_max", lambda m, x: x.clamp_max(0.1), [S], True),
    ("lerp", lambda m, a, b: m.lerp(a, b, 0.3), [S, S], True),
    ("lerp_tensor", lambda m, a, b, w: a.lerp(b, w), [S, S, S], True),
    ("addcmul", lambda m, a, b, c: m.addcmul(a, b, c, value=0.5), [S, S, (4,)], True),
    ("addcdiv", lambda m, a, b, c: a.addcdiv(b, c, value=2), [S, S, ("pos", S)], True),
    ("nan_to_num", lambda m, x: m.nan_to_num(x / (x - x.detach()) * 0 + x.detach() * 0 + x, nan=1.0),
     [S], False),
    ("nan_to_num_special", lambda m, x: m.nan_to_num(x, nan=2.0, posinf=9.0),
     [("raw", [np.nan, np.inf, -np.inf, 1.0])], True),
    ("erf", lambda m, x: m.erf(x * 2), [S], True),
    ("erf_wide", lambda m, x: x.erf(), [("raw", np.linspace(-7, 7, 57))], True),
    ("erfc", lambda m, x: m.erfc(x * 2), [S], True),
    ("erfc_wide", lambda m, x: x.erfc(), [("raw", np.linspace(-7, 27, 69))], True),
    ("erfinv", lambda m, x: m.erfinv(x), [("unit", S)], True),
    ("erfinv_edges", lambda m, x: x.erfinv(), [("raw", [-1.0, -0.999999, 0.0, 1e-300, 0.3, 0.9999999999, 1.0,
                                                        1.5, np.nan])], False),
    ("erf_int", lambda m, x: m.erf(x), [("int", S)], False),
    ("erfinv_", lambda m, x: x.clone().erfinv_(), [("unit", S)], True),
    ("erf_", lambda m, x: m.erf_(x.clone()), [S], True),
    ("positive", lambda m, x: m.positive(x), [S], True),
    ("negative", lambda m, x: m.negative(x), [S], True),
    ("floor_", lambda m, x: m.floor_(x.clone()), [S], True),
    ("round_", lambda m, x: (x * 3).clone().round_(decimals=1), [S], True),
    ("sign_", lambda m, x: x.clone().sign_(), [S], True),
    ("clamp_min_", lambda m, x: m.clamp_min_(x.clone(), 0.2), [S], True),
    ("reciprocal_", lambda m, x: x.clone().reciprocal_(), [("pos", S)], True),
    ("lerp_", lambda m, a, b: a.clone().lerp_(b, 0.25), [S, S], True),
    ("addcmul_", lambda m, a, b, c: a.clone().addcmul_(b, c, value=3), [S, S, S], True),
    ("addcdiv_", lambda m, a, b, c: a.clone().addcdiv_(b, c), [S, S, ("pos", S)], True),
    ("nan_to_num_", lambda m, x: x.clone().nan_to_num_(posinf=3.0), [("raw", [np.nan, np.inf, 1.0])], True),
    ("fill_diagonal_", lambda m, x: x.clone().fill_diagonal_(2.0), [(3, 3)], True),
    ("sinh_", lambda m, x: x.clone().sinh_(), [S], True),
    ("asin_", lambda m, x: x.clone().arcsin_(), [("unit", S)], True),
    ("logit_", lambda m, x: x.clone().logit_(0.2), [("prob", S)], True),
    ("square_", lambda m, x: x.clone().square_(), [S], True),
    ("cumprod_", lambda m, x: x.clone().cumprod_(1), [S], True),
    ("atan2_", lambda m, a, b: a.clone().atan2_(b), [S, (4,)], True),
    ("fmod_", lambda m, a: a.clone().fmod_(0.7), [S], True),
    ("hypot_", lambda m, a, b: a.clone().hypot_(b), [S, S], True),
    ("xlogy_", lambda m, a, b: a.clone().xlogy_(b), [S, ("pos", S)], True),
    ("copysign_", lambda m, a, b: a.clone().copysign_(b), [S, S], True),
    ("float_power_", lambda m, a: a.double().clone().float_power_(3), [S], True),
    ("fill_diagonal_wrap", lambda m, x: x.clone().fill_diagonal_(2.0, wrap=True), [(7, 3)], True),
    ("fill_diagonal_tall", lambda m, x: x.clone().fill_diagonal_(2.0), [(7, 3)], True),
    # linear algebra
    ("dot", lambda m, a, b: m.dot(a, b), [(5,), (5,)], True),
    ("dot_int", lambda m, a, b: a.dot(b), [("int", (5,)), ("int", (5,))], False),
    ("vdot", lambda m, a, b: m.vdot(a, b), [(5,), (5,)], True),
    ("inner", lambda m, a, b: m.inner(a, b), [(2, 3, 4), (5, 4)], True),
    ("inner_1d", lambda m, a, b: a.inner(b), [(4,), (4,)], True),
    ("mv", lambda m, a, b: m.mv(a, b), [(3, 4), (4,)], True),
    ("mm", lambda m, a, b: a.mm(b), [(3, 4), (4, 2)], True),
    ("outer", lambda m, a, b: m.outer(a, b), [(3,), (4,)], True),
    ("ger", lambda m, a, b: a.ger(b), [(3,), (4,)], True),
    ("addmm", lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2), [(4,), (3, 5), (5, 4)], True),
    ("addmm_beta0", lambda m, c, a, b: m.addmm(c, a, b, beta=0), [(3, 4), (3, 5), (5, 4)], True),
    ("addmv", lambda m, c, a, b: c.addmv(a, b, alpha=3), [(3,), (3, 5), (5,)], True),
    ("baddbmm", lambda m, c, a, b: m.baddbmm(c, a, b, beta=2), [(2, 3, 4), (2, 3, 5), (2, 5, 4)], True),
    ("addbmm", lambda m, c, a, b: m.addbmm(c, a, b), [(3, 4), (2, 3, 5), (2, 5, 4)], True),
    ("tensordot", lambda m, a, b: m.tensordot(a, b, dims=2), [(2, 3, 4), (3, 4, 5)], True),
    ("tensordot_lists", lambda m, a, b: m.tensordot(a, b, dims=([0, 2], [2, 0])), [(2, 3, 4), (4, 5, 2)], True),
    ("kron", lambda m, a, b: m.kron(a, b), [(2, 3), (4, 2)], True),
    ("kron_ranks", lambda m, a, b: a.kron(b), [(3,), (2, 2, 2)], True),
    ("cross", lambda m, a, b: m.cross(a, b, dim=1), [(4, 3), (4, 3)], True),
    ("cross_default", lambda m, a, b: a.cross(b), [(3, 5), (3, 1)], True),
    ("trace", lambda m, a: m.trace(a), [(3, 4)], True),
    ("trace_int", lambda m, a: a.trace(), [("int", (3, 3))], False),
    ("diagonal", lambda m, a: m.diagonal(a), [(3, 4)], True),
    ("diagonal_offset", lambda m, a: a.diagonal(1, 0, 2), [(3, 2, 4)], True),
    ("diagonal_neg", lambda m, a: a.diagonal(offset=-2, dim1=-1, dim2=0), [(5, 3, 4)], True),
    ("diagonal_empty", lambda m, a: a.diagonal(offset=5), [(3, 4)], True),
    ("diag_1d", lambda m, a: m.diag(a, 1), [(3,)], True),
    ("diag_2d", lambda m, a: a.diag(-1), [(3, 4)], True),
    ("diag_embed", lambda m, a: m.diag_embed(a), [(2, 3)], True),
    ("diag_embed_dims", lambda m, a: a.diag_embed(offset=-1, dim1=0, dim2=2), [(2, 3)], True),
    ("diagflat", lambda m, a: m.diagflat(a, 1), [(2, 2)], True),
    ("tril_indices", lambda m: m.tril_indices(4, 3, 1), [], False),
    ("triu_indices", lambda m: m.triu_indices(3, 5, -1), [], False),
    ("movedim", lambda m, a: m.movedim(a, 0, 2), [(2, 3, 4)], True),
    ("movedim_many", lambda m, a: a.moveaxis((0, 1), (3, 0)), [(2, 3, 4, 5)], True),
    ("mT", lambda m, a: a.mT, [(2, 3, 4)], True),
    ("mH", lambda m, a: a.mH, [(3, 4)], True),
    ("H", lambda m, a: a.H, [(3, 4)], True),
    # cumulative ops, order statistics, counting
    ("cumprod", lambda m, a: m.cumprod(a, 1), [(3, 5)], True),
    ("cumprod_zeros", lambda m, a: a.cumprod(0), [("raw", [[1.5, 0.0, 2.0], [0.0, 3.0, 0.0], [2.0, -1.0, 4.0]])], True),
    ("cumprod_int", lambda m, a: m.cumprod(a, 0), [("int", (4,))], False),
    ("cummax", lambda m, a: m.cummax(a, 1), [(3, 5)], True),
    ("cummin", lambda m, a: a.cummin(0), [(4, 3)], True),
    ("cummax_ties_nan", lambda m, a: m.cummax(a, 0), [("raw", [1.0, 3.0, 3.0, np.nan, 5.0, 2.0])], False),
    ("cummin_int", lambda m, a: m.cummin(a, 0), [("raw", [3, 1, 1, 2, 0])], False),
    ("logcumsumexp", lambda m, a: m.logcumsumexp(a, 1), [(3, 5)], True),
    ("diff", lambda m, a: m.diff(a), [(3, 5)], True),
    ("diff_n_dim", lambda m, a, b: a.diff(n=2, dim=0, prepend=b), [(4, 3), (2, 3)], True),
    ("diff_bool", lambda m, a: m.diff(a > 0), [(6,)], False),
    ("median_all", lambda m, a: m.median(a), [(3, 4)], True),
    ("median_dim", lambda m, a: m.median(a, 1), [(3, 4)], True),
    ("median_keepdim", lambda m, a: a.median(0, keepdim=True), [(5, 2)], True),
    ("median_nan", lambda m, a: a.median(0), [("raw", [[1.0, 2.0], [np.nan, 0.5], [3.0, 1.0]])], False),
    ("nanmedian", lambda m, a: m.nanmedian(a, 0), [("raw", [[1.0, 2.0], [np.nan, 0.5], [3.0, np.nan],
                                                            [4.0, np.nan]])], False),
    ("nanmedian_all", lambda m, a: a.nanmedian(), [("raw", [1.0, np.nan, 3.0, 0.0])], False),
    ("kthvalue", lambda m, a: m.kthvalue(a, 2, 1), [(3, 5)], True),
    ("kthvalue_keepdim", lambda m, a: a.kthvalue(3, 0, True), [(4, 2)], True),
    ("mode_values", lambda m, a: m.mode(a, 1).values, [("raw", [[1, 2, 2, 3, 3], [5, 4, 4, 1, 1]])], False),
    ("mode_float", lambda m, a: a.mode(0).values, [("raw", [[1.0, 2.0], [1.0, 3.0], [2.0, 3.0]])], False),
    ("quantile", lambda m, a: m.quantile(a, 0.3), [(3, 4)], True),
    ("quantile_dim", lambda m, a, q: m.quantile(a, q, dim=1, keepdim=True), [(3, 5), ("raw", [0.0, 0.25, 0.9])],
     True),
    ("quantile_lower", lambda m, a: a.quantile(0.4, dim=0, interpolation="lower"), [(5, 3)], True),
    ("quantile_higher", lambda m, a: a.quantile(0.4, dim=0, interpolation="higher"), [(5, 3)], True),
    ("quantile_midpoint", lambda m, a: a.quantile(0.4, dim=0, interpolation="midpoint"), [(5, 3)], True),
    ("quantile_nearest", lambda m, a: a.quantile(0.625, dim=0, interpolation="nearest"), [(5, 3)], True),
    ("quantile_nan", lambda m, a: a.quantile(0.5, dim=1), [("raw", [[1.0, np.nan, 2.0], [0.0, 1.0, 2.0]])], False),
    ("nanquantile", lambda m, a: m.nanquantile(a, 0.5, dim=1), [("raw", [[1.0, np.nan, 2.0], [np.nan] * 3])],
     False),
    ("count_nonzero", lambda m, a: m.count_nonzero(a.round()), [(3, 4)], False),
    ("count_nonzero_dim", lambda m, a: a.round().count_nonzero(dim=1), [(3, 4)], False),
    ("nansum", lambda m, a: m.nansum(a, 1), [("raw", [[1.0, np.nan], [2.0, 3.0]])], True),
    ("nanmean", lambda m, a: m.nanmean(a, 0), [("raw", [[1.0, np.nan], [2.0, 3.0]])], True),
    ("std_mean", lambda m, a: m.std_mean(a, 1), [(3, 4)], True),
    ("var_mean", lambda m, a: m.var_mean(a, dim=0, keepdim=True, correction=0), [(3, 4)], True),
    ("aminmax", lambda m, a: m.aminmax(a, dim=1), [(3, 4)], False),
    ("aminmax_all", lambda m, a: a.aminmax(), [(3, 4)], False),
    ("msort", lambda m, a: m.msort(a), [(4, 3)], True),
    ("bincount", lambda m, a: m.bincount(a, minlength=7), [("raw", [0, 1, 1, 4])], False),
    ("bincount_weights", lambda m, a, w: a.bincount(w), [("raw", [0, 1, 1, 4]), (4,)], False),
    ("histc", lambda m, a: m.histc(a, bins=5), [(20,)], False),
    ("histc_range", lambda m, a: a.histc(4, min=-1, max=1), [(20,)], False),
    ("searchsorted", lambda m, s, v: m.searchsorted(s, v), [("raw", [1.0, 2.0, 2.0, 5.0]),
                                                            ("raw", [[2.0, 0.0], [6.0, 1.5]])], False),
    ("searchsorted_right", lambda m, s, v: m.searchsorted(s, v, right=True, out_int32=True),
     [("raw", [1.0, 2.0, 2.0, 5.0]), ("raw", [2.0, 5.0])], False),
    ("searchsorted_nd", lambda m, s, v: m.searchsorted(s, v, side="right"),
     [("raw", [[1, 3, 5], [2, 4, 6]]), ("raw", [[3, 6], [1, 4]])], False),
    ("bucketize", lambda m, v, b: m.bucketize(v, b), [("raw", [[2.0, 0.0], [6.0, 5.0]]), ("raw", [1.0, 2.0, 5.0])],
     False),
    ("unique_consecutive", lambda m, a: m.unique_consecutive(a, return_inverse=True, return_counts=True),
     [("raw", [1, 1, 2, 2, 3, 1, 1, 2])], False),
    ("unique_consecutive_dim", lambda m, a: a.unique_consecutive(dim=0, return_counts=True),
     [("raw", [[1, 2], [1, 2], [3, 4], [1, 2]])], False),
    # shape and index ops
    ("repeat_interleave", lambda m, a: m.repeat_interleave(a, 2), [(2, 3)], True),
    ("repeat_interleave_dim", lambda m, a, r: a.repeat_interleave(r, dim=1), [(2, 3), ("raw", [1, 0, 2])], True),
    ("repeat_interleave_counts", lambda m, r: m.repeat_interleave(r), [("raw", [2, 0, 1])], False),
    ("tile", lambda m, a: m.tile(a, (2,)), [(2, 3)], True),
    ("tile_more", lambda m, a: a.tile(2, 1, 2), [(2, 3)], True),
    ("ravel", lambda m, a: m.ravel(a.t()), [(2, 3)], True),
    ("broadcast_to", lambda m, a: m.broadcast_to(a, (2, 3, 4)), [(3, 1)], True),
    ("broadcast_tensors", lambda m, a, b: m.broadcast_tensors(a, b), [(3, 1), (1, 4)], True),
    ("tensor_split", lambda m, a: m.tensor_split(a, 3, dim=1), [(2, 7)], True),
    ("tensor_split_idx", lambda m, a: a.tensor_split([1, 5, 4, 9]), [(7, 2)], True),
    ("hsplit", lambda m, a: m.hsplit(a, 2), [(2, 4)], True),
    ("hsplit_1d", lambda m, a: m.hsplit(a, [1, 3]), [(5,)], True),
    ("vsplit", lambda m, a: a.vsplit([1]), [(3, 2)], True),
    ("dsplit", lambda m, a: m.dsplit(a, 2), [(2, 2, 4)], True),
    ("hstack", lambda m, a, b: m.hstack([a, b]), [(2, 3), (2, 1)], True),
    ("hstack_1d", lambda m, a, b: m.hstack((a, b)), [(2,), (3,)], True),
    ("vstack", lambda m, a, b: m.vstack([a, b]), [(3,), (2, 3)], True),
    ("row_stack", lambda m, a, b: m.row_stack([a, b]), [(3,), (3,)], True),
    ("dstack", lambda m, a, b: m.dstack([a, b]), [(2, 3), (2, 3)], True),
    ("column_stack", lambda m, a, b: m.column_stack([a, b]), [(3,), (3, 2)], True),
    ("atleast_1d", lambda m, a: m.atleast_1d(a.sum()), [(3,)], True),
    ("atleast_2d", lambda m, a, b: m.atleast_2d(a, b), [(3,), (2, 3)], True),
    ("atleast_3d", lambda m, a, b, c: m.atleast_3d([a, b, c.sum()]), [(3,), (2, 3), (2,)], True),
    ("block_diag", lambda m, a, b, c: m.block_diag(a, b, c.sum()), [(2, 3), (4,), (2,)], True),
    ("block_diag_int", lambda m, a, b: m.block_diag(a, b), [("int", (2, 2)), (1, 2)], False),
    ("rot90", lambda m, a: m.rot90(a), [(2, 3, 4)], True),
    ("rot90_k", lambda m, a: a.rot90(3, [2, 0]), [(2, 3, 4)], True),
    ("rot90_2", lambda m, a: a.rot90(-2, (0, 1)), [(2, 3)], True),
    ("fliplr", lambda m, a: m.fliplr(a), [(2, 3)], True),
    ("flipud", lambda m, a: a.flipud(), [(2, 3)], True),
    ("take", lambda m, a, i: m.take(a, i), [(2, 3), ("raw", [[0, 5], [-1, 2]])], True),
    ("take_along_dim", lambda m, a, i: m.take_along_dim(a, i, dim=1), [(2, 3), ("raw", [[0, 2, 2, 1]])], True),
    ("take_along_dim_flat", lambda m, a, i: a.take_along_dim(i), [(2, 3), ("raw", [4, 0])], True),
    ("scatter_add", lambda m, a, i, s: m.scatter_add(a, 0, i, s), [(3, 4), ("raw", [[0, 1, 2, 0], [2, 2, 0, 1]]),
                                                                   (2, 4)], True),  # (torch's gradient fails for
    ("scatter_add_small_index", lambda m, a, i, s: m.scatter_add(a, 0, i, s),  # an index smaller than src)
     [(3, 4), ("raw", [[0, 1, 2, 0], [2, 2, 0, 1]]), (2, 5)], False),
    ("scatter_add_", lambda m, a, i, s: a.clone().scatter_add_(1, i, s), [(2, 4), ("raw", [[0, 0], [3, 1]]), (2, 2)],
     True),
    ("index_add", lambda m, a, i, s: m.index_add(a, 1, i, s, alpha=2), [(2, 4), ("raw", [0, 3, 0]), (2, 3)], True),
    ("index_add_", lambda m, a, i, s: a.clone().index_add_(0, i, s), [(3, 2), ("raw", [2, 2]), (2, 2)], True),
    ("index_fill", lambda m, a, i: m.index_fill(a, 1, i, -1.0), [(2, 4), ("raw", [0, 2])], True),
    ("index_fill_", lambda m, a, i: a.clone().index_fill_(0, i, 3), [(3, 2), ("raw", [1])], True),
    ("index_copy", lambda m, a, i, s: m.index_copy(a, 0, i, s), [(4, 2), ("raw", [3, 0]), (2, 2)], True),
    ("index_copy_", lambda m, a, i, s: a.clone().index_copy_(1, i, s), [(2, 3), ("raw", [2]), (2, 1)], True),
    ("masked_select", lambda m, a, b: m.masked_select(a, b > 0), [(2, 3), (3,)], True),
    ("masked_scatter", lambda m, a, b, s: a.masked_scatter(b > 0, s), [(2, 3), (2, 3), (8,)], True),
    ("masked_scatter_", lambda m, a, b, s: a.clone().masked_scatter_(b > 0, s), [(2, 3), (3,), (2, 3)], True),
    ("meshgrid_ij", lambda m, a, b: m.meshgrid(a, b, indexing="ij"), [(2,), (3,)], True),
    ("meshgrid_xy", lambda m, a, b, c: m.meshgrid([a, b, c], indexing="xy"), [(2,), (3,), (4,)], True),
    ("cartesian_prod", lambda m, a, b: m.cartesian_prod(a, b), [(2,), (3,)], True),
    ("combinations", lambda m, a: m.combinations(a), [(4,)], True),
    ("combinations_r3", lambda m, a: m.combinations(a, 3, with_replacement=True), [(3,)], True),
    ("combinations_big_r", lambda m, a: m.combinations(a, r=5), [("raw", [1, 2])], False),
]


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in _flat(item)]
    return [out]


def _compare(torch, f, inputs, differentiable, rtol=1e-6, atol=1e-9):
    for dtype in ("float64", "float32") if differentiable or any(a.dtype.kind == "f" for a in inputs) else (None,):
        ours_in = [fe.tensor(a.astype(dtype) if dtype and a.dtype.kind == "f" else a,
                             requires_grad=differentiable and dtype == "float64" and a.dtype.kind == "f")
                   for a in inputs]
        theirs_in = [torch.tensor(a.astype(dtype) if dtype and a.dtype.kind == "f" else a,
                                  requires_grad=differentiable and dtype == "float64" and a.dtype.kind == "f")
                     for a in inputs]
        ours, theirs = _flat(f(fe, *ours_in)), _flat(f(torch, *theirs_in))
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            if not hasattr(t, "detach"):
                assert o == t
                continue
            assert str(o.dtype) == str(t.dtype).replace("torch.", ""), (o.dtype, t.dtype)
            assert tuple(o.shape) == tuple(t.shape)
            tol = dict(rtol=rtol, atol=atol) if dtype != "float32" else dict(rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(o.detach().numpy().astype(np.float64) if o.dtype != fe.bool else o.numpy(),
                                       t.detach().numpy().astype(np.float64) if t.dtype != torch.bool
                                       else t.numpy(), equal_nan=True, **tol)
        if differentiable and dtype == "float64":
            rng = np.random.default_rng(7)
            weights = [rng.standard_normal(tuple(t.shape)) for t in theirs if t.dtype.is_floating_point]
            ours_f = [o for o, t in zip(ours, theirs) if t.dtype.is_floating_point]
            theirs_f = [t for t in theirs if t.dtype.is_floating_point]
            if not any(t.requires_grad for t in theirs_f):
                continue
            loss_o = sum((o * fe.tensor(w)).sum() for o, w in zip(ours_f, weights) if o.requires_grad)
            loss_t = sum((t * torch.tensor(w)).sum() for t, w in zip(theirs_f, weights) if t.requires_grad)
            loss_o.backward()
            loss_t.backward()
            for a, b in zip(ours_in, theirs_in):
                if b.requires_grad:
                    gb = b.grad.numpy(force=True) if b.grad is not None else np.zeros(b.shape)
                    ga = a.grad.numpy() if a.grad is not None else np.zeros(a.shape)
                    np.testing.assert_allclose(ga, gb, rtol=1e-6, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("name,f,specs,differentiable", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, f, specs, differentiable):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(map(ord, name)))
    inputs = _rng_inputs(specs, rng)
    _compare(torch, f, inputs, differentiable)


# ---- dtype queries, constructors, sampling, print options -----------------------------------------

def test_dtype_queries_by_hand():
    f = fe.finfo(fe.float32)
    assert (f.bits, f.eps, f.tiny, f.resolution, f.dtype) == (32, 2.0 ** -23, 2.0 ** -126, 1e-6, "float32")
    assert fe.finfo().dtype == "float32" and fe.finfo(fe.float64).max == np.finfo(np.float64).max
    i = fe.iinfo(fe.int8)
    assert (i.bits, i.min, i.max, i.dtype) == (8, -128, 127, "int8")
    assert fe.promote_types(fe.int64, fe.float32) == fe.float32
    assert fe.result_type(fe.tensor([1, 2]), 2.5) == fe.float32
    assert fe.can_cast(fe.float64, fe.float32) and not fe.can_cast(fe.float32, fe.int64)
    assert fe.is_floating_point(fe.ones(1)) and not fe.is_floating_point(fe.tensor([1]))
    assert fe.is_nonzero(fe.tensor([2])) and not fe.tensor(0.0).is_nonzero()
    with pytest.raises(RuntimeError):
        fe.is_nonzero(fe.tensor([1, 2]))
    x = fe.ones(2, 3)
    assert (x.type(), x.stride(), x.stride(1), x.element_size()) == ("torch.FloatTensor", (3, 1), 1, 4)
    assert x.expand(4, 2, 3).stride() == (0, 3, 1) and x.type(fe.float64).dtype == fe.float64
    assert fe.tensor([1]).type() == "torch.LongTensor" and x.type("torch.IntTensor").dtype == fe.int32


def test_constructors_and_sampling_by_hand():
    a = np.arange(3.0)
    t = fe.as_tensor(a)
    a[0] = 7.0
    assert t.tolist() == [7.0, 1.0, 2.0] and fe.as_tensor(t) is t and fe.as_tensor([1, 2]).dtype == fe.int64
    assert fe.logspace(0, 2, 3).tolist() == [1.0, 10.0, 100.0] and fe.logspace(0, 3, 4, base=2).tolist()[-1] == 8.0
    r = fe.randint_like(fe.zeros(50, dtype=fe.int32), 3, 5)
    assert r.dtype == fe.int32 and set(r.tolist()) <= {3, 4}
    b = fe.bernoulli(fe.tensor([0.0, 1.0, 0.0, 1.0]))
    assert b.tolist() == [0.0, 1.0, 0.0, 1.0] and fe.zeros(3).bernoulli(1.0).tolist() == [1.0] * 3
    p = fe.poisson(fe.full((2000,), 3.0))
    assert p.dtype == fe.float32 and abs(p.mean().item() - 3.0) < 0.2
    with pytest.raises(RuntimeError):
        fe.bernoulli(fe.tensor([1.5]))
    assert fe.zeros(4).bernoulli_(1.0).tolist() == [1.0] * 4 and fe.ones(3).bernoulli_(0.0).tolist() == [0.0] * 3
    with pytest.raises(RuntimeError):
        fe.ones(2).float_power_(2)


def test_set_default_dtype_and_printoptions():
    try:
        fe.set_default_dtype(fe.float64)
        assert fe.get_default_dtype() == fe.float64
        assert fe.tensor([1.5]).dtype == fe.zeros(2).dtype == fe.rand(2).dtype == fe.float64
        assert (fe.tensor([1]) / 2).dtype == fe.float64 and fe.full((1,), 2.5).dtype == fe.float64
        with pytest.raises(TypeError):
            fe.set_default_dtype(fe.int64)
    finally:
        fe.set_default_dtype(fe.float32)
    assert fe.tensor([1.5]).dtype == fe.float32
    try:
        fe.set_printoptions(precision=2)
        assert repr(fe.tensor([1.2345, 2.0])) == "tensor([1.23, 2.00])"
        fe.set_printoptions(sci_mode=True)
        assert repr(fe.tensor([1.5, 2.0])) == "tensor([1.50e+00, 2.00e+00])"
        fe.set_printoptions(threshold=5, edgeitems=1)
        assert "..." in repr(fe.arange(10))
    finally:
        fe.set_printoptions(profile="default")
    assert repr(fe.tensor([1.2345, 2.0])) == "tensor([1.2345, 2.0000])"


def test_printoptions_and_dtype_queries_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in ((fe.float32, torch.float32), (fe.float64, torch.float64)):
        f, g = fe.finfo(ours), torch.finfo(theirs)
        assert (f.bits, f.eps, f.max, f.min, f.tiny, f.smallest_normal, f.resolution, f.dtype) == (
            g.bits, g.eps, g.max, g.min, g.tiny, g.smallest_normal, g.resolution, g.dtype)
    for ours, theirs in ((fe.int64, torch.int64), (fe.int32, torch.int32), (fe.int16, torch.int16),
                         (fe.int8, torch.int8), (fe.uint8, torch.uint8)):
        f, g = fe.iinfo(ours), torch.iinfo(theirs)
        assert (f.bits, f.max, f.min, f.dtype) == (g.bits, g.max, g.min, g.dtype)
    names = ("float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool")
    for a in names:
        x = np.zeros((2, 3), a)
        assert fe.tensor(x).type() == torch.tensor(x).type()
        assert fe.tensor(x).element_size() == torch.tensor(x).element_size()
        for b in names:
            ta, tb = getattr(torch, a), getattr(torch, b)
            assert str(fe.promote_types(np.dtype(a), np.dtype(b))) == str(torch.promote_types(ta, tb)).split(".")[1]
            assert fe.can_cast(np.dtype(a), np.dtype(b)) == torch.can_cast(ta, tb), (a, b)
            ours = fe.result_type(fe.tensor(np.zeros(2, a)), fe.tensor(np.zeros((), b)))
            theirs = torch.result_type(torch.tensor(np.zeros(2, a)), torch.tensor(np.zeros((), b)))
            assert str(ours) == str(theirs).split(".")[1]
    x = fe.zeros(2, 3, 4).permute(2, 0, 1)
    assert x.stride() == torch.zeros(2, 3, 4).permute(2, 0, 1).stride()
    assert fe.logspace(-1, 2, 5, base=3).numpy() == pytest.approx(torch.logspace(-1, 2, 5, base=3).numpy())
    try:
        for kw in ({"precision": 2}, {"sci_mode": True}, {"precision": 6, "sci_mode": False}):
            fe.set_printoptions(**kw)
            torch.set_printoptions(**kw)
            for v in ([1.2345, 2.0], [0.00012, 3000.5], [1.0, 2.0]):
                assert repr(fe.tensor(v)) == repr(torch.tensor(v)), (kw, v)
    finally:
        fe.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


def test_quantile_of_an_empty_tensor_is_torchs_runtime_error():
    # torch 2.13: RuntimeError "quantile() input tensor must be non-empty", with or without dim
    for x, kw in ((fe.zeros(0), {}), (fe.zeros(2, 0), {"dim": 1}), (fe.zeros(0, 3), {"dim": 0})):
        with pytest.raises(RuntimeError, match="must be non-empty"):
            fe.quantile(x, 0.5, **kw)


def test_fmod_and_atan2_functions_refuse_object_arrays_and_integer_zero():
    # found by tests/test_fuzz.py: given object arrays directly, NumPy looked for a .fmod/.arctan2 method
    # on each element (AttributeError); an integer zero divisor must be torch's RuntimeError
    from firstepoch.ops.elementwise import Atan2Fn, FmodFn
    obj = fe.Tensor._wrap(np.array([1.0, 2.0], dtype=object), False)
    for fn in (FmodFn, Atan2Fn):
        with pytest.raises(TypeError, match="dtype object"):
            fn.apply(obj, fe.tensor([1.0, 1.0]))
    with pytest.raises(RuntimeError, match="integer division by zero"):
        fe.fmod(fe.tensor([3, 4]), fe.tensor([1, 0]))


def test_set_item_backward_of_an_object_array_is_the_engines_error():
    # found by tests/test_fuzz.py: an object array given straight to SetItemFn (Tensor itself refuses
    # object arrays) made unbroadcast call .reshape on the Python int an object sum returns
    from firstepoch.ops.shape import SetItemFn
    x = fe.Tensor._wrap(np.zeros((4, 5), dtype=object), False)
    v = fe.tensor(np.float64(2.0), requires_grad=True)  # one value broadcast down a column
    out = SetItemFn.apply(x, (slice(None), 2), v)
    with pytest.raises(RuntimeError, match="backward returned a int64 gradient"):  # the engine names it
        out.backward(np.ones((4, 5), dtype=object))
