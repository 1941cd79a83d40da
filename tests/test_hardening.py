"""Inputs that used to be undefined behaviour or a dead process: an allocation bigger than memory, window
parameters whose size arithmetic overflows int64, unaligned arrays. Each is now a Python exception
raised before anything is allocated or read."""
import resource

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import _C
from firstepoch.nn import functional as F


def huge_conv(dtype=np.float32):
    # x 64 MiB and w 17 MiB, but the column matrix is (1024*65*65, 128*128): 280 GiB in float32
    x = np.zeros((1, 1024, 128, 128), dtype)
    w = np.zeros((1, 1024, 65, 65), dtype)
    y = np.empty((1, 1, 128, 128), dtype)
    return x, w, y


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_conv_whose_column_buffer_exceeds_memory_raises_before_allocating():
    x, w, y = huge_conv()
    before = rss_mib()
    with pytest.raises(MemoryError, match=r"conv2d: the column buffer .* would need 2\d\d GiB of scratch"):
        _C.conv2d_forward(x, w, None, y, (1, 1), (32, 32), (1, 1), 1)
    with pytest.raises(MemoryError, match="column buffer"):
        _C.conv2d_backward(x, w, y, np.empty_like(x), None, (1, 1), (32, 32), (1, 1), 1)
    with pytest.raises(MemoryError, match="column buffer"):
        F.conv2d(fe.tensor(x), fe.tensor(w), padding=32)
    assert rss_mib() - before < 256, "the huge buffer was touched before the error"


def test_window_parameters_that_would_overflow_int64_raise():
    x = np.zeros((1, 1, 4, 4), np.float32)
    w = np.zeros((1, 1, 3, 3), np.float32)
    y = np.empty((1, 1, 1, 1), np.float32)
    for kw in ({"s": (1, 1), "p": (2 ** 62, 0), "d": (1, 1)}, {"s": (1, 1), "p": (0, 0), "d": (2 ** 62, 1)},
               {"s": (2 ** 40, 1), "p": (0, 0), "d": (1, 1)}):
        with pytest.raises(ValueError, match="below 2\\*\\*31"):
            _C.conv2d_forward(x, w, None, y, kw["s"], kw["p"], kw["d"], 1)
    col = np.empty((9, 1), np.float32)
    with pytest.raises(ValueError, match="below 2\\*\\*31"):
        _C.im2col(x[0], col, (3, 3), (1, 1), (2 ** 62, 2 ** 62), (1, 1))
    y4, am = np.empty((1, 1, 1, 1), np.float32), np.empty((1, 1, 1, 1), np.int64)
    with pytest.raises(ValueError, match="below 2\\*\\*31"):  # 2 * padding overflowed in the pooling check
        _C.max_pool2d(x, y4, am, (2, 2), (1, 1), (2 ** 62, 0), (1, 1))
    with pytest.raises(ValueError, match="below 2\\*\\*31"):
        _C.avg_pool2d(x, y4, (2, 2), (1, 1), (0, 2 ** 62))
    # below the cap but with OH*OW*C*kh*kw beyond int64
    with pytest.raises(ValueError, match="more than 2\\*\\*63 elements"):
        _C.im2col(np.zeros((1024, 4, 4), np.float32), col, (3, 3), (1, 1), (2 ** 30, 2 ** 30), (1, 1))


def unaligned(shape, dtype=np.float32):
    buf = np.zeros(int(np.prod(shape)) * np.dtype(dtype).itemsize + 1, np.uint8)[1:]
    a = buf.view(dtype).reshape(shape)
    assert not a.flags.aligned
    return a


@pytest.mark.parametrize("which", ["x", "out"])
def test_unaligned_arrays_are_refused(which):
    x, out = np.ones((3, 5), np.float32), np.empty((3, 5), np.float32)
    if which == "x":
        x = unaligned((3, 5))
    else:
        out = unaligned((3, 5))
    with pytest.raises(ValueError, match=f"{which} with shape \\(3, 5\\) is not aligned to its 4-byte elements"):
        _C.softmax_forward(x, out)
    with pytest.raises(ValueError, match="not aligned"):
        _C.gemm(x, np.ones((5, 5), np.float32), out) if which == "x" else _C.gemm(
            np.ones((3, 5), np.float32), np.ones((5, 5), np.float32), out)


def test_unaligned_int64_targets_are_refused():
    logits = np.zeros((4, 3), np.float32)
    t = unaligned((4,), np.int64)
    with pytest.raises(ValueError, match="target .* is not aligned"):
        _C.cross_entropy_forward(logits, t, np.empty(4, np.float32), np.empty((2, 4), np.float32))
