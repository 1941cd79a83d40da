"""Porting surface: the remaining torch.nn losses: ctc_loss / CTCLoss, multilabel_margin_loss /
MultiLabelMarginLoss and triplet_margin_with_distance_loss / TripletMarginWithDistanceLoss. Hard-coded
values (checked by hand and with torch 2.13) and float64 gradchecks run everywhere; where torch is
installed the same calls are compared with it: values, dtypes, gradients and error classes."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.autograd import gradcheck

# One sample, T = 3 frames over C = 3 classes (blank 0), target "1 2": five alignments, total
# probability .018 + .024 + .12 + .072 + .024 = .258.
PROBS = [[[0.5, 0.3, 0.2]], [[0.2, 0.6, 0.2]], [[0.3, 0.3, 0.4]]]
CTC_GRAD = [[[0.034883720930232676, -0.2348837209302324, 0.2]],
            [[0.10697674418604645, -0.1441860465116278, 0.03720930232558134]],
            [[0.23023255813953486, 0.3, -0.5302325581395347]]]


def _log_probs(rng, shape, dtype=np.float64):
    x = rng.standard_normal(shape)
    return (x - np.log(np.exp(x).sum(-1, keepdims=True))).astype(dtype)


# ---- ctc_loss without torch ----------------------------------------------------------------------------

def test_ctc_value_and_torch_gradient_hard_coded():
    lp = fe.tensor(np.log(np.array(PROBS)), requires_grad=True)
    loss = F.ctc_loss(lp, fe.tensor([[1, 2]]), [3], [2], reduction="sum")
    assert loss.item() == pytest.approx(-np.log(0.258), rel=1e-12)
    loss.backward()
    # torch's gradient: the derivative plus exp(log_probs) (its formula assumes a log_softmax before it)
    np.testing.assert_allclose(lp.grad.detach().numpy(), CTC_GRAD, atol=1e-12)


def test_ctc_reductions_lengths_and_layouts():
    rng = np.random.default_rng(0)
    lp = fe.tensor(_log_probs(rng, (6, 3, 4)))
    padded = fe.tensor([[1, 2, 2], [3, 1, 0], [2, 0, 0]])
    il, tl = [6, 5, 4], [3, 2, 1]
    per = F.ctc_loss(lp, padded, il, tl, reduction="none")
    assert per.shape == (3,) and per.dtype == np.float64
    concat = fe.tensor([1, 2, 2, 3, 1, 2])
    np.testing.assert_allclose(F.ctc_loss(lp, concat, fe.tensor(il), fe.tensor(tl), reduction="none").detach().numpy(),
                               per.detach().numpy(), rtol=1e-13)
    assert F.ctc_loss(lp, padded, tuple(il), tuple(tl), reduction="sum").item() == pytest.approx(per.detach().numpy().sum())
    assert F.ctc_loss(lp, padded, il, tl).item() == pytest.approx((per.detach().numpy() / tl).mean())
    # unbatched (T, C): a 0-d loss
    one = F.ctc_loss(fe.tensor(lp.detach().numpy()[:, 0]), fe.tensor([1, 2, 2]), [6], [3], reduction="none")
    assert one.shape == () and one.item() == pytest.approx(per.detach().numpy()[0])
    mod = nn.CTCLoss(reduction="sum")
    assert mod(lp, padded, il, tl).item() == pytest.approx(per.detach().numpy().sum())


def test_ctc_impossible_alignment_and_zero_infinity():
    rng = np.random.default_rng(1)
    lp = fe.tensor(_log_probs(rng, (4, 2, 3)), requires_grad=True)
    tg = fe.tensor([[1, 1, 2], [2, 1, 0]])
    per = F.ctc_loss(lp, tg, [4, 4], [3, 2], reduction="none")  # "1 1 2" needs 4 frames: possible
    assert np.isfinite(per.detach().numpy()).all()
    per = F.ctc_loss(lp, tg, [3, 4], [3, 2], reduction="none")  # 3 frames cannot hold "1 1 2"
    assert per.detach().numpy()[0] == np.inf and np.isfinite(per.detach().numpy()[1])
    loss = F.ctc_loss(lp, tg, [3, 4], [3, 2], zero_infinity=True)
    loss.backward()
    assert np.isfinite(loss.item())
    assert (lp.grad.detach().numpy()[:, 0] == 0).all() and np.isfinite(lp.grad.detach().numpy()).all()
    # no frames: log 1 for an empty target, impossible otherwise
    assert F.ctc_loss(lp, tg, [0, 0], [0, 2], reduction="none").detach().numpy().tolist() == [0.0, np.inf]


def test_ctc_gradcheck_through_log_softmax():
    rng = np.random.default_rng(2)
    x = fe.tensor(rng.standard_normal((5, 2, 4)), requires_grad=True)
    tg = fe.tensor([[1, 3, 3], [2, 0, 0]])
    gradcheck(lambda v: F.ctc_loss(v.log_softmax(2), tg, [5, 3], [3, 1]), [x])
    gradcheck(lambda v: F.ctc_loss(v.log_softmax(2), tg, [2, 3], [3, 1], zero_infinity=True, reduction="sum"), [x])


def test_ctc_refuses_bad_arguments():
    lp = fe.tensor(_log_probs(np.random.default_rng(3), (4, 2, 3)).astype(np.float32))
    tg = fe.tensor([[1, 2], [2, 1]])
    il, tl = fe.tensor([4, 4]), fe.tensor([2, 2])
    with pytest.raises(ValueError):
        F.ctc_loss(lp, tg, il, tl, reduction="avg")
    with pytest.raises(TypeError):
        F.ctc_loss(lp, tg, il, (2, 2))
    with pytest.raises(RuntimeError, match="integral"):
        F.ctc_loss(lp, tg, fe.tensor([4.0, 4.0]), tl)
    with pytest.raises(NotImplementedError):
        F.ctc_loss(fe.tensor(np.zeros((4, 2, 3), np.int64)), tg, il, tl)
    with pytest.raises(RuntimeError, match="batch_size"):
        F.ctc_loss(lp, tg, fe.tensor([4]), tl)
    with pytest.raises(RuntimeError, match="at most 4"):
        F.ctc_loss(lp, tg, fe.tensor([5, 4]), tl)
    with pytest.raises(RuntimeError, match="blank"):
        F.ctc_loss(lp, tg, il, tl, blank=3)
    with pytest.raises(RuntimeError, match="must not be empty"):
        F.ctc_loss(lp[:, :0], tg[:0], il[:0], tl[:0])
    # deliberate differences: a used target out of range or equal to blank
    with pytest.raises(RuntimeError, match="other than blank"):
        F.ctc_loss(lp, fe.tensor([[1, 0], [2, 1]]), il, tl)
    with pytest.raises(RuntimeError, match="other than blank"):
        F.ctc_loss(lp, fe.tensor([[1, 3], [2, 1]]), il, tl)
    F.ctc_loss(lp, fe.tensor([[1, 7], [2, 1]]), il, fe.tensor([1, 2]))  # padding past the length is not read


# ---- ctc_loss against torch ----------------------------------------------------------------------------

def _ctc_both(torch, lp, tg, il, tl, as_tensors=True, **kw):
    F_t = torch.nn.functional
    a = torch.tensor(lp, requires_grad=True)
    b = fe.tensor(lp, requires_grad=True)
    lens_t = (torch.tensor(il), torch.tensor(tl)) if as_tensors else (tuple(il), tuple(tl))
    lens_f = (fe.tensor(np.array(il)), fe.tensor(np.array(tl))) if as_tensors else (list(il), list(tl))
    r = F_t.ctc_loss(a, torch.tensor(tg), *lens_t, **kw)
    q = F.ctc_loss(b, fe.tensor(np.array(tg)), *lens_f, **kw)
    r.sum().backward()
    q.sum().backward()
    return r, q, a.grad, b.grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_matches_torch(dtype, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    cases = [  # (T, N, C), targets, input lengths, target lengths, options
        ((7, 3, 5), [[1, 2, 2, 4], [3, 3, 1, 0], [4, 0, 0, 0]], [7, 6, 3], [4, 3, 1], {}),
        ((6, 3, 4), [[1, 1, 2], [2, 1, 3], [3, 0, 0]], [3, 6, 2], [3, 3, 0], {"zero_infinity": True}),
        ((6, 3, 4), [[1, 1, 2], [2, 1, 3], [3, 0, 0]], [3, 6, 0], [3, 3, 0], {}),
        ((5, 2, 4), [[0, 1], [2, 2]], [5, 5], [2, 2], {"blank": 3}),
    ]
    for shape, tg, il, tl, kw in cases:
        lp = _log_probs(rng, shape, dtype)
        for concat in (False, True):
            targets = np.concatenate([np.array(t[:n]) for t, n in zip(tg, tl)]) if concat else np.array(tg)
            r, q, ga, gb = _ctc_both(torch, lp, targets, il, tl, as_tensors=not concat, reduction=reduction, **kw)
            assert q.dtype == np.dtype(dtype) and q.shape == tuple(r.shape)
            np.testing.assert_allclose(q.detach().numpy(), r.detach().numpy(), **tol)
            np.testing.assert_allclose(gb.detach().numpy(), ga.detach().numpy(), equal_nan=True, **tol)


def test_ctc_unbatched_nan_gradients_and_module_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    lp = _log_probs(rng, (6, 4))
    r, q, ga, gb = _ctc_both(torch, lp, [1, 2, 1], 6, 3, reduction="none")
    assert q.shape == () == tuple(r.shape)
    np.testing.assert_allclose(q.detach().numpy(), r.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gb.detach().numpy(), ga.detach().numpy(), atol=1e-12)
    # a class of probability 0 (log -inf) that no target uses: NaN gradient there, as torch
    lp3 = _log_probs(rng, (5, 1, 4))
    lp3[:, 0, 3] = -np.inf
    r, q, ga, gb = _ctc_both(torch, lp3, [[1, 2]], [5], [2], reduction="sum")
    np.testing.assert_allclose(q.detach().numpy(), r.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gb.detach().numpy(), ga.detach().numpy(), atol=1e-12, equal_nan=True)
    assert np.isnan(gb.detach().numpy()[:, 0, 3]).all()
    # an impossible sample without zero_infinity: inf loss, NaN gradient, as torch
    r, q, ga, gb = _ctc_both(torch, _log_probs(rng, (3, 2, 3)), [[1, 1, 2], [1, 2, 0]], [3, 3], [3, 2])
    assert q.item() == r.item() == np.inf
    np.testing.assert_allclose(gb.detach().numpy(), ga.detach().numpy(), atol=1e-12, equal_nan=True)
    # gradient of logits through log_softmax: the true derivative, in both
    x = rng.standard_normal((6, 2, 4))
    a = torch.tensor(x, requires_grad=True)
    b = fe.tensor(x, requires_grad=True)
    torch.nn.CTCLoss(blank=1)(a.log_softmax(2), torch.tensor([[2, 3], [3, 0]]), (6, 5), (2, 1)).backward()
    nn.CTCLoss(blank=1)(b.log_softmax(2), fe.tensor([[2, 3], [3, 0]]), (6, 5), (2, 1)).backward()
    np.testing.assert_allclose(b.grad.detach().numpy(), a.grad.detach().numpy(), atol=1e-12)


def test_ctc_errors_match_torch():
    torch = pytest.importorskip("torch")
    lp = _log_probs(np.random.default_rng(6), (4, 2, 3)).astype(np.float32)
    tg, il, tl = np.array([[1, 2], [2, 1]]), np.array([4, 4]), np.array([2, 2])
    bad = [  # (log_probs, targets, input_lengths, target_lengths, kwargs)
        (lp, tg, il, tl, {"reduction": "avg"}),
        (lp[:, 0, 0], tg, il, tl, {}),
        (lp[None], tg, il, tl, {}),
        (lp.astype(np.int64), tg, il, tl, {}),
        (lp, tg[:, None], il, tl, {}),
        (lp, tg, il.astype(np.float32), tl, {}),
        (lp, tg, il[:1], tl, {}),
        (lp, tg, il, tl[:1], {}),
        (lp, tg, il, np.array([2, -1]), {}),
        (lp, tg, np.array([4, -1]), tl, {}),
        (lp, tg, np.array([5, 4]), tl, {}),
        (lp, tg[:, :1], il, tl, {}),
        (lp, tg[:1], il, tl, {}),
        (lp, np.array([1, 2, 2]), il, tl, {}),
        (lp, tg, il, tl, {"blank": 3}),
        (lp, tg, il, tl, {"blank": -1}),
        (lp[:, :0], tg[:0], il[:0], tl[:0], {}),
    ]
    for lp_, tg_, il_, tl_, kw in bad:
        with pytest.raises(Exception) as theirs:
            torch.nn.functional.ctc_loss(torch.tensor(lp_), torch.tensor(tg_), torch.tensor(il_), torch.tensor(tl_),
                                         **kw)
        with pytest.raises(theirs.type):
            F.ctc_loss(fe.tensor(lp_), fe.tensor(tg_), fe.tensor(il_), fe.tensor(tl_), **kw)
    for il_, tl_ in ((torch.tensor(il), (2, 2)), ((4, 4), torch.tensor(tl)), (4, torch.tensor(tl))):
        with pytest.raises(TypeError):
            torch.nn.functional.ctc_loss(torch.tensor(lp), torch.tensor(tg), il_, tl_)
        mine = [fe.tensor(v.detach().numpy()) if isinstance(v, torch.Tensor) else v for v in (il_, tl_)]
        with pytest.raises(TypeError):
            F.ctc_loss(fe.tensor(lp), fe.tensor(tg), *mine)


# ---- multilabel_margin_loss ----------------------------------------------------------------------------

def test_multilabel_margin_hard_coded():
    x = fe.tensor([[0.1, 0.2, 0.4, 0.8], [0.3, -0.5, 0.0, 1.0]], requires_grad=True)
    y = fe.tensor([[3, 0, -1, 1], [1, -1, 0, 0]])  # targets {3, 0} and {1}; the rest after -1 is not read
    per = F.multilabel_margin_loss(x, y, reduction="none")
    np.testing.assert_allclose(per.detach().numpy(), [0.85, 1.45], rtol=1e-6)
    per.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [[-0.5, 0.5, 0.5, -0.5], [0.25, -0.75, 0.25, 0.25]], atol=1e-7)
    assert nn.MultiLabelMarginLoss(reduction="sum")(x, y).item() == pytest.approx(2.3)
    # a term at exactly 0 adds nothing, gradient included
    z = fe.tensor([[0.0, 1.0, 0.5]], dtype=np.float64, requires_grad=True)
    loss = F.multilabel_margin_loss(z, fe.tensor([[1, -1, 0]]), reduction="sum")
    loss.backward()
    assert loss.item() == pytest.approx(0.5 / 3)
    np.testing.assert_allclose(z.grad.detach().numpy(), [[0.0, -1 / 3, 1 / 3]])
    gradcheck(lambda v: F.multilabel_margin_loss(v, fe.tensor([[2, 0, -1, 0], [1, 3, 3, -1]])),
              [fe.tensor(np.random.default_rng(7).standard_normal((2, 4)), requires_grad=True)])
    # N = 0: an empty 'none', a 0 'sum' and a NaN 'mean' (torch: uninitialised memory for the last two)
    empty = fe.tensor(np.zeros((0, 3), np.float32))
    no_targets = fe.tensor(np.zeros((0, 3), np.int64))
    assert F.multilabel_margin_loss(empty, no_targets, reduction="none").shape == (0,)
    assert F.multilabel_margin_loss(empty, no_targets, reduction="sum").item() == 0
    assert np.isnan(F.multilabel_margin_loss(empty, no_targets).item())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multilabel_margin_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    cases = [((3, 4), [[3, 0, -1, 1], [0, 1, 2, 3], [-1, 2, 0, 0]]), ((2, 5), [[1, 1, -1, 0, 0], [4, -1, 3, 3, 3]]),
             ((4,), [2, -1, 0, 0]), ((), 0), ((), -1), ((0, 3), np.zeros((0, 3), np.int64))]
    for shape, tg in cases:
        for reduction in ("none", "sum", "mean"):
            if shape == (0, 3) and reduction != "none":
                continue  # torch returns uninitialised memory
            x = rng.standard_normal(shape).astype(dtype)
            a, b = torch.tensor(x, requires_grad=True), fe.tensor(x, requires_grad=True)
            r = torch.nn.functional.multilabel_margin_loss(a, torch.tensor(tg), reduction=reduction)
            q = F.multilabel_margin_loss(b, fe.tensor(np.array(tg, np.int64)), reduction=reduction)
            assert q.dtype == np.dtype(dtype) and q.shape == tuple(r.shape)
            np.testing.assert_allclose(q.detach().numpy(), r.detach().numpy(), rtol=1e-5, atol=1e-6)
            r.sum().backward()
            q.sum().backward()
            np.testing.assert_allclose(b.grad.detach().numpy(), a.grad.detach().numpy(), rtol=1e-5, atol=1e-6)
    x, y = rng.standard_normal((2, 3)), np.array([[0, -1, 1], [2, 1, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = torch.nn.functional.multilabel_margin_loss(torch.tensor(x), torch.tensor(y), size_average=False)
        q = F.multilabel_margin_loss(fe.tensor(x), fe.tensor(y), size_average=False)
    assert q.item() == pytest.approx(r.item())


def test_multilabel_margin_errors_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(9).standard_normal((3, 4)).astype(np.float32)
    y = np.array([[3, 0, -1, 1], [0, 1, 2, 3], [-1, 2, 0, 0]])
    bad = [(x, y, {"reduction": "x"}), (x[:, :0], y[:, :0], {}), (x[0, :0], y[0, :0], {}), (x[None], y[None], {}),
           (x, y[:, :3], {}), (x, y[0], {}), (x, y + 1, {}), (x, np.full((3, 4), -2), {}),
           (x, np.array([[0, -1, 5, 0]] * 3), {}), (x, y.astype(np.int32), {}), (x, y.astype(np.float32), {}),
           (y, y, {})]
    for x_, y_, kw in bad:
        with pytest.raises(Exception) as theirs:
            torch.nn.functional.multilabel_margin_loss(torch.tensor(x_), torch.tensor(y_), **kw)
        with pytest.raises(theirs.type):
            F.multilabel_margin_loss(fe.tensor(x_), fe.tensor(y_), **kw)


# ---- triplet_margin_with_distance_loss -----------------------------------------------------------------

def test_triplet_with_distance_defaults_and_custom_distance():
    rng = np.random.default_rng(10)
    a, p, n = (fe.tensor(rng.standard_normal((4, 3)), requires_grad=True) for _ in range(3))
    # the default distance is pairwise_distance: triplet_margin_loss's value
    assert F.triplet_margin_with_distance_loss(a, p, n).item() == pytest.approx(F.triplet_margin_loss(a, p, n).item())
    mod = nn.TripletMarginWithDistanceLoss(swap=True, reduction="none")
    assert isinstance(mod.distance_function, nn.PairwiseDistance)
    np.testing.assert_allclose(mod(a, p, n).detach().numpy(), F.triplet_margin_loss(a, p, n, swap=True, reduction="none").detach().numpy())

    def cosine_distance(u, v):
        return 1 - F.cosine_similarity(u, v)

    gradcheck(lambda *xs: F.triplet_margin_with_distance_loss(*xs, distance_function=cosine_distance, margin=0.5),
              [a, p, n])
    with pytest.raises(ValueError):
        F.triplet_margin_with_distance_loss(a, p, n, margin=0)
    with pytest.raises(ValueError):
        nn.TripletMarginWithDistanceLoss(margin=-1.0)
    with pytest.raises(ValueError):
        F.triplet_margin_with_distance_loss(a, p, n, reduction="avg")
    with pytest.raises(RuntimeError):
        F.triplet_margin_with_distance_loss(a, p[0], n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_triplet_with_distance_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    for shape in ((4, 3), (5,), (0, 3)):
        xs = [rng.standard_normal(shape).astype(dtype) for _ in range(3)]
        for kw in ({}, {"swap": True, "margin": 2.0, "reduction": "none"}, {"reduction": "sum"}):
            for cosine in (False, True):
                ts = [torch.tensor(v, requires_grad=True) for v in xs]
                fs = [fe.tensor(v, requires_grad=True) for v in xs]
                if cosine and len(shape) == 2:
                    kw_t = dict(kw, distance_function=lambda u, v: 1 - torch.nn.functional.cosine_similarity(u, v))
                    kw_f = dict(kw, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v))
                else:
                    kw_t = kw_f = kw
                r = torch.nn.functional.triplet_margin_with_distance_loss(*ts, **kw_t)
                q = F.triplet_margin_with_distance_loss(*fs, **kw_f)
                assert q.dtype == np.dtype(dtype) and q.shape == tuple(r.shape)
                np.testing.assert_allclose(q.detach().numpy(), r.detach().numpy(), rtol=1e-5, atol=1e-6, equal_nan=True)
                if r.numel():
                    r.sum().backward()
                    q.sum().backward()
                    for t, f in zip(ts, fs):
                        np.testing.assert_allclose(f.grad.detach().numpy(), t.grad.detach().numpy(), rtol=1e-4, atol=1e-6)
