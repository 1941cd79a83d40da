"""Batch norm: the fused kernels against the NumPy reference at every ISA and both dtypes, running
statistics, evaluation mode, state dicts, thread invariance, PyTorch's numbers when importable."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch.reference import norm as R


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_forward_matches_reference(isa, rng, dtype):
    for shape in [(4, 3), (2, 5, 7), (3, 4, 5, 6), (1, 2, 1, 3), (17, 1)]:
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        g = rng.standard_normal(shape[1]).astype(dtype)
        b = rng.standard_normal(shape[1]).astype(dtype)
        X, G, B = (fe.tensor(a, requires_grad=True) for a in (x, g, b))
        y = fe.nn.functional.batch_norm(X, weight=G, bias=B, training=True)
        want, mean, invstd, _ = R.batch_norm_forward(x, g, b)
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(y._data, want, **tol)
        dy = rng.standard_normal(shape).astype(dtype)
        y.backward(dy)
        dx, dg, db = R.batch_norm_backward(dy, x, g, mean, invstd)
        for got, ref in ((X.grad, dx), (G.grad, dg), (B.grad, db)):
            np.testing.assert_allclose(got, ref, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_eval_matches_reference(isa, rng, dtype):
    """Evaluation mode, forward and backward (the statistics constants), against the reference twins."""
    x = rng.standard_normal((4, 3, 5)).astype(dtype)
    g, b, rm = (rng.standard_normal(3).astype(dtype) for _ in range(3))
    rv = rng.uniform(0.5, 2, 3).astype(dtype)
    X, G, B = (fe.tensor(a, requires_grad=True) for a in (x, g, b))
    y = fe.nn.functional.batch_norm(X, rm, rv, weight=G, bias=B, training=False)
    invstd = (1 / np.sqrt(rv + 1e-5)).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y._data, R.batch_norm_eval_forward(x, g, b, rm, invstd), **tol)
    dy = rng.standard_normal(x.shape).astype(dtype)
    y.backward(dy)
    for got, ref in zip((X.grad, G.grad, B.grad), R.batch_norm_backward(dy, x, g, rm, invstd, training=False)):
        np.testing.assert_allclose(got, ref, **tol)


def test_module_running_stats_eval_and_state_dict(rng):
    bn = nn.BatchNorm2d(3, momentum=0.2)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32) * 2 + 3
    bn(fe.tensor(x))
    m = x.mean(axis=(0, 2, 3))
    v = x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean, 0.2 * m, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, 0.8 + 0.2 * v, rtol=1e-5)
    assert int(bn.num_batches_tracked) == 1
    sd = bn.state_dict()
    assert set(sd) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    bn.eval()
    y = bn(fe.tensor(x)).data
    want = (x - bn.running_mean[None, :, None, None]) / np.sqrt(bn.running_var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    other = nn.BatchNorm2d(3)
    other.load_state_dict(sd)
    np.testing.assert_array_equal(other.running_var, bn.running_var)
    with pytest.raises(RuntimeError, match=r"expected input with 3 channels, got \(4, 2, 5, 5\)"):  # as torch
        bn(fe.zeros(4, 2, 5, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(fe.zeros(1, 3))


@pytest.mark.parametrize("shape", [(32, 16, 24, 24), (4096, 64), (3, 8, 5000)])
def test_threads_bitwise(rng, threads, shape):
    """Channels split over threads, each channel's sums in a fixed order: 1, 2, 3 and 7 threads give the
    same bits (images, features, runs longer than a statistics chunk)."""
    x = (rng.standard_normal(shape) * 2 + 5).astype(np.float32)
    outs = []
    for n in (1, 2, 3, 7):
        fe.set_num_threads(n)
        X = fe.tensor(x, requires_grad=True)
        y = fe.nn.functional.batch_norm(X, training=True)
        (y * y).sum().backward()
        outs.append((y._data, X.grad))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mean", [1e3, 1e4, 1e5])
def test_large_mean_keeps_the_precision_of_the_dtype(isa, rng, dtype, mean):
    """Data far from zero (mean 1e3-1e5, std 1) against the float64 reference of the same values, at the
    usual tolerances: statistics, output and gradients (given the saved statistics). Runs of every kind:
    shorter than 16 (features), image rows, and longer than one statistics chunk (2048 values)."""
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for shape in [(64, 3), (16, 3, 7, 9), (2, 3, 4099)]:
        x = (rng.standard_normal(shape) + mean * np.array([1, -1, 0.5]).reshape((1, 3) + (1,) * (len(shape) - 2)))
        x = x.astype(dtype)
        g, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
        X, G, B = (fe.tensor(a, requires_grad=True) for a in (x, g, b))
        y = fe.nn.functional.batch_norm(X, weight=G, bias=B, training=True)
        x64, g64, b64 = (a.astype(np.float64) for a in (x, g, b))
        want, m64, s64, _ = R.batch_norm_forward(x64, g64, b64)
        np.testing.assert_allclose(y._data, want, **tol, err_msg=f"{shape}")
        y3, m, s = np.empty(x.shape, dtype).reshape(shape[0], 3, -1), np.empty(3, dtype), np.empty(3, dtype)
        fe._C.batch_norm_forward(x.reshape(y3.shape), None, None, y3, m, s, None, 1e-5)
        np.testing.assert_allclose(m, m64, rtol=1e-7 if dtype == np.float32 else 1e-14)
        np.testing.assert_allclose(s, s64, rtol=1e-5 if dtype == np.float32 else 1e-10)
        dy = rng.standard_normal(shape).astype(dtype)
        y.backward(dy)
        dx, dg, db = R.batch_norm_backward(dy.astype(np.float64), x64, g64, m.astype(np.float64),
                                           s.astype(np.float64))
        for got, ref in ((X.grad, dx), (G.grad, dg), (B.grad, db)):
            np.testing.assert_allclose(got, ref, **tol, err_msg=f"{shape}")


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    tbn = torch.nn.BatchNorm2d(4).double()
    ours = nn.BatchNorm2d(4, dtype=np.float64)
    x = rng.standard_normal((3, 4, 5, 5))
    for _ in range(3):
        yt = tbn(torch.tensor(x))
        y = ours(fe.tensor(x))
    np.testing.assert_allclose(y._data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.running_var, tbn.running_var.numpy(), rtol=1e-12)
    tbn.eval()
    ours.eval()
    np.testing.assert_allclose(ours(fe.tensor(x)).data, tbn(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", [1e19, 1e-19])
def test_float32_statistics_do_not_overflow_or_underflow(isa, rng, scale):
    """Values of magnitude 1e19 square to 1e38 (a sum of them overflows float32), 1e-19 to 1e-38
    (float32's underflow): the statistics are accumulated in double, so the output is the
    standardised input and the running statistics are finite and right."""
    x64 = rng.standard_normal((64, 3, 5)) * scale + scale * np.array([0.5, -2.0, 0.0])[None, :, None]
    x = x64.astype(np.float32)
    eps = 1e-5 * min(1.0, scale ** 2)  # for 1e-19: 1e-43, a float32 denormal, far below the variance
    want, mean, invstd, var = R.batch_norm_forward(x.astype(np.float64), eps=eps)
    bn = nn.BatchNorm1d(3, eps=eps)
    X = fe.tensor(x, requires_grad=True)
    y = bn(X)
    assert np.all(np.isfinite(y._data))
    np.testing.assert_allclose(y._data, want, rtol=1e-4, atol=1e-4)
    assert np.abs(y._data).max() > 1  # standardised values, not zeros
    np.testing.assert_allclose(bn.running_mean, 0.1 * mean, rtol=1e-5, atol=0)
    n = x.size // 3
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * var * n / (n - 1), rtol=1e-5)
    assert np.all(np.isfinite(bn.running_var))
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y.backward(dy)
    dx, dg, db = R.batch_norm_backward(dy.astype(np.float64), x.astype(np.float64), None, mean, invstd)
    np.testing.assert_allclose(X.grad, dx, rtol=1e-3, atol=1e-3 * np.abs(dx).max())
    np.testing.assert_allclose(bn.weight.grad, dg, rtol=1e-4, atol=1e-3)


def test_float32_extremes_near_float_max(isa):
    """Values near float32's largest: x - mean and its square overflow float32; the output is still +-1."""
    x = np.array([[3e38], [-3e38], [3e38], [-3e38]], np.float32).reshape(4, 1)
    y = fe.nn.functional.batch_norm(fe.tensor(x), training=True).data
    np.testing.assert_allclose(y, [[1], [-1], [1], [-1]], rtol=1e-5)


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (2, 3, 0), (0, 3, 5, 5)])
def test_empty_batch_like_pytorch(rng, shape):
    """An input with no values gives an empty output in training and in evaluation (PyTorch returns one
    too, not an error), leaves the running statistics alone and gives zero parameter gradients."""
    cls = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
    for training in (True, False):
        bn = cls(3)
        bn.weight._data[...] = rng.standard_normal(3)
        bn.train(training)
        X = fe.tensor(np.zeros(shape, np.float32), requires_grad=True)
        y = bn(X)
        assert y.shape == shape
        y.sum().backward()
        np.testing.assert_array_equal(bn.weight.grad, np.zeros(3, np.float32))
        np.testing.assert_array_equal(bn.bias.grad, np.zeros(3, np.float32))
        assert X.grad.shape == shape
        np.testing.assert_array_equal(bn.running_mean, np.zeros(3, np.float32))
        np.testing.assert_array_equal(bn.running_var, np.ones(3, np.float32))


def test_one_value_per_channel_in_training_names_the_input_size():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"\(1, 3\)"):
        nn.BatchNorm1d(3)(fe.zeros(1, 3))
    with pytest.raises(ValueError, match=r"got input size \(1, 3, 1, 1\)"):
        nn.BatchNorm2d(3)(fe.zeros(1, 3, 1, 1))
    bn = nn.BatchNorm1d(3)
    bn.eval()
    assert bn(fe.zeros(1, 3)).shape == (1, 3)  # evaluation uses the running statistics: one value is fine


def test_kernel_writes_the_batch_variance(rng):
    x = (rng.standard_normal((7, 4, 3)) * 3).astype(np.float32)
    y, mean, invstd, var = (np.empty_like(x),) + tuple(np.full(4, np.nan, np.float32) for _ in range(3))
    fe._C.batch_norm_forward(x, None, None, y, mean, invstd, var, 1e-5)
    _, m, _, v = R.batch_norm_forward(x.astype(np.float64))
    np.testing.assert_allclose(var, v, rtol=1e-6)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(v + 1e-5), rtol=1e-6)
