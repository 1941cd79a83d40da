"""The fused softmax / log-softmax / cross-entropy kernels against the NumPy reference at every ISA,
both dtypes, edge shapes, 1 vs 2 threads bitwise, extreme logits, in-place use and bad inputs; the
autograd softmax / log_softmax. (The loss functions are tested in test_losses.py.)"""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch import _C
from firstepoch.ops import loss as L
from firstepoch.ops import softmax as S
from firstepoch.reference import loss as RL
from firstepoch.reference import softmax as R

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (1, 7), (5, 1), (13, 10), (64, 10), (3, 1000), (0, 4)]


def fwd(x, dim=-1, log=False):
    return (S.log_softmax_forward if log else S.softmax_forward)(x, dim)


def bwd(y, dy, dim=-1, log=False):
    return (S.log_softmax_backward if log else S.softmax_backward)(y, dy, dim)


def tol(dtype):
    return dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_forward_backward(isa, rng, dtype):
    for shape in SHAPES:
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        for log in (False, True):
            y = fwd(x, -1, log=log)
            want = R.log_softmax_forward(x) if log else R.softmax_forward(x)
            np.testing.assert_allclose(y, want, **tol(dtype))
            dx = bwd(y, dy, -1, log=log)
            want_dx = R.log_softmax_backward(want, dy) if log else R.softmax_backward(want, dy)
            np.testing.assert_allclose(dx, want_dx, **tol(dtype))


def test_softmax_every_axis_and_non_contiguous(rng):
    x = rng.standard_normal((4, 5, 6))
    dy = rng.standard_normal((4, 5, 6))
    for dim in (0, 1, 2, -1, -3):
        for log in (False, True):
            y = fwd(x, dim, log=log)
            want = R.log_softmax_forward(x, dim=dim) if log else R.softmax_forward(x, dim=dim)
            np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-15)
            back = R.log_softmax_backward if log else R.softmax_backward
            np.testing.assert_allclose(bwd(y, dy, dim, log=log), back(want, dy, dim=dim),
                                       rtol=1e-11, atol=1e-14)
    v = x[:, ::2, :]
    np.testing.assert_allclose(fwd(v, -1), R.softmax_forward(v, dim=-1), rtol=1e-12)
    np.testing.assert_allclose(S.log_softmax_forward(x.T, 0), R.log_softmax_forward(x.T, dim=0), rtol=1e-12)
    assert fwd(np.zeros((3, 0)), -1).shape == (3, 0)
    assert fwd(np.zeros((0, 3, 2), np.float32), 1).shape == (0, 3, 2)


def test_in_place_is_exact_and_partial_overlap_is_refused(isa, rng):
    x = rng.standard_normal((9, 40))
    for log in (False, True):
        y = x.copy()
        _C.softmax_forward(y, y, log=log)
        assert np.array_equal(y, fwd(x, -1, log=log))
        dy = rng.standard_normal(x.shape)
        want = bwd(y, dy, -1, log=log)
        _C.softmax_backward(y, dy, dy, log=log)  # dx written over dy
        assert np.array_equal(dy, want)
    z = x.copy()
    with pytest.raises(ValueError, match="out shares memory with x"):
        _C.softmax_forward(z[1:], z[:-1])
    with pytest.raises(ValueError, match="dx shares memory with y"):
        _C.softmax_backward(z, np.ones_like(z), z)
    with pytest.raises(ValueError, match="dx shares memory with dy"):
        _C.softmax_backward(x[1:], z[1:], z[:-1])
    logits = np.zeros((4, 4))
    with pytest.raises(ValueError, match="loss shares memory with logits"):
        _C.cross_entropy_forward(logits, np.zeros(4, np.int64), logits[0], np.empty((2, 4)))
    with pytest.raises(ValueError, match="stats shares memory with logits"):
        _C.cross_entropy_forward(logits, np.zeros(4, np.int64), np.empty(4), logits[:2])
    buf = np.zeros(8)  # stats (2, 2) and dlogits (2, 2) sharing two elements
    with pytest.raises(ValueError, match="dlogits shares memory with stats"):
        _C.cross_entropy_backward(np.ones((2, 2)), buf[:4].reshape(2, 2), np.zeros(2, np.int64), np.ones(2),
                                  buf[2:6].reshape(2, 2))


