"""The fused softmax / log-softmax / cross-entropy kernels against the NumPy reference at every ISA,
both dtypes, edge shapes, 1 vs 2 threads bitwise, extreme logits and bad inputs; losses vs PyTorch."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch import _C
from firstepoch import reference as R
from firstepoch.autograd import loss as L
from firstepoch.ops import softmax as S

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (1, 7), (5, 1), (13, 10), (64, 10), (3, 1000), (0, 4)]


def tol(dtype):
    return dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_forward_backward(isa, rng, dtype):
    for shape in SHAPES:
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        for log in (False, True):
            y = S.softmax(x, -1, log=log)
            want = R.log_softmax(x) if log else R.softmax(x)
            np.testing.assert_allclose(y, want, **tol(dtype))
            dx = S.softmax_backward(y, dy, -1, log=log)
            want_dx = R.log_softmax_backward(want, dy) if log else R.softmax_backward(want, dy)
            np.testing.assert_allclose(dx, want_dx, **tol(dtype))


def test_softmax_other_axis_and_non_contiguous(rng):
    x = rng.standard_normal((4, 5, 6))
    np.testing.assert_allclose(S.softmax(x, 1), R.softmax(x, axis=1), rtol=1e-12)
    v = x[:, ::2, :]
    np.testing.assert_allclose(S.softmax(v, -1), R.softmax(v, axis=-1), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_rows_and_backward(isa, rng, dtype, smoothing, weighted):
    for n, c in [(1, 1), (1, 5), (7, 3), (64, 10), (31, 97)]:
        z = (rng.standard_normal((n, c)) * 4).astype(dtype)
        tgt = rng.integers(0, c, n)
        if n > 2:
            tgt[1] = -100
        w = rng.uniform(0.5, 2, c).astype(dtype) if weighted else None
        loss, lse = S.cross_entropy_rows(z, tgt, w, -100, smoothing)
        np.testing.assert_allclose(loss, R.cross_entropy(z, tgt, w, -100, "none", smoothing), **tol(dtype))
        g = rng.standard_normal(n).astype(dtype)
        d = S.cross_entropy_backward(z, lse, tgt, g, w, -100, smoothing)
        want = R.cross_entropy_backward(z, tgt, w, -100, smoothing, g)
        np.testing.assert_allclose(d, want, **tol(dtype))


def test_extreme_logits_stay_finite(isa):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], np.float32)
    loss, lse = S.cross_entropy_rows(z, np.array([1, 2]))
    np.testing.assert_allclose(loss, [2e4, np.log(3)], rtol=1e-5)
    d = S.cross_entropy_backward(z, lse, np.array([1, 2]), np.ones(2, np.float32))
    assert np.isfinite(d).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_bitwise_equal(rng, dtype, threads):
    z = rng.standard_normal((4096, 37)).astype(dtype)
    tgt = rng.integers(0, 37, 4096)
    outs = []
    for n in (1, 2):
        fe.set_num_threads(n)
        loss, lse = S.cross_entropy_rows(z, tgt, None, -100, 0.1)
        y = S.softmax(z, -1)
        outs.append((loss, lse, y, S.cross_entropy_backward(z, lse, tgt, np.ones(4096, dtype), None, -100, 0.1)))
    for a, b in zip(*outs):
        assert np.array_equal(a, b)


def test_bad_inputs():
    z = np.zeros((3, 4), np.float32)
    loss, lse = np.empty(3, np.float32), np.empty(3, np.float32)
    with pytest.raises(IndexError, match=r"target\[1\] = 4 is out of range for 4 classes"):
        _C.cross_entropy_forward(z, np.array([0, 4, 1]), loss, lse)
    with pytest.raises(IndexError, match=r"target\[0\] = -1"):
        _C.cross_entropy_forward(z, np.array([-1, 0, 1]), loss, lse)
    with pytest.raises(TypeError, match="target must have dtype int64"):
        _C.cross_entropy_forward(z, np.array([0, 1, 1], np.int32), loss, lse)
    with pytest.raises(TypeError, match="logits must have dtype float32"):
        _C.cross_entropy_forward(z.astype(np.float16), np.array([0, 1, 1]), loss, lse)
    with pytest.raises(ValueError, match=r"target must have shape \(3,\)"):
        _C.cross_entropy_forward(z, np.array([0, 1]), loss, lse)
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.softmax_forward(np.zeros((4, 6), np.float32)[:, ::2], np.empty((4, 3), np.float32))
    with pytest.raises(ValueError, match="label_smoothing"):
        _C.cross_entropy_forward(z, np.array([0, 1, 1]), loss, lse, label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        L.cross_entropy(fe.tensor(z), np.array([0, 1, 1]), reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(rng, reduction):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF
    z = rng.standard_normal((6, 5))
    tgt = np.array([0, 4, -100, 2, 2, 1])
    w = rng.uniform(0.5, 2, 5)
    y = rng.standard_normal((6, 5))
    cases = [
        (lambda a: L.cross_entropy(a, tgt, weight=w, reduction=reduction, label_smoothing=0.1),
         lambda a: TF.cross_entropy(a, torch.tensor(tgt), weight=torch.tensor(w), reduction=reduction,
                                    label_smoothing=0.1)),
        (lambda a: L.nll_loss(a.log_softmax(-1), tgt, reduction=reduction),
         lambda a: TF.nll_loss(a.log_softmax(-1), torch.tensor(tgt), reduction=reduction)),
        (lambda a: L.mse_loss(a, fe.tensor(y), reduction), lambda a: TF.mse_loss(a, torch.tensor(y), reduction=reduction)),
        (lambda a: L.l1_loss(a, fe.tensor(y), reduction), lambda a: TF.l1_loss(a, torch.tensor(y), reduction=reduction)),
        (lambda a: L.binary_cross_entropy_with_logits(a, fe.tensor(1 / (1 + np.exp(-y))), reduction, 1.5),
         lambda a: TF.binary_cross_entropy_with_logits(a, torch.tensor(1 / (1 + np.exp(-y))), reduction=reduction,
                                                       pos_weight=torch.tensor(1.5, dtype=torch.float64))),
    ]
    for ours, theirs in cases:
        a = fe.tensor(z, requires_grad=True)
        out = ours(a)
        at = torch.tensor(z, requires_grad=True)
        ot = theirs(at)
        np.testing.assert_allclose(out.data, ot.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(out.shape)
        out.backward(g)
        ot.backward(torch.tensor(g))
        np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-9, atol=1e-12)
