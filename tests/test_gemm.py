"""GEMM kernel against the NumPy reference at every ISA level, both dtypes, edge shapes, the fused
epilogue, batched inputs, thread-count invariance, and every kind of bad input."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import firstepoch
from firstepoch import _C, reference
from firstepoch.ops.linalg import linear_relu, matmul

from conftest import AVAILABLE_ISAS, tol_for

DTYPES = [np.float32, np.float64]
EDGE_SIZES = [0, 1, 2, 3, 7, 13, 14, 15, 16, 17, 31, 32, 33, 97]


def make(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def check_gemm(rng, dtype, M, N, K, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=False, relu=False):
    a = make(rng, (K, M) if trans_a else (M, K), dtype)
    b = make(rng, (N, K) if trans_b else (K, N), dtype)
    c0 = make(rng, (M, N), dtype)
    bv = make(rng, (N,), dtype) if bias else None
    out = c0.copy()
    got = _C.gemm(a, b, out, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, bias=bv, relu=relu)
    assert got is out
    # The oracle runs in float64 so the float32 kernel is judged against the true product.
    want = reference.gemm(a.astype(np.float64), b.astype(np.float64), c0.astype(np.float64),
                          trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta,
                          bias=None if bv is None else bv.astype(np.float64), relu=relu)
    rtol, atol = tol_for(dtype, K)
    np.testing.assert_allclose(out, want, rtol=rtol, atol=atol * max(1.0, abs(alpha)))
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_edge_shapes_every_isa(isa, rng, dtype, trans_a, trans_b):
    sizes = [0, 1, 13, 17, 33]
    for M in sizes:
        for N in sizes:
            for K in [0, 1, 5, 31]:
                check_gemm(rng, dtype, M, N, K, trans_a, trans_b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tile_boundaries(isa, rng, dtype):
    # Sizes straddling every microkernel's MR (4, 6, 14) and NR (8, 16, 32).
    for M in EDGE_SIZES:
        check_gemm(rng, dtype, M, 33, 9)
    for N in EDGE_SIZES:
        check_gemm(rng, dtype, 15, N, 9)


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_and_prime(isa, rng, dtype):
    # K larger than the KC block (several K panels), M and N larger than MC and not multiples of it.
    check_gemm(rng, dtype, 157, 263, 1031, alpha=0.5, beta=-1.5)
    check_gemm(rng, dtype, 311, 129, 257, trans_a=True, trans_b=True, bias=True, relu=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", [None, 5])
def test_rows_a_page_apart_are_packed(isa, rng, dtype, width):
    # B's rows exactly 4 KiB apart with many row tiles: the driver packs B instead of reading it in place
    # (gemm.cpp, `aliasing`); a narrower view of the same rows ends on a partial panel.
    ld = 4096 // np.dtype(dtype).itemsize
    M, K = 131, 19
    a = make(rng, (M, K), dtype)
    b = make(rng, (K, ld), dtype)[:, :width]
    out = np.empty((M, b.shape[1]), dtype)
    _C.gemm(a, b, out)
    rtol, atol = tol_for(dtype, K)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64), rtol=rtol, atol=atol)


@pytest.mark.slow
def test_thousand_plus(rng):
    check_gemm(rng, np.float32, 1009, 1013, 1021, trans_b=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (2.0, 1.0), (-0.5, 0.25), (0.0, 2.0), (1.0, -1.0)])
def test_alpha_beta(isa, rng, dtype, alpha, beta):
    check_gemm(rng, dtype, 29, 35, 19, alpha=alpha, beta=beta)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("relu", [False, True])
def test_epilogue_bias_relu(isa, rng, dtype, relu):
    for M, N, K in [(64, 128, 78), (5, 10, 3), (28, 64, 256), (3, 1, 1), (14, 32, 0)]:
        check_gemm(rng, dtype, M, N, K, bias=True, relu=relu)
        check_gemm(rng, dtype, M, N, K, alpha=0.5, beta=1.0, bias=True, relu=relu)


def test_beta_zero_never_reads_out(isa, rng):
    a = make(rng, (20, 9), np.float32)
    b = make(rng, (9, 40), np.float32)
    out = np.full((20, 40), np.nan, np.float32)
    _C.gemm(a, b, out)
    assert np.isfinite(out).all()
    out[:] = np.nan
    _C.gemm(a, b, out, beta=1.0)
    assert np.isnan(out).all()


def test_nan_propagates_through_relu(isa):
    a = np.ones((16, 4), np.float32)
    a[3, 2] = np.nan
    b = np.ones((4, 40), np.float32)
    out = np.empty((16, 40), np.float32)
    _C.gemm(a, b, out, relu=True)
    assert np.isnan(out[3]).all() and np.isfinite(np.delete(out, 3, axis=0)).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_batched(isa, rng, dtype):
    for ta, tb in [(False, False), (True, False), (False, True)]:
        a = make(rng, (5, 9, 7) if ta else (5, 7, 9), dtype)
        b = make(rng, (5, 11, 9) if tb else (5, 9, 11), dtype)
        out = np.empty((5, 7, 11), dtype)
        _C.gemm(a, b, out, trans_a=ta, trans_b=tb)
        want = np.matmul(np.swapaxes(a, 1, 2) if ta else a, np.swapaxes(b, 1, 2) if tb else b)
        np.testing.assert_allclose(out, want, *tol_for(dtype, 9))
    # a 2-D operand is shared by every batch entry
    a2 = make(rng, (7, 9), dtype)
    b3 = make(rng, (4, 9, 3), dtype)
    out = np.empty((4, 7, 3), dtype)
    _C.gemm(a2, b3, out)
    np.testing.assert_allclose(out, a2 @ b3, *tol_for(dtype, 9))


def test_many_small_batched_matches_loop(rng, threads):
    a = make(rng, (64, 8, 16), np.float32)
    b = make(rng, (64, 16, 8), np.float32)
    outs = []
    for n in (1, 2):
        firstepoch.set_num_threads(n)
        out = np.empty((64, 8, 8), np.float32)
        _C.gemm(a, b, out)
        outs.append(out)
    assert np.array_equal(outs[0], outs[1])
    np.testing.assert_allclose(outs[0], a @ b, *tol_for(np.float32, 16))


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_bitwise_equal(isa, rng, dtype, threads):
    shapes = [(512, 512, 300), (64, 784, 128), (1, 1000, 64), (1000, 1, 64), (97, 389, 701)]
    for M, N, K in shapes:
        a = make(rng, (M, K), dtype)
        b = make(rng, (K, N), dtype)
        bias = make(rng, (N,), dtype)
        results = []
        for n in (1, 2, 3):
            firstepoch.set_num_threads(n)
            out = np.empty((M, N), dtype)
            _C.gemm(a, b, out, bias=bias, relu=True)
            results.append(out)
        assert np.array_equal(results[0], results[1]), (M, N, K)
        assert np.array_equal(results[0], results[2]), (M, N, K)


def test_row_slices_and_leading_dimensions(rng):
    big = make(rng, (40, 50), np.float32)
    a = big[::2, 3:20]            # row stride 100 floats, unit inner stride
    b = make(rng, (17, 9), np.float32)
    out_big = np.zeros((30, 20), np.float32)
    out = out_big[5:25, 2:11]     # writes only inside the view
    _C.gemm(a, b, out)
    np.testing.assert_allclose(out, a @ b, *tol_for(np.float32, 17))
    mask = np.ones_like(out_big, bool)
    mask[5:25, 2:11] = False
    assert (out_big[mask] == 0).all()


@settings(max_examples=60, deadline=None)
@given(M=st.integers(0, 70), N=st.integers(0, 70), K=st.integers(0, 70),
       trans_a=st.booleans(), trans_b=st.booleans(), dtype=st.sampled_from(DTYPES),
       isa=st.sampled_from(AVAILABLE_ISAS), bias=st.booleans(), relu=st.booleans(),
       alpha=st.sampled_from([1.0, -2.0, 0.5]), beta=st.sampled_from([0.0, 1.0, 0.5]))
def test_random_shapes(M, N, K, trans_a, trans_b, dtype, isa, bias, relu, alpha, beta):
    before = _C.get_isa()
    _C.set_isa(isa)
    try:
        check_gemm(np.random.default_rng(M * 10007 + N * 101 + K), dtype, M, N, K, trans_a, trans_b,
                   alpha, beta, bias, relu)
    finally:
        _C.set_isa(before)


# --- bad inputs: a clear exception naming the argument, never a crash, copy or cast -------------

def f32(*shape):
    return np.ones(shape, np.float32)


@pytest.mark.parametrize("bad", [np.int32, np.int64, np.float16, np.bool_, object])
def test_wrong_dtype_is_type_error(bad):
    with pytest.raises(TypeError, match="a must have dtype float32"):
        _C.gemm(np.ones((2, 3), bad), f32(3, 4), f32(2, 4))
    with pytest.raises(TypeError, match="out must have dtype"):
        _C.gemm(f32(2, 3), f32(3, 4), np.ones((2, 4), bad))


def test_mixed_dtypes_rejected():
    with pytest.raises(TypeError, match="b must have dtype float32, got float64"):
        _C.gemm(f32(2, 3), np.ones((3, 4)), f32(2, 4))
    with pytest.raises(TypeError, match="bias must have dtype float32"):
        _C.gemm(f32(2, 3), f32(3, 4), f32(2, 4), bias=np.ones(4))


def test_non_arrays_rejected():
    with pytest.raises(TypeError):
        _C.gemm([[1.0]], f32(1, 1), f32(1, 1))
    with pytest.raises(TypeError, match="bias must be a numpy array"):
        _C.gemm(f32(1, 1), f32(1, 1), f32(1, 1), bias=[1.0])


def test_shape_errors_name_shapes():
    with pytest.raises(ValueError, match=r"inner dimensions differ.*\(2, 3\).*\(4, 5\)"):
        _C.gemm(f32(2, 3), f32(4, 5), f32(2, 5))
    with pytest.raises(ValueError, match=r"out must have shape \(2, 5\).*got \(5, 2\)"):
        _C.gemm(f32(2, 3), f32(3, 5), f32(5, 2))
    with pytest.raises(ValueError, match=r"bias must have shape \(5,\)"):
        _C.gemm(f32(2, 3), f32(3, 5), f32(2, 5), bias=f32(4))
    with pytest.raises(ValueError, match="must be 2-D"):
        _C.gemm(f32(3), f32(3, 5), f32(1, 5))
    with pytest.raises(ValueError, match="batch sizes differ"):
        _C.gemm(f32(2, 3, 4), f32(3, 4, 5), f32(2, 3, 5))


@pytest.mark.parametrize("view", ["reversed", "transposed", "column_step", "reversed_cols"])
def test_bad_layouts_rejected_without_copy(view):
    x = np.arange(64, dtype=np.float32).reshape(8, 8)
    v = {"reversed": x[::-1], "transposed": x.T, "column_step": x[:, ::2],
         "reversed_cols": x[:, ::-1]}[view]
    with pytest.raises(ValueError, match="a with shape"):
        _C.gemm(v, f32(v.shape[1], 3), f32(v.shape[0], 3))
    with pytest.raises(ValueError, match="out with shape"):
        _C.gemm(f32(v.shape[0], 2), f32(2, v.shape[1]), v)


def test_output_aliasing_and_readonly_rejected():
    a = f32(4, 4)
    with pytest.raises(ValueError, match="shares memory with a"):
        _C.gemm(a, f32(4, 4), a)
    ro = f32(4, 4)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _C.gemm(f32(4, 4), f32(4, 4), ro)


# --- ops.matmul / ops.linalg.linear_relu: NumPy's semantics on top of the kernel ----------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_matches_numpy(rng, dtype):
    cases = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
             ((3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (6, 4, 5)), ((0, 3), (3, 2)),
             ((2, 1, 3, 4), (1, 5, 4, 2)),
             # batch axes that are all 1 (they raised ValueError: a 2-D product into a 3-D result)
             ((1, 5, 4), (1, 4, 3)), ((1, 1, 5, 4), (4, 3)), ((3, 5), (1, 1, 5, 4)), ((1, 4), (1, 4, 3))]
    for sa, sb in cases:
        a, b = make(rng, sa, dtype), make(rng, sb, dtype)
        got = matmul(a, b)
        want = np.matmul(a, b)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, *tol_for(dtype, sa[-1]))


def test_matmul_transposed_views_are_read_in_place(rng):
    a = make(rng, (6, 5), np.float32)
    b = make(rng, (7, 6), np.float32)
    np.testing.assert_allclose(matmul(a.T, b.T), a.T @ b.T, *tol_for(np.float32, 6))
    a3 = make(rng, (3, 6, 5), np.float32)
    np.testing.assert_allclose(matmul(np.swapaxes(a3, 1, 2), a3), np.swapaxes(a3, 1, 2) @ a3,
                               *tol_for(np.float32, 6))


def test_matmul_errors():
    with pytest.raises(TypeError, match="float32 or float64"):
        matmul(np.ones((2, 2), np.int64), np.ones((2, 2), np.int64))
    with pytest.raises(TypeError, match="same dtype"):
        matmul(f32(2, 2), np.ones((2, 2)))
    with pytest.raises(RuntimeError, match=r"inner dimensions differ: a \(2, 3\) @ b \(2, 3\)"):
        matmul(f32(2, 3), f32(2, 3))
    with pytest.raises(ValueError, match="numpy.ascontiguousarray"):
        x = f32(4, 4)
        matmul(x[::-1, ::-1], x)
    with pytest.raises(RuntimeError, match="do not broadcast"):
        matmul(f32(2, 3, 4), f32(3, 4, 5))


def test_linear_fused(rng):
    x = make(rng, (64, 784), np.float32)
    w = make(rng, (128, 784), np.float32)
    b = make(rng, (128,), np.float32)
    got = linear_relu(x, w, b).numpy()  # one GEMM, bias and ReLU in its epilogue
    want = np.maximum(x.astype(np.float64) @ w.T.astype(np.float64) + b, 0)
    np.testing.assert_allclose(got, want, *tol_for(np.float32, 784))


# --- dispatch ------------------------------------------------------------------------------------

def test_cpu_info_and_isa_switch():
    info = firstepoch.cpu_info()
    assert info["isa"] in info["available"] and "scalar" in info["available"]
    assert info["threads"] >= 1
    before = _C.get_isa()
    try:
        for isa in info["available"]:
            _C.set_isa(isa)
            assert firstepoch.cpu_info()["isa"] == isa
            assert isa in firstepoch.cpu_info()["kernels"]["sgemm"]
    finally:
        _C.set_isa(before)
    with pytest.raises(ValueError, match="scalar, avx2, avx512"):
        _C.set_isa("sse9")