def test_float_exp_over_its_whole_range(isa):
    # log-softmax backward of rows y = (x, 0) with dy = (0, 1) gives dx[:, 0] = -exp(x): the kernels'
    # float exp over the whole range, subnormal results included (they underflow gradually, not clamped).
    x = np.concatenate([np.linspace(-110, 88.5, 20001), [-np.inf, np.nan, -1e4]]).astype(np.float32)
    y = np.stack([x, np.zeros_like(x)], 1)
    dy = np.zeros_like(y)
    dy[:, 1] = 1
    e = -bwd(y, dy, -1, log=True)[:, 0].astype(np.float64)
    want = np.exp(x.astype(np.float64))
    tiny = np.finfo(np.float32).tiny
    normal = want >= tiny
    assert np.abs(e[normal] / want[normal] - 1).max() < 3e-7
    assert np.abs(e[~normal] - want[~normal])[:-3].max() <= 2 * 2.0 ** -149  # two subnormal steps
    assert e[-3] == 0 and np.isnan(e[-2]) and e[-1] == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_extreme_logits(isa, dtype):
    x = np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4 - 1, 1e4 - 2, -1e4]], dtype)
    p = fwd(x)
    logp = S.log_softmax_forward(x)
    assert np.isfinite(p).all() and np.isfinite(logp).all()
    np.testing.assert_allclose(p, R.softmax_forward(x.astype(np.float64)), rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(logp, R.log_softmax_forward(x.astype(np.float64)), rtol=1e-6)
    assert logp[0, 0] == -np.log(dtype(2))  # exact at the max: the max and the log-sum are kept apart


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
        loss, lse = L.cross_entropy_forward(z, tgt, w, -100, smoothing)
        want_loss, want_stats = RL.cross_entropy_forward(z, tgt, w, -100, smoothing)
        np.testing.assert_allclose(loss, want_loss, **tol(dtype))
        np.testing.assert_allclose(lse, want_stats, **tol(dtype))
        g = rng.standard_normal(n).astype(dtype)
        d = L.cross_entropy_backward(z, lse, tgt, g, w, -100, smoothing)
        want = RL.cross_entropy_backward(z, want_stats, tgt, g, w, -100, smoothing)
        np.testing.assert_allclose(d, want, **tol(dtype))


def test_extreme_logits_stay_finite(isa):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], np.float32)
    loss, lse = L.cross_entropy_forward(z, np.array([1, 2]))
    np.testing.assert_allclose(loss, [2e4, np.log(3)], rtol=1e-5)
    d = L.cross_entropy_backward(z, lse, np.array([1, 2]), np.ones(2, np.float32))
    assert np.isfinite(d).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_bitwise_equal(rng, dtype, threads):
    z = rng.standard_normal((4096, 37)).astype(dtype)
    tgt = rng.integers(0, 37, 4096)
    outs = []
    for n in (1, 2):
        fe.set_num_threads(n)
        loss, lse = L.cross_entropy_forward(z, tgt, None, -100, 0.1)
        y = fwd(z, -1)
        logy = S.log_softmax_forward(z, -1)
        dy = bwd(y, z, -1)
        dlogy = bwd(logy, z, -1, log=True)
        w = np.linspace(0.5, 2, 37).astype(dtype)
        wl, ws = L.cross_entropy_forward(z, tgt, w, -100, 0.0)
        outs.append((loss, lse, y, logy, dy, dlogy, wl, ws,
                     L.cross_entropy_backward(z, lse, tgt, np.ones(4096, dtype), None, -100, 0.1)))
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
    with pytest.raises(ValueError, match=r"no classes"):
        _C.cross_entropy_forward(np.zeros((3, 0), np.float32), np.zeros(3, np.int64), loss, lse)
    with pytest.raises(TypeError, match="out must have dtype float32"):
        _C.softmax_forward(z, np.empty((3, 4), np.float64))
    with pytest.raises(ValueError, match=r"out must have the shape of x \(3, 4\), got \(4, 3\)"):
        _C.softmax_forward(z, np.empty((4, 3), np.float32))
    with pytest.raises(ValueError, match="x must be 2-D"):
        _C.softmax_forward(np.zeros(4, np.float32), np.empty(4, np.float32))
    with pytest.raises(ValueError, match="out is read-only"):
        ro = np.empty((3, 4), np.float32)
        ro.flags.writeable = False
        _C.softmax_forward(z, ro)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        _C.cross_entropy_forward(z, np.array([0, 1, 1]), loss, np.empty((2, 3), np.float32),
                                 weight=np.ones(3, np.float32))
    with pytest.raises(TypeError, match="weight must have dtype float32"):
        _C.cross_entropy_forward(z, np.array([0, 1, 1]), loss, np.empty((2, 3), np.float32),
                                 weight=np.ones(4, np.float64))
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        fwd(z, 2)
    with pytest.raises(TypeError, match="dim must be an int"):
        fwd(z, 1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        fwd(np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match="0-d"):
        fwd(np.array(1.0))


def test_autograd_softmax_and_log_softmax(rng):
    from firstepoch.ops.softmax import log_softmax, softmax
    x = rng.standard_normal((3, 4, 5))
    g = rng.standard_normal((3, 4, 5))
    for fn, ref, back in ((softmax, R.softmax_forward, R.softmax_backward),
                          (log_softmax, R.log_softmax_forward, R.log_softmax_backward)):
        for dim in (-1, 1, 0):
            a = fe.tensor(x, requires_grad=True)
            out = fn(a, dim=dim)
            want = ref(x, dim=dim)
            np.testing.assert_allclose(out._data, want, rtol=1e-12, atol=1e-15)
            out.backward(g)
            np.testing.assert_allclose(a.grad, back(want, g, dim=dim), rtol=1e-11, atol=1e-14)
    a = fe.tensor(x.astype(np.float32), requires_grad=True)
    out = log_softmax(a)
    out.backward(np.ones_like(out._data))
    assert out.dtype == np.float32 and a.grad.dtype == np.float32


def test_autograd_softmax_matches_torch(rng):
    torch = pytest.importorskip("torch")
    from firstepoch.ops.softmax import log_softmax, softmax
    x = rng.standard_normal((4, 6)) * 5
    g = rng.standard_normal((4, 6))
    for ours, theirs in ((softmax, torch.softmax), (log_softmax, torch.log_softmax)):
        for dim in (0, 1):
            a, at = fe.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            out, ot = ours(a, dim), theirs(at, dim)
            out.backward(g)
            ot.backward(torch.tensor(g))
            np.testing.assert_allclose(out._data, ot.detach().numpy(), rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-10, atol=1e-14)
