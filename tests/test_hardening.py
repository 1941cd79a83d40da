"""Inputs that used to be undefined behaviour or a dead process: an allocation bigger than memory, window
parameters whose size arithmetic overflows int64, unaligned arrays. Each is now a Python exception
raised before anything is allocated or read."""
import resource

import warnings

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
        _C.max_pool2d_forward(x, y4, am, (2, 2), (1, 1), (2 ** 62, 0), (1, 1))
    with pytest.raises(ValueError, match="below 2\\*\\*31"):
        _C.avg_pool2d_forward(x, y4, (2, 2), (1, 1), (0, 2 ** 62))
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


# ---- empty batches: every kernel writes its outputs even when there is no work ---------------------------


def dirty_heap(dtype=np.float32):
    """Freed memory full of non-zero values, so an output a kernel forgot to write shows garbage."""
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.standard_normal((8, 16, 20, 20)).astype(dtype)
        F.conv2d(fe.tensor(x), fe.tensor(rng.standard_normal((16, 16, 3, 3)).astype(dtype))).sum()
        del x


def zero_grads(module):
    return {name: p.grad for name, p in module.named_parameters()}


@pytest.mark.parametrize("make, shape", [
    (lambda: fe.nn.Linear(3, 4), (0, 3)),
    (lambda: fe.nn.Conv2d(3, 4, 3, padding=1), (0, 3, 6, 6)),
    (lambda: fe.nn.Conv2d(4, 6, 3, groups=2, stride=2), (0, 4, 7, 7)),
    (lambda: fe.nn.BatchNorm1d(3), (0, 3)),
    (lambda: fe.nn.BatchNorm2d(3), (0, 3, 4, 4)),
])
def test_layers_on_an_empty_batch_give_zero_parameter_gradients(make, shape):
    """Forward and backward of a batch of 0, like PyTorch: an empty output, every parameter gradient
    exactly zero (not whatever memory the kernel found)."""
    for _ in range(3):
        dirty_heap()
        layer = make()
        x = fe.tensor(np.zeros(shape, np.float32), requires_grad=True)
        y = layer(x)
        assert y.shape[0] == 0
        y.sum().backward()
        for name, g in zero_grads(layer).items():
            assert g is not None, name
            np.testing.assert_array_equal(g, np.zeros_like(g), err_msg=name)
        assert x.grad.shape == shape


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recurrent_layers_on_an_empty_batch(cls, dtype):
    """A batch of 0 sequences (PyTorch accepts it): empty outputs and states, zero weight and bias
    gradients in both directions and every layer."""
    for _ in range(2):
        dirty_heap(dtype)
        layer = getattr(fe.nn, cls)(3, 4, num_layers=2, bidirectional=True, dtype=dtype)
        x = fe.tensor(np.zeros((5, 0, 3), dtype), requires_grad=True)
        out, state = layer(x)
        h = state[0] if cls == "LSTM" else state
        assert out.shape == (5, 0, 8) and h.shape == (4, 0, 4)
        (out.sum() + h.sum()).backward()
        for name, g in zero_grads(layer).items():
            assert g is not None, name
            np.testing.assert_array_equal(g, np.zeros_like(g), err_msg=name)
        assert x.grad.shape == (5, 0, 3)


def test_rnn_kernel_writes_zero_weight_gradients_for_an_empty_batch():
    for mode, G in (("rnn_tanh", 1), ("lstm", 4), ("gru", 3)):
        x = np.zeros((3, 0, 2), np.float32)
        w_ih, w_hh = np.ones((G * 5, 2), np.float32), np.ones((G * 5, 5), np.float32)
        h0 = np.zeros((0, 5), np.float32)
        lstm = mode == "lstm"
        out = np.empty((3 + (2 if lstm else 1), 0, 5), np.float32)
        workspace = np.empty(_C.rnn_workspace_size(mode, 3, 0, 5), np.float32)
        _C.rnn_forward(x, w_ih, w_hh, None, None, h0, h0 if lstm else None, out, workspace, mode)
        dx, dh0, dc0 = np.empty((3, 0, 2), np.float32), np.empty((0, 5), np.float32), np.empty((0, 5), np.float32)
        dw_ih, dw_hh = np.full_like(w_ih, np.nan), np.full_like(w_hh, np.nan)  # to be overwritten with zeros
        db_ih, db_hh = np.full(G * 5, np.nan, np.float32), np.full(G * 5, np.nan, np.float32)
        _C.rnn_backward(x, w_ih, w_hh, out, workspace, np.zeros_like(out), dx, dh0, dc0 if lstm else None, dw_ih,
                        dw_hh, db_ih, db_hh, mode)
        for g in (dw_ih, dw_hh, db_ih, db_hh):
            np.testing.assert_array_equal(g, np.zeros_like(g))


