"""_C.take_rows (csrc/kernels/data/gather.*), the DataLoader's row gather for TensorDataset batches,
against the reference (firstepoch.reference.data.take_rows, numpy's src[indices]): any dtype, 1-D to
4-D arrays, rows of one byte to over 16 KiB (the prefetch limit), 0, 1 and prime numbers of rows and
indices, negative and repeated indices; the errors numpy would raise, named; the same at every ISA (a
copy: one path) and from two Python threads at once."""
import threading

import numpy as np
import pytest

from firstepoch import _C
from firstepoch.data import DataLoader, Subset, TensorDataset
from firstepoch.reference import data as R


def take(src, idx):
    out = np.full((len(idx),) + src.shape[1:], 7, dtype=src.dtype)
    _C.take_rows(src, np.asarray(idx, dtype=np.int64), out)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_, np.complex64])
@pytest.mark.parametrize("shape", [(1,), (13,), (7, 1), (31, 784), (5, 3, 4), (3, 2, 3, 5), (4, 4100)])
def test_take_rows_matches_the_reference(isa, rng, dtype, shape):
    src = (rng.standard_normal(shape) * 50).astype(dtype)
    n = shape[0]
    for idx in ([0], list(range(n)), list(rng.integers(-n, n, 29)), [n - 1, -1, 0, 0, -n], []):
        got = take(src, idx)
        np.testing.assert_array_equal(got, R.take_rows(src, idx))
        np.testing.assert_array_equal(got, src[np.asarray(idx, dtype=np.int64)])


def test_take_rows_of_an_empty_source_and_of_empty_rows(isa):
    np.testing.assert_array_equal(take(np.zeros((0, 3)), []), np.zeros((0, 3)))
    assert take(np.zeros((4, 0)), [1, 2, 3]).shape == (3, 0)
    with pytest.raises(IndexError, match="index 0 is out of bounds for axis 0 with size 0"):
        take(np.zeros((0, 3)), [0])


def test_take_rows_errors_name_the_argument():
    src, out = np.arange(12.0).reshape(4, 3), np.full((2, 3), 5.0)
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 0 with size 4"):
        _C.take_rows(src, np.array([0, 4]), out)
    with pytest.raises(IndexError, match="index -5"):
        _C.take_rows(src, np.array([-5, 0]), out)
    with pytest.raises(TypeError, match="indices must be a 1-D int64 array"):
        _C.take_rows(src, np.array([0, 1], dtype=np.int32), out)
    with pytest.raises(TypeError, match="indices must be a 1-D int64 array"):
        _C.take_rows(src, np.array([[0, 1]]), out)
    with pytest.raises(TypeError, match="out has dtype float32, src has float64"):
        _C.take_rows(src, np.array([0, 1]), np.empty((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"out has shape \(3, 3\), expected 2 rows of src \(4, 3\)"):
        _C.take_rows(src, np.array([0, 1]), np.empty((3, 3)))
    with pytest.raises(ValueError, match="src with shape .* must be C-contiguous"):
        _C.take_rows(src[:, ::2], np.array([0, 1]), np.empty((2, 2)))
    with pytest.raises(ValueError, match="out is read-only"):
        ro = np.empty((2, 3))
        ro.flags.writeable = False
        _C.take_rows(src, np.array([0, 1]), ro)
    with pytest.raises(ValueError, match="out shares memory with src"):
        _C.take_rows(src, np.array([0, 1]), src[2:])
    with pytest.raises(ValueError, match=r"shape \(\)"):
        _C.take_rows(np.array(1.0), np.array([0]), np.empty(1))
    with pytest.raises(TypeError, match="dtype object"):
        _C.take_rows(np.array([None, 1], dtype=object), np.array([0]), np.empty(1, dtype=object))
    assert (out == 5.0).all()  # the index checks come before any row is copied


def test_take_rows_from_two_threads(rng):
    src = rng.standard_normal((4000, 784)).astype(np.float32)
    idx = [rng.integers(0, 4000, 64) for _ in range(2)]
    want = [src[i] for i in idx]
    bad = []

    def work(k):
        out = np.empty((64, 784), np.float32)
        for _ in range(200):
            _C.take_rows(src, idx[k], out)
            if not np.array_equal(out, want[k]):
                bad.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_tensor_dataset_batches_are_numpy_fancy_indexing(rng):
    x = rng.standard_normal((50, 3, 4)).astype(np.float32)
    y = rng.integers(0, 10, 50)
    strided = np.asfortranarray(rng.standard_normal((50, 6)))  # not C-contiguous: numpy's indexing
    ds = TensorDataset(x, y, strided)
    for idx in (np.array([3, -1, 7, 7], dtype=np.int64), np.array([1, 2], dtype=np.int32), [4, 0]):
        got = ds.batch(idx)
        for a, g in zip((x, y, strided), got):
            np.testing.assert_array_equal(g, a[np.asarray(idx)])
            assert g.dtype == a.dtype and not np.shares_memory(g, a)
    with pytest.raises(IndexError):
        ds.batch(np.array([50], dtype=np.int64))
    sub = Subset(ds, [5, 9, 11])
    np.testing.assert_array_equal(sub.batch(np.array([2, 0], dtype=np.int64))[0], x[[11, 5]])
    loader = DataLoader(ds, batch_size=16, shuffle=True, generator=3)
    seen = np.concatenate([yb.numpy() for _, yb, _ in loader])
    assert sorted(seen.tolist()) == sorted(y.tolist())
