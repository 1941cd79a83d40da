"""Batch norm: the fused kernels against the NumPy reference at every ISA and both dtypes, running
statistics, evaluation mode, state dicts, thread invariance, PyTorch's numbers when importable."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
from firstepoch.reference import norm as R


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_train_matches_reference(isa, rng, dtype):
    for shape in [(4, 3), (2, 5, 7), (3, 4, 5, 6), (1, 2, 1, 3), (17, 1)]:
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        g = rng.standard_normal(shape[1]).astype(dtype)
        b = rng.standard_normal(shape[1]).astype(dtype)
        X, G, B = (fe.tensor(a, requires_grad=True) for a in (x, g, b))
        y = fe.nn.functional.batch_norm(X, weight=G, bias=B, training=True)
        want, _, _ = R.batch_norm(x, g, b)
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(y.data, want, **tol)
        dy = rng.standard_normal(shape).astype(dtype)
        y.backward(dy)
        dx, dg, db = R.batch_norm_backward(dy, x, g)
        for got, ref in ((X.grad, dx), (G.grad, dg), (B.grad, db)):
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
    with pytest.raises(ValueError, match=r"expected input of 4 .* with 3 channels, got \(4, 2, 5, 5\)"):
        bn(fe.zeros(4, 2, 5, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(fe.zeros(1, 3))


def test_threads_bitwise(rng, threads):
    x = rng.standard_normal((32, 16, 12, 12)).astype(np.float32)
    outs = []
    for n in (1, 2):
        fe.set_num_threads(n)
        X = fe.tensor(x, requires_grad=True)
        y = fe.nn.functional.batch_norm(X, training=True)
        (y * y).sum().backward()
        outs.append((y.data, X.grad))
    for a, b in zip(*outs):
        assert np.array_equal(a, b)


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    tbn = torch.nn.BatchNorm2d(4).double()
    ours = nn.BatchNorm2d(4, dtype=np.float64)
    x = rng.standard_normal((3, 4, 5, 5))
    for _ in range(3):
        yt = tbn(torch.tensor(x))
        y = ours(fe.tensor(x))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.running_var, tbn.running_var.numpy(), rtol=1e-12)
    tbn.eval()
    ours.eval()
    np.testing.assert_allclose(ours(fe.tensor(x)).data, tbn(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