def test_every_kernel_writes_its_outputs_at_each_zero_size(isa):
    """The audit of the contract "a kernel writes every output element even when there is no work":
    each _C entry with an overwritten output, one size at a time set to 0 (where that is legal), the
    outputs prefilled with NaN. Where the reduction is empty the result is the empty sum (0), plus
    the bias where there is one; what padding alone covers is the padding's value."""
    f = np.float32

    def nan(*s):
        return np.full(s, np.nan, f)

    def ones(*s):
        return np.ones(s, f)

    for M, N, K in [(0, 3, 2), (3, 0, 2), (3, 4, 0)]:  # K = 0: out = beta * out + bias = bias
        out = nan(M, N)
        _C.gemm(ones(M, K), ones(K, N), out, bias=np.arange(N, dtype=f))
        np.testing.assert_array_equal(out, np.broadcast_to(np.arange(N, dtype=f), (M, N)))
    # conv2d: empty batch, no input channels, no output channels, an empty image seen only as padding
    for x, w, p in [(ones(0, 2, 5, 5), ones(3, 2, 3, 3), (0, 0)), (ones(2, 0, 5, 5), ones(3, 0, 3, 3), (0, 0)),
                    (ones(2, 2, 5, 5), ones(0, 2, 3, 3), (0, 0)), (ones(2, 2, 0, 5), ones(3, 2, 1, 1), (1, 1))]:
        OH, OW = x.shape[2] + 2 * p[0] - w.shape[2] + 1, x.shape[3] + 2 * p[1] - w.shape[3] + 1
        y = nan(x.shape[0], w.shape[0], OH, OW)
        bias = np.arange(w.shape[0], dtype=f)
        _C.conv2d_forward(x, w, bias, y, (1, 1), p, (1, 1), 1)
        want = np.broadcast_to(bias[None, :, None, None], y.shape) if w.shape[1] == 0 or x.shape[2] == 0 else y
        np.testing.assert_array_equal(y, want)
        assert not np.isnan(y).any()
        dx, dw = nan(*x.shape), nan(*w.shape)
        _C.conv2d_backward(x, w, ones(*y.shape), dx, dw, (1, 1), p, (1, 1), 1)
        np.testing.assert_array_equal(dw, np.zeros_like(dw) if x.shape[0] == 0 or x.shape[2] == 0 else dw)
        np.testing.assert_array_equal(dx, np.zeros_like(dx) if w.shape[0] == 0 else dx)
        assert not np.isnan(dx).any() and not np.isnan(dw).any()
    col = nan(18, 2)
    _C.im2col(ones(2, 0, 1), col, (3, 3), (1, 1), (2, 1), (1, 1))  # every window on padding only
    np.testing.assert_array_equal(col, 0)
    y, am = nan(1, 2, 1, 3), np.full((1, 2, 1, 3), 7, np.int64)
    _C.max_pool2d_forward(ones(1, 2, 0, 2), y, am, (2, 2), (2, 1), (1, 1), (1, 1))
    np.testing.assert_array_equal(y, -np.inf)
    np.testing.assert_array_equal(am, -1)
    y = nan(1, 2, 1, 3)
    _C.avg_pool2d_forward(ones(1, 2, 0, 2), y, (2, 2), (2, 1), (1, 1))
    np.testing.assert_array_equal(y, 0)
    for shape in [(0, 3, 4), (2, 3, 0)]:  # batch norm's parameter gradients: sums over no values
        dg, db = nan(3), nan(3)
        _C.batch_norm_backward(nan(*shape), nan(*shape), ones(3), ones(3), ones(3), nan(*shape), dg, db, True)
        np.testing.assert_array_equal(dg, 0)
        np.testing.assert_array_equal(db, 0)


