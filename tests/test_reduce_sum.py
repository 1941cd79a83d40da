"""_C.reduce_sum (csrc/kernels/reduce/*), the sum of every element that Tensor.sum() and .mean() with no
dim run on a C-contiguous float array, against its NumPy twin firstepoch.reference.reduce.reduce_sum (the
same order, so the same bits) at every ISA level and in float32 and float64: lengths 0, 1, primes and
both sides of a lane row (64 float32, 32 float64) and of a block (2048); 1, 2, 3 and 7 threads giving
the same bits; NaN and infinities carried; its accuracy against an exact sum; the errors named."""
import math
import threading

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import _C
from firstepoch.reference import reduce as R

LENGTHS = [0, 1, 2, 7, 31, 32, 33, 63, 64, 65, 97, 2047, 2048, 2049, 4096, 6143, 6145, 65537, 200003]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduce_sum_matches_the_reference_bitwise(isa, rng, dtype):
    for n in LENGTHS:
        x = rng.standard_normal(n).astype(dtype)
        got = _C.reduce_sum(x)
        want = R.reduce_sum(x)
        assert want.dtype == dtype
        assert np.asarray(got, dtype=dtype).tobytes() == want.tobytes(), (n, got, want)
        assert np.asarray(got, dtype=dtype) == got  # a float32 sum comes back exactly
        np.testing.assert_allclose(got, math.fsum(x.astype(np.float64)), rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-4 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shape", [(), (3, 5), (2, 3, 4, 5), (4, 1, 2049), (0, 7)])
def test_reduce_sum_reads_every_element_of_any_shape_in_c_order(isa, rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    assert np.float32(_C.reduce_sum(x)) == R.reduce_sum(x)
    assert np.float32(_C.reduce_sum(x)) == R.reduce_sum(x.ravel())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduce_sum_is_the_same_for_any_thread_count(threads, rng, dtype):
    x = (rng.standard_normal(300_001) * 1e3).astype(dtype)  # 147 blocks: every count of threads splits them
    bits = set()
    for t in (1, 2, 3, 7):
        fe.set_num_threads(t)
        bits.add(np.asarray(_C.reduce_sum(x), dtype=dtype).tobytes())
    assert len(bits) == 1
    assert bits.pop() == R.reduce_sum(x).tobytes()


def test_reduce_sum_carries_nan_and_infinities(isa):
    for dtype in (np.float32, np.float64):
        x = np.ones(5000, dtype=dtype)
        x[4321] = np.inf
        assert _C.reduce_sum(x) == np.inf
        x[17] = -np.inf
        assert math.isnan(_C.reduce_sum(x))
        y = np.ones(3000, dtype=dtype)
        y[2999] = np.nan
        assert math.isnan(_C.reduce_sum(y))
        big = np.full(4096, np.finfo(dtype).max, dtype=dtype)
        assert _C.reduce_sum(big) == np.inf  # overflow to inf, as NumPy's sum


def test_reduce_sum_errors_name_the_argument():
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        _C.reduce_sum(np.arange(4))
    with pytest.raises(ValueError, match=r"x with shape \(4, 2\) must be C-contiguous"):
        _C.reduce_sum(np.ones((4, 4), np.float32)[:, ::2])
    with pytest.raises(ValueError, match="not aligned"):
        _C.reduce_sum(np.frombuffer(bytearray(17), dtype=np.float32, count=4, offset=1))
    with pytest.raises(TypeError):
        _C.reduce_sum([1.0, 2.0])  # no conversion of lists


def test_tensor_sum_and_mean_take_the_kernel_and_keep_the_dtype(rng):
    a = rng.standard_normal((64, 32, 9, 9)).astype(np.float32)
    x = fe.tensor(a, requires_grad=True)
    s = x.sum()
    assert s.shape == () and s.dtype == fe.float32
    assert s.detach().numpy().tobytes() == R.reduce_sum(a).tobytes()
    m = x.mean()
    assert m.detach().numpy() == np.float32(np.float64(R.reduce_sum(a)) / a.size)  # divided as NumPy's mean
    np.testing.assert_allclose(m.item(), a.astype(np.float64).mean(), rtol=1e-5)
    (s + m).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(a.shape, 1 + 1 / a.size, np.float32))
    # a strided view, an integer tensor and dim/keepdim keep NumPy's reductions
    v = fe.tensor(a)[:, :, ::2]
    np.testing.assert_allclose(v.sum().item(), a[:, :, ::2].astype(np.float64).sum(), rtol=1e-5)
    assert fe.tensor(np.arange(10)).sum().item() == 45
    assert x.sum(dim=None, keepdim=True).shape == (1, 1, 1, 1)
    assert math.isnan(fe.tensor(np.zeros(0, np.float32)).mean().item())
    assert fe.tensor(np.zeros((0, 3), np.float64)).sum().item() == 0.0


def test_reduce_sum_from_two_python_threads(rng):
    xs = [rng.standard_normal(400_000).astype(np.float32) for _ in range(2)]
    want = [R.reduce_sum(x).tobytes() for x in xs]
    got = [[], []]

    def work(i):
        for _ in range(20):
            got[i].append(np.float32(_C.reduce_sum(xs[i])).tobytes())

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert got[0] == [want[0]] * 20 and got[1] == [want[1]] * 20