def test_losses_and_softmax_over_an_empty_batch_follow_pytorch():
    """PyTorch: the mean cross-entropy of no rows is nan (0 / 0), the sum 0, 'none' an empty vector;
    the gradient is empty. Softmax of no rows is no rows."""
    for reduction, want in (("mean", np.nan), ("sum", 0.0)):
        x = fe.tensor(np.zeros((0, 5), np.float32), requires_grad=True)
        loss = F.cross_entropy(x, np.zeros(0, np.int64), reduction=reduction)
        np.testing.assert_array_equal(loss.item(), want)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no divide-by-zero warning from the 0 / 0 of the mean
            loss.backward()
        assert x.grad.shape == (0, 5)
    # every target ignored: the mean is nan, and the gradient zeros (ignored rows get none), as PyTorch
    x = fe.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    loss = F.cross_entropy(x, np.array([-100, -100]))
    assert np.isnan(loss.item())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss.backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3), np.float32))
    assert F.cross_entropy(fe.zeros(0, 5), np.zeros(0, np.int64), reduction="none").shape == (0,)
    x = fe.tensor(np.zeros((0, 5), np.float32), requires_grad=True)
    F.log_softmax(x, dim=1).sum().backward()
    assert x.grad.shape == (0, 5)


def test_means_and_losses_over_nothing_are_nan_without_warnings():
    """PyTorch: the mean of no elements is nan, silently; the gradient is empty (or zeros for ignored rows)."""
    import firstepoch.nn as nn
    cases = [lambda x: x.mean(), lambda x: x.mean(dim=0), lambda x: F.mse_loss(x, fe.zeros(0, 3)),
             lambda x: nn.L1Loss()(x, fe.zeros(0, 3)), lambda x: F.nll_loss(x, np.zeros(0, np.int64)),
             lambda x: F.binary_cross_entropy_with_logits(x, fe.zeros(0, 3))]
    for fn in cases:
        x = fe.tensor(np.zeros((0, 3), np.float32), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = fn(x)
            assert np.all(np.isnan(loss._data)) and loss._data.dtype == np.float32
            loss.sum().backward()
        assert x.grad.shape == (0, 3)
    x = fe.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.nll_loss(x, np.array([-100, -100]))
        loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3), np.float32))


def test_pool_backward_refuses_dx_over_argmax():
    """dx's writes would change argmax indices the kernel has not read yet (it wrote out of bounds)."""
    buf = np.zeros(64, np.int64)
    dx = buf[32:64].view(np.float64).reshape(1, 2, 4, 4)
    argmax = buf[28:36].reshape(1, 2, 2, 2)
    dy = np.ones((1, 2, 2, 2))
    with pytest.raises(ValueError, match="dx shares memory with argmax"):
        _C.max_pool2d_backward(dy, argmax, dx, (2, 2), (2, 2), (0, 0), (1, 1))


def test_optional_outputs_must_be_arrays_not_lists():
    """A list given as an output was copied into a temporary the kernel wrote and the caller never saw."""
    x = np.ones((1, 1, 4, 4))
    w = np.ones((1, 1, 3, 3))
    dy = np.ones((1, 1, 2, 2))
    with pytest.raises(TypeError, match="dx must be a numpy array or None, got <class 'list'>"):
        _C.conv2d_backward(x, w, dy, np.zeros((1, 1, 4, 4)).tolist(), None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(TypeError, match="buf must be a numpy array or None"):
        _C.sgd_update(np.ones(3), np.ones(3), [0.0, 0.0, 0.0], lr=0.1, momentum=0.9)
