"""Issue 17, losses: binary_cross_entropy / BCELoss, bce_with_logits(weight=, pos_weight=), smooth_l1_loss,
huber_loss, kl_div (log_target, 'batchmean'), cosine_similarity, pairwise_distance, cosine_embedding_loss,
margin_ranking_loss, triplet_margin_loss, one_hot, cross-entropy with class-probability targets, nll_loss /
cross_entropy with spatial dims and unbatched input. Values and gradients (input, and target where torch
differentiates it) against PyTorch for every reduction in float32 and float64, edge values, errors (the
same exception class as torch), warnings; and against the NumPy references where torch is absent."""
import warnings

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch.autograd import gradcheck
from firstepoch.ops import loss as L
from firstepoch.reference import loss as R

REDUCTIONS = ["none", "mean", "sum"]
DTYPES = [np.float32, np.float64]


def tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)


def parity(torch, ours, theirs, arrays, grads, dtype, seed=0, **kw):
    """Runs ours on firstepoch tensors and theirs on torch tensors made from the same arrays (those at the
    positions in `grads` require grad), backpropagates one random output gradient through both, and
    compares the outputs (value and dtype) and every requested gradient (NaN and inf where torch has them)."""
    ts = [fe.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    tt = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, ref = ours(*ts), theirs(*tt)
    ref_np = ref.detach().numpy()
    assert out.dtype == ref_np.dtype and tuple(out.shape) == ref_np.shape
    np.testing.assert_allclose(out.data, ref_np, **(kw or tol(dtype)))
    g = np.random.default_rng(seed).uniform(0.5, 1.5, ref_np.shape).astype(ref_np.dtype)
    out.backward(fe.tensor(g))
    ref.backward(torch.tensor(g))
    for i in grads:
        want = tt[i].grad.numpy()
        got = ts[i].grad.data
        assert got.dtype == want.dtype and got.shape == want.shape, i
        np.testing.assert_allclose(got, want, **(kw or tol(dtype)), err_msg=f"gradient of argument {i}")
    return out


def same_error(torch, ours, theirs):
    """ours raises the exception class torch raises for the same bad input."""
    with pytest.raises(Exception) as want:
        theirs()
    with pytest.raises(want.type):
        ours()


# ---- binary cross-entropy ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(rng, reduction, dtype):
    torch = pytest.importorskip("torch")
    x = rng.uniform(0.02, 0.98, (5, 3)).astype(dtype)
    y = rng.uniform(0, 1, (5, 3)).astype(dtype)
    y[0] = [0, 1, 1]  # hard labels too
    parity(torch, lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
           lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction=reduction), [x, y], (0, 1), dtype)
    for w in (rng.uniform(0.5, 2, 3), rng.uniform(0.5, 2, (5, 1)), rng.uniform(0.5, 2, (5, 3))):
        w = w.astype(dtype)
        parity(torch, lambda a, b: F.binary_cross_entropy(a, b, fe.tensor(w), reduction=reduction),
               lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, torch.tensor(w), reduction=reduction),
               [x, y], (0, 1), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_at_probabilities_0_and_1(dtype):
    """torch clamps the logs at -100 (loss 100, not inf), clamps x (1 - x) at 1e-12 (a float) in dx, and
    leaves dy = log(1 - x) - log(x) unclamped (+-inf)."""
    torch = pytest.importorskip("torch")
    x = np.array([0, 0, 1, 1, 1e-30, 0.5], dtype)
    y = np.array([0, 1, 0, 1, 0.3, 0.5], dtype)
    for reduction in REDUCTIONS:
        out = parity(torch, lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                     lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction=reduction),
                     [x, y], (0, 1), dtype, rtol=1e-6, atol=0)
        assert np.all(np.isfinite(out.data))
    loss = F.binary_cross_entropy(fe.tensor(x[:4]), fe.tensor(y[:4]), reduction="none").data
    np.testing.assert_array_equal(loss, np.array([0, 100, 100, 0], dtype))


def test_binary_cross_entropy_errors_as_torch():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    cases = [
        ((np.full(3, 0.5), np.full((3, 1), 0.5)), {}),  # target size differs: ValueError
        ((np.full(3, 0.5), np.full(1, 0.5)), {}),
        ((np.array([1.5, 0.5]), np.full(2, 0.5)), {}),  # input outside [0, 1]
        ((np.array([np.nan, 0.5]), np.full(2, 0.5)), {}),  # NaN input
        ((np.full(2, 0.5), np.array([0.5, -0.1])), {}),  # target outside [0, 1]
        ((np.full(2, 0.5, np.float32), np.full(2, 0.5)), {}),  # dtypes differ
        ((np.full((3, 2), 0.5), np.full((3, 2), 0.5)), {"weight": np.ones(3)}),  # weight does not broadcast
        ((np.full(2, 0.5), np.full(2, 0.5)), {"reduction": "avg"}),
    ]
    for (x, y), kw in cases:
        same_error(torch, lambda: F.binary_cross_entropy(fe.tensor(x), fe.tensor(y), **kw),
                   lambda: TF.binary_cross_entropy(torch.tensor(x), torch.tensor(y),
                                                   **{k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(fe.tensor(np.full(3, 0.5)), fe.tensor(np.full((3, 1), 0.5)))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(fe.tensor(np.array([np.nan])), fe.tensor(np.array([0.5])))


def test_binary_cross_entropy_of_empty_input_is_nan_for_mean():
    torch = pytest.importorskip("torch")
    x = np.zeros((0, 3))
    for reduction in REDUCTIONS:
        parity(torch, lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
               lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction=reduction), [x, x], (0,),
               np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_weight_and_pos_weight_match_torch(rng, reduction, dtype):
    torch = pytest.importorskip("torch")
    z = (rng.standard_normal((4, 3)) * 3).astype(dtype)
    y = rng.uniform(0, 1, (4, 3)).astype(dtype)
    w = rng.uniform(0.5, 2, (4, 1)).astype(dtype)
    pw = rng.uniform(0.5, 3, 3).astype(dtype)
    parity(torch, lambda a, b: F.binary_cross_entropy_with_logits(a, b, fe.tensor(w), reduction=reduction,
                                                                  pos_weight=fe.tensor(pw)),
           lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(a, b, torch.tensor(w), reduction=reduction,
                                                                             pos_weight=torch.tensor(pw)),
           [z, y], (0, 1), dtype)
    parity(torch, lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=fe.tensor(w[:, 0] * 0 + pw[0])),
           lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(a, b, weight=torch.tensor(w[:, 0] * 0 + pw[0])),
           [z[:, :1].reshape(4), y[:, 0].copy()], (0, 1), dtype)


def test_bce_with_logits_promotes_dtypes_and_errors_as_torch():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    z, y = np.zeros(3, np.float32), np.full(3, 0.5)
    parity(torch, lambda a, b: F.binary_cross_entropy_with_logits(a, b), lambda a, b: TF.binary_cross_entropy_with_logits(a, b),
           [z, y], (0, 1), np.float32)
    same_error(torch, lambda: F.binary_cross_entropy_with_logits(fe.tensor(z), fe.tensor(y.reshape(3, 1))),
               lambda: TF.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y.reshape(3, 1))))
    same_error(torch, lambda: F.binary_cross_entropy_with_logits(fe.zeros(3, 2), fe.zeros(3, 2), pos_weight=fe.ones(3)),
               lambda: TF.binary_cross_entropy_with_logits(torch.zeros(3, 2), torch.zeros(3, 2), pos_weight=torch.ones(3)))


# ---- smooth L1 and Huber ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_smooth_l1_and_huber_match_torch(rng, reduction, dtype):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x = (rng.standard_normal((4, 5)) * 2).astype(dtype)
    y = (rng.standard_normal((4, 5)) * 2).astype(dtype)
    y[0] = x[0] + np.array([0, 0.5, -0.5, 1, -1], dtype)  # on the kinks: torch's side of each
    for beta in (1.0, 0.5, 0.0, 2.0):
        parity(torch, lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
               lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [x, y], (0, 1), dtype)
    for delta in (1.0, 0.5, 3.0):
        parity(torch, lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
               lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=delta), [x, y], (0, 1), dtype)


def test_smooth_l1_and_huber_broadcast_with_torchs_warning(rng):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((3,))
    for ours, theirs in ((F.smooth_l1_loss, TF.smooth_l1_loss), (F.huber_loss, TF.huber_loss)):
        parity(torch, lambda a, b: ours(a, b), lambda a, b: theirs(a, b), [x, y], (0, 1), np.float64)
        with pytest.warns(UserWarning, match="different to the input size"):
            ours(fe.tensor(x), fe.tensor(y))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ours(fe.tensor(x), fe.tensor(x))  # one shape: no warning
        same_error(torch, lambda: ours(fe.tensor(x), fe.tensor(y[:2])), lambda: theirs(torch.tensor(x), torch.tensor(y[:2])))
    parity(torch, lambda a, b: F.smooth_l1_loss(a, b), lambda a, b: TF.smooth_l1_loss(a, b),
           [x.astype(np.float32), x], (0, 1), np.float32)  # float32 with float64: promoted, as torch
    same_error(torch, lambda: F.smooth_l1_loss(fe.tensor(x), fe.tensor(x), beta=-1),
               lambda: TF.smooth_l1_loss(torch.tensor(x), torch.tensor(x), beta=-1))
    same_error(torch, lambda: F.huber_loss(fe.tensor(x), fe.tensor(x), delta=0),
               lambda: TF.huber_loss(torch.tensor(x), torch.tensor(x), delta=0))
    same_error(torch, lambda: F.huber_loss(fe.tensor(x), fe.tensor(x), reduction="avg"),
               lambda: TF.huber_loss(torch.tensor(x), torch.tensor(x), reduction="avg"))


def test_smooth_l1_nan_propagates_and_empty_mean_is_nan():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x = np.array([np.nan, 1.0, 2.0])
    for reduction in REDUCTIONS:
        parity(torch, lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction),
               lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction), [x, np.zeros(3)], (0, 1), np.float64)
        parity(torch, lambda a, b: F.huber_loss(a, b, reduction=reduction),
               lambda a, b: TF.huber_loss(a, b, reduction=reduction), [np.zeros(0), np.zeros(0)], (0, 1), np.float64)


# ---- KL divergence ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_kl_div_matches_torch(rng, reduction, dtype):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    logp = np.log(rng.dirichlet(np.ones(5), 4)).astype(dtype)
    q = rng.dirichlet(np.ones(5), 4).astype(dtype)
    parity(torch, lambda a, b: F.kl_div(a, b, reduction=reduction), lambda a, b: TF.kl_div(a, b, reduction=reduction),
           [logp, q], (0, 1), dtype)
    parity(torch, lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=True),
           lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=True), [logp, np.log(q)], (0, 1), dtype)
    parity(torch, lambda a, b: F.kl_div(a, b, reduction=reduction), lambda a, b: TF.kl_div(a, b, reduction=reduction),
           [logp, q[0]], (0, 1), dtype)  # broadcast target (torch broadcasts kl_div silently)


def test_kl_div_target_zero_nan_and_negative_as_torch():
    """A zero target contributes 0 (its target gradient is NaN, as torch); NaN and negative targets give
    NaN."""
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x = np.log(np.array([0.2, 0.3, 0.5, 0.25]))
    y = np.array([0.0, np.nan, -0.1, 0.5])
    for reduction in REDUCTIONS:
        parity(torch, lambda a, b: F.kl_div(a, b, reduction=reduction), lambda a, b: TF.kl_div(a, b, reduction=reduction),
               [x, y], (0, 1), np.float64)
    out = F.kl_div(fe.tensor(x), fe.tensor(y), reduction="none").data
    assert out[0] == 0 and np.isnan(out[1]) and np.isnan(out[2])


def test_kl_div_batchmean_edges_warning_and_errors():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    parity(torch, lambda a, b: F.kl_div(a, b, reduction="batchmean"), lambda a, b: TF.kl_div(a, b, reduction="batchmean"),
           [np.array(-0.5), np.array(0.3)], (0, 1), np.float64)  # 0-d: divided by 1
    parity(torch, lambda a, b: F.kl_div(a, b, reduction="batchmean"), lambda a, b: TF.kl_div(a, b, reduction="batchmean"),
           [np.zeros((0, 3)), np.zeros((0, 3))], (0, 1), np.float64)  # N = 0: NaN
    x = fe.tensor(np.log(np.full((2, 2), 0.5)))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(x, x.exp())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(x, x.exp(), reduction="batchmean")
    same_error(torch, lambda: F.kl_div(fe.zeros(3), fe.zeros(2), reduction="sum"),
               lambda: TF.kl_div(torch.zeros(3), torch.zeros(2), reduction="sum"))
    same_error(torch, lambda: F.kl_div(fe.zeros(3), fe.zeros(3), reduction="avg"),
               lambda: TF.kl_div(torch.zeros(3), torch.zeros(3), reduction="avg"))


# ---- cosine similarity, pairwise distance and the embedding losses --------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_similarity_matches_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    a, b = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    parity(torch, lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y), [a, b], (0, 1), dtype)
    parity(torch, lambda x, y: F.cosine_similarity(x, y, dim=0), lambda x, y: TF.cosine_similarity(x, y, dim=0),
           [a, b], (0, 1), dtype)
    c = rng.standard_normal((2, 3, 4)).astype(dtype)
    parity(torch, lambda x, y: F.cosine_similarity(x, y, dim=-1), lambda x, y: TF.cosine_similarity(x, y, dim=-1),
           [c, b[0]], (0, 1), dtype)  # broadcast
    parity(torch, lambda x, y: F.cosine_similarity(x, y, 1, 0.5), lambda x, y: TF.cosine_similarity(x, y, 1, 0.5),
           [c * 0.1, c[:1] * 0.05], (0, 1), dtype)  # norms below eps: clamped
    parity(torch, lambda x, y: nn.CosineSimilarity(dim=0)(x, y), lambda x, y: torch.nn.CosineSimilarity(dim=0)(x, y),
           [a[0].copy(), b[0].copy()], (0, 1), dtype)


def test_cosine_similarity_zero_and_tiny_vectors_as_torch():
    """The norm is clamped to eps, and the clamp passes the norm's gradient through (torch's in-place
    clamp under no_grad): a zero vector gives 0 and huge but finite gradients, as torch."""
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    a = np.array([[0.0, 0, 0], [1, 2, 3], [1e-9, 0, 0]])
    b = np.array([[1.0, 2, 3], [0, 0, 0], [1e-9, 1e-9, 0]])
    parity(torch, lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y), [a, b], (0, 1),
           np.float64, rtol=1e-9, atol=0)
    parity(torch, lambda x, y: F.cosine_similarity(x, y, dim=0), lambda x, y: TF.cosine_similarity(x, y, dim=0),
           [np.array(2.0), np.array(-3.0)], (0, 1), np.float64)  # 0-d: vectors of one entry
    for shapes, dim in ((((3, 4), (3, 4)), 2), (((4,), (4,)), 1), (((3, 4), (2, 4)), 1)):
        same_error(torch, lambda: F.cosine_similarity(fe.zeros(*shapes[0]), fe.zeros(*shapes[1]), dim=dim),
                   lambda: TF.cosine_similarity(torch.zeros(*shapes[0]), torch.zeros(*shapes[1]), dim=dim))


@pytest.mark.parametrize("p", [2, 1, 3, float("inf")])
def test_pairwise_distance_matches_torch(rng, p):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    parity(torch, lambda x, y: F.pairwise_distance(x, y, p), lambda x, y: torch.nn.functional.pairwise_distance(x, y, p),
           [a, b], (0, 1), np.float64)
    parity(torch, lambda x, y: nn.PairwiseDistance(p, keepdim=True)(x, y),
           lambda x, y: torch.nn.PairwiseDistance(p, keepdim=True)(x, y), [a, b[0]], (0, 1), np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss_matches_torch(rng, reduction, dtype):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    a, b = rng.standard_normal((6, 4)).astype(dtype), rng.standard_normal((6, 4)).astype(dtype)
    b[5] = 0  # a zero vector: torch's 1e-12 in the denominator
    t = np.array([1, -1, 1, -1, 0, 1])  # 0: no contribution
    loose = {"rtol": 1e-8, "atol": 1e-10} if dtype == np.float64 else {}  # the zero row's gradient is ~1e6
    for margin in (0.0, 0.3, -0.2):
        parity(torch, lambda x, y: F.cosine_embedding_loss(x, y, fe.tensor(t), margin, reduction=reduction),
               lambda x, y: TF.cosine_embedding_loss(x, y, torch.tensor(t), margin, reduction=reduction),
               [a, b], (0, 1), dtype, **loose)
    for target in (1.0, -1.0):  # unbatched: (D,) inputs, a 0-d target
        parity(torch, lambda x, y: nn.CosineEmbeddingLoss(0.1, reduction=reduction)(x, y, fe.tensor(np.array(target))),
               lambda x, y: torch.nn.CosineEmbeddingLoss(0.1, reduction=reduction)(x, y, torch.tensor(target)),
               [a[0].copy(), b[0].copy()], (0, 1), dtype)


def test_cosine_embedding_loss_errors_as_torch():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    cases = [((3, 4), (3, 4), [1, 1]), ((4,), (4,), [1]), ((3, 4), (3, 4), 1), ((3, 4), (3, 4), [[1]]),
             ((3, 4), (2, 4), [1, 1, 1]), ((3, 4, 2), (3, 4, 2), [1, 1, 1])]
    for s1, s2, t in cases:
        same_error(torch, lambda: F.cosine_embedding_loss(fe.ones(*s1), fe.ones(*s2), fe.tensor(np.array(t))),
                   lambda: TF.cosine_embedding_loss(torch.ones(*s1), torch.ones(*s2), torch.tensor(t)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_loss_matches_torch(rng, reduction, dtype):
    """The target is differentiable in torch: its gradient is checked too."""
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x1, x2 = rng.standard_normal(7).astype(dtype), rng.standard_normal(7).astype(dtype)
    t = np.array([1, -1, 1, -1, 1, 2, -0.5], dtype)
    for margin in (0.0, 0.5):
        parity(torch, lambda a, b, c: F.margin_ranking_loss(a, b, c, margin, reduction=reduction),
               lambda a, b, c: TF.margin_ranking_loss(a, b, c, margin, reduction=reduction), [x1, x2, t], (0, 1, 2), dtype)
    parity(torch, lambda a, b, c: nn.MarginRankingLoss(0.2, reduction=reduction)(a, b, c),
           lambda a, b, c: torch.nn.MarginRankingLoss(0.2, reduction=reduction)(a, b, c), [x1, x2[:1], t], (0, 1, 2), dtype)


def test_margin_ranking_loss_errors_as_torch():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    for s1, s2, st in (((3,), (3, 1), (3,)), ((3,), (2,), (3,))):
        same_error(torch, lambda: F.margin_ranking_loss(fe.ones(*s1), fe.ones(*s2), fe.ones(*st)),
                   lambda: TF.margin_ranking_loss(torch.ones(*s1), torch.ones(*s2), torch.ones(*st)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_loss_matches_torch(rng, reduction, dtype):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    a, p, n = (rng.standard_normal((6, 4)).astype(dtype) for _ in range(3))
    for norm in (2, 1, 3.0):
        for swap in (False, True):
            parity(torch, lambda x, y, z: F.triplet_margin_loss(x, y, z, 1.5, norm, swap=swap, reduction=reduction),
                   lambda x, y, z: TF.triplet_margin_loss(x, y, z, 1.5, norm, swap=swap, reduction=reduction),
                   [a, p, n], (0, 1, 2), dtype)
    parity(torch, lambda x, y, z: nn.TripletMarginLoss(eps=0.1, reduction=reduction)(x, y, z),
           lambda x, y, z: torch.nn.TripletMarginLoss(eps=0.1, reduction=reduction)(x, y, z),
           [a[0].copy(), p[0].copy(), n[0].copy()], (0, 1, 2), dtype)  # unbatched (D,)


def test_triplet_margin_loss_errors_as_torch():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    same_error(torch, lambda: F.triplet_margin_loss(fe.ones(3, 4), fe.ones(3, 4), fe.ones(4)),
               lambda: TF.triplet_margin_loss(torch.ones(3, 4), torch.ones(3, 4), torch.ones(4)))
    same_error(torch, lambda: F.triplet_margin_loss(fe.ones(3, 4), fe.ones(3, 4), fe.ones(3, 4), margin=-1),
               lambda: TF.triplet_margin_loss(torch.ones(3, 4), torch.ones(3, 4), torch.ones(3, 4), margin=-1))


def test_composite_losses_gradcheck(rng):
    """Finite differences (no torch needed) of the losses composed of Tensor ops."""
    a, b, c = (fe.tensor(rng.standard_normal((4, 3)), requires_grad=True) for _ in range(3))
    t = fe.tensor(np.array([1, -1, 1, -1]))
    gradcheck(lambda x, y: F.cosine_similarity(x, y), [a, b])
    gradcheck(lambda x, y: F.cosine_embedding_loss(x, y, t, 0.1), [a, b])
    gradcheck(lambda x, y, z: F.triplet_margin_loss(x, y, z, 2.0, swap=True), [a, b, c])
    gradcheck(lambda x, y, z: F.margin_ranking_loss(x[:, 0], y[:, 0], z[:, 0] + 0.3, 0.1), [a, b, c])
    probs = fe.tensor(rng.dirichlet(np.ones(3), 4), requires_grad=True)
    gradcheck(lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1), [a, probs])


def test_composite_losses_match_the_numpy_references(rng):
    a, p, n = rng.standard_normal((3, 5, 4))
    np.testing.assert_allclose(F.cosine_similarity(fe.tensor(a), fe.tensor(p)).data, R.cosine_similarity(a, p),
                               rtol=1e-12)
    for reduction in REDUCTIONS:
        np.testing.assert_allclose(
            F.triplet_margin_loss(fe.tensor(a), fe.tensor(p), fe.tensor(n), 1.0, 3, swap=True, reduction=reduction).data,
            R.triplet_margin_loss(a, p, n, 1.0, 3, 1e-6, True, reduction), rtol=1e-12)


# ---- one_hot ------------------------------------------------------------------------------------------

def test_one_hot_matches_torch():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    for t, k in (([0, 2, 1], -1), ([0, 2, 1], 5), ([[0, 2], [1, 1]], -1), (2, -1), ([], 3), ([[]], 4)):
        t = np.array(t, dtype=np.int64)
        out, want = F.one_hot(fe.tensor(t), k), TF.one_hot(torch.tensor(t), k).numpy()
        assert out.dtype == np.int64 and not out.requires_grad
        np.testing.assert_array_equal(out.data, want)
        assert out.shape == want.shape
    for t, k in (([0, 2, 1], 2), ([0, -2, 1], -1), ([0, -2, 1], 4), ([], -1), ([0, 0], 0), ([0, 0], -2)):
        t = np.array(t, dtype=np.int64)
        same_error(torch, lambda: F.one_hot(fe.tensor(t), k), lambda: TF.one_hot(torch.tensor(t), k))
    same_error(torch, lambda: F.one_hot(fe.tensor(np.array([0, 1], np.int32))),
               lambda: TF.one_hot(torch.tensor([0, 1], dtype=torch.int32)))
    same_error(torch, lambda: F.one_hot(fe.tensor(np.array([0.0, 1.0]))), lambda: TF.one_hot(torch.tensor([0.0, 1.0])))
    same_error(torch, lambda: F.one_hot(fe.tensor(np.array([0, 1])), 3.0), lambda: TF.one_hot(torch.tensor([0, 1]), 3.0))


# ---- cross-entropy with class probabilities; nll_loss / cross_entropy spatial and unbatched ----------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_class_probabilities_matches_torch(rng, reduction, dtype):
    """Values and gradients for the logits and the target (torch differentiates a probability target),
    with weights and label smoothing, for (N, C), (N, C, d1, d2) and unbatched (C,)."""
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    w = rng.uniform(0.5, 2, 5).astype(dtype)
    for shape in ((4, 5), (3, 5, 2, 3), (5,)):
        z = rng.standard_normal(shape).astype(dtype)
        t = rng.uniform(0, 1, shape).astype(dtype)
        t /= t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
        for kw in ({}, {"label_smoothing": 0.2}):
            parity(torch, lambda a, b: F.cross_entropy(a, b, reduction=reduction, **kw),
                   lambda a, b: TF.cross_entropy(a, b, reduction=reduction, **kw), [z, t], (0, 1), dtype)
            parity(torch, lambda a, b: nn.CrossEntropyLoss(fe.tensor(w), reduction=reduction, **kw)(a, b),
                   lambda a, b: torch.nn.CrossEntropyLoss(torch.tensor(w), reduction=reduction, **kw)(a, b),
                   [z, t], (0, 1), dtype)


def test_cross_entropy_with_class_probabilities_edges_and_errors(rng):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    z = rng.standard_normal((3, 4))
    parity(torch, lambda a, b: F.cross_entropy(a, b), lambda a, b: TF.cross_entropy(a, b),
           [np.zeros((0, 4)), np.zeros((0, 4))], (0, 1), np.float64)  # N = 0: NaN
    parity(torch, lambda a, b: F.cross_entropy(a, b), lambda a, b: TF.cross_entropy(a, b),
           [z.astype(np.float32), np.full((3, 4), 0.25)], (0, 1), np.float32)  # promoted to float64, as torch
    parity(torch, lambda a, b: F.cross_entropy(a, b), lambda a, b: TF.cross_entropy(a, b),
           [z, np.eye(4)[[0, 3, 1]]], (0, 1), np.float64)  # one-hot probabilities = class indices
    np.testing.assert_allclose(F.cross_entropy(fe.tensor(z), fe.tensor(np.eye(4)[[0, 3, 1]])).item(),
                               F.cross_entropy(fe.tensor(z), np.array([0, 3, 1])).item(), rtol=1e-12)
    for kw, t in (({"ignore_index": 1}, np.full((3, 4), 0.25)), ({"weight": np.ones(3)}, np.full((3, 4), 0.25))):
        same_error(torch, lambda: F.cross_entropy(fe.tensor(z), fe.tensor(t), **kw),
                   lambda: TF.cross_entropy(torch.tensor(z), torch.tensor(t),
                                            **{k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}))
    same_error(torch, lambda: F.cross_entropy(fe.tensor(np.array(1.0)), fe.tensor(np.array(1.0))),
               lambda: TF.cross_entropy(torch.tensor(1.0), torch.tensor(1.0)))
    for reduction in REDUCTIONS:
        t = rng.dirichlet(np.ones(4), 3)
        np.testing.assert_allclose(F.cross_entropy(fe.tensor(z), fe.tensor(t), reduction=reduction,
                                                   label_smoothing=0.3).data,
                                   R.cross_entropy_probabilities(z, t, None, reduction, 0.3), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_and_cross_entropy_spatial_and_unbatched_match_torch(rng, reduction, dtype):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    w = rng.uniform(0.5, 2, 5).astype(dtype)
    z = rng.standard_normal((3, 5, 2, 4)).astype(dtype)
    t = rng.integers(0, 5, (3, 2, 4))
    t[0, 0] = -100
    t[1, 1, :2] = 2
    for kw in ({}, {"weight": w}, {"ignore_index": 2}, {"weight": w, "ignore_index": 2}):
        tt = np.where(t == -100, 1, t) if kw.get("ignore_index") == 2 else t
        parity(torch, lambda a: F.nll_loss(a, fe.tensor(tt), reduction=reduction, **kw),
               lambda a: TF.nll_loss(a, torch.tensor(tt), reduction=reduction,
                                     **{k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}),
               [z], (0,), dtype)
        parity(torch, lambda a: F.cross_entropy(a, fe.tensor(tt), reduction=reduction, label_smoothing=0.1, **kw),
               lambda a: TF.cross_entropy(a, torch.tensor(tt), reduction=reduction, label_smoothing=0.1,
                                          **{k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}),
               [z], (0,), dtype)
    z3 = z[:, :, 0].copy()  # (N, C, d1)
    parity(torch, lambda a: nn.NLLLoss(fe.tensor(w), reduction=reduction)(a, fe.tensor(t[:, 0])),
           lambda a: torch.nn.NLLLoss(torch.tensor(w), reduction=reduction)(a, torch.tensor(t[:, 0])), [z3], (0,), dtype)
    for target in (3, -100):  # unbatched: (C,) with a 0-d target
        parity(torch, lambda a: F.nll_loss(a, fe.tensor(np.array(target)), fe.tensor(w), reduction=reduction),
               lambda a: TF.nll_loss(a, torch.tensor(target), torch.tensor(w), reduction=reduction),
               [z[0, :, 0, 0].copy()], (0,), dtype)
        parity(torch, lambda a: F.cross_entropy(a, fe.tensor(np.array(target)), fe.tensor(w), reduction=reduction),
               lambda a: TF.cross_entropy(a, torch.tensor(target), torch.tensor(w), reduction=reduction),
               [z[0, :, 0, 0].copy()], (0,), dtype)


def test_every_target_ignored_gives_nan_mean_and_zero_sum():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    z = np.random.default_rng(0).standard_normal((2, 3, 4))
    t = np.full((2, 4), -100)
    for reduction in REDUCTIONS:
        for ours, theirs in ((F.nll_loss, TF.nll_loss), (F.cross_entropy, TF.cross_entropy)):
            out = parity(torch, lambda a: ours(a, fe.tensor(t), reduction=reduction),
                         lambda a: theirs(a, torch.tensor(t), reduction=reduction), [z], (0,), np.float64)
            if reduction == "mean":
                assert np.isnan(out.item())


def test_class_index_losses_errors_as_torch():
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    cases = [((3, 4), [0, 1]), ((3, 4, 2), [[0, 1]] * 2), ((3, 4, 2), [[0, 1, 1]] * 3), ((3, 4), [0, 1, 7]),
             ((3, 4), [0, 1, -1]), ((3, 4, 2, 2), [[0, 1, 1]] * 3)]
    for shape, t in cases:
        for ours, theirs in ((F.nll_loss, TF.nll_loss), (F.cross_entropy, TF.cross_entropy)):
            same_error(torch, lambda: ours(fe.zeros(*shape), fe.tensor(np.array(t))),
                       lambda: theirs(torch.zeros(*shape), torch.tensor(t)))
    same_error(torch, lambda: F.nll_loss(fe.tensor(np.array(1.0)), fe.tensor(np.array(1))),
               lambda: TF.nll_loss(torch.tensor(1.0), torch.tensor(1)))
    same_error(torch, lambda: F.nll_loss(fe.zeros(3, 4, 2), fe.tensor(np.zeros((3, 2), np.int64)), reduction="avg"),
               lambda: TF.nll_loss(torch.zeros(3, 4, 2), torch.zeros(3, 2, dtype=torch.long), reduction="avg"))


def test_cross_entropy_standard_case_stays_on_the_fused_kernel(rng):
    """(N, C) logits with (N,) int64 targets go straight to the fused kernel: no permute/reshape
    recorded around it (the fast path's speed is kept)."""
    logits = fe.tensor(rng.standard_normal((8, 5)), requires_grad=True)
    out = F.cross_entropy(logits, fe.tensor(rng.integers(0, 5, 8)))
    assert out._ctx.fn is L.CrossEntropyFn and out._ctx.parents[0] is logits


# ---- modules, legacy arguments, positional signatures -------------------------------------------------

def test_modules_are_the_functional_forms(rng):
    x = rng.uniform(0.1, 0.9, (4, 3))
    y = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 2, 3)
    X, Y = fe.tensor(x), fe.tensor(y)
    pairs = [
        (nn.BCELoss(fe.tensor(w), reduction="sum")(X, Y), F.binary_cross_entropy(X, Y, fe.tensor(w), reduction="sum")),
        (nn.BCEWithLogitsLoss(pos_weight=fe.tensor(w))(X, Y), F.binary_cross_entropy_with_logits(X, Y, pos_weight=w)),
        (nn.SmoothL1Loss(beta=0.3)(X, Y), F.smooth_l1_loss(X, Y, beta=0.3)),
        (nn.HuberLoss("none", 0.3)(X, Y), F.huber_loss(X, Y, "none", 0.3)),
        (nn.KLDivLoss(reduction="batchmean", log_target=True)(X, Y),
         F.kl_div(X, Y, reduction="batchmean", log_target=True)),
    ]
    for got, want in pairs:
        np.testing.assert_array_equal(got.data, want.data)


def test_torch_positional_signatures_and_legacy_reduction_arguments(rng):
    """Arguments in torch's positions (weight third in the BCE losses; size_average / reduce where torch
    has them, mapped to a reduction with torch's deprecation warning)."""
    z, y, w = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3)), rng.uniform(0.5, 2, 3)
    Z, Y = fe.tensor(z), fe.tensor(y)
    np.testing.assert_array_equal(F.binary_cross_entropy_with_logits(Z, Y, w).data,
                                  F.binary_cross_entropy_with_logits(Z, Y, weight=w).data)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        legacy = F.smooth_l1_loss(Z, Y, None, False)
    assert legacy.shape == (4, 3)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        s = nn.BCEWithLogitsLoss(size_average=False)(Z, Y)
    np.testing.assert_allclose(s.item(), F.binary_cross_entropy_with_logits(Z, Y, reduction="sum").item(), rtol=1e-12)


# ---- the Functions against the NumPy references (no torch needed) -------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pointwise_losses_match_the_numpy_references(rng, reduction):
    x = rng.uniform(0, 1, (5, 4))
    x[0, :2] = [0, 1]
    y = rng.uniform(0, 1, (5, 4))
    w = rng.uniform(0.5, 2, (5, 4))
    np.testing.assert_allclose(F.binary_cross_entropy(fe.tensor(x), fe.tensor(y), fe.tensor(w), reduction=reduction).data,
                               R.binary_cross_entropy_forward(x, y, w, reduction), rtol=1e-12)
    d = rng.standard_normal((5, 4)) * 2
    for beta in (0.0, 0.5, 1.0):
        np.testing.assert_allclose(F.smooth_l1_loss(fe.tensor(d), fe.tensor(y), reduction=reduction, beta=beta).data,
                                   R.smooth_l1_loss_forward(d, y, reduction, beta), rtol=1e-12)
        np.testing.assert_allclose(F.huber_loss(fe.tensor(d), fe.tensor(y), reduction=reduction, delta=beta + 0.1).data,
                                   R.huber_loss_forward(d, y, reduction, beta + 0.1), rtol=1e-12)
    z = d * 2
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(fe.tensor(z), fe.tensor(y), fe.tensor(w), reduction=reduction,
                                           pos_weight=fe.tensor(w[0])).data,
        R.binary_cross_entropy_with_logits_forward(z, y, reduction, w[0], w), rtol=1e-10)
    y[1, 1] = 0
    for r2 in (reduction, "batchmean"):
        for log_target in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = F.kl_div(fe.tensor(np.log(x + 0.1)), fe.tensor(y), reduction=r2, log_target=log_target).data
            np.testing.assert_allclose(got, R.kl_div_forward(np.log(x + 0.1), y, r2, log_target), rtol=1e-12)


@pytest.mark.parametrize("fn,args", [
    (F.binary_cross_entropy, lambda rng: (rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (3, 4)))),
    (F.smooth_l1_loss, lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
    (F.huber_loss, lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((4,)))),
    (F.kl_div, lambda rng: (np.log(rng.uniform(0.1, 1, (3, 4))), rng.uniform(0.1, 1, (3, 4)))),
])
def test_float32_is_close_to_float64_with_each_gradient_in_its_dtype(rng, fn, args):
    a, b = args(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = {}
        for dt in DTYPES:
            x, y = fe.tensor(a.astype(dt), requires_grad=True), fe.tensor(b.astype(dt), requires_grad=True)
            loss = fn(x, y, reduction="sum")
            loss.backward()
            assert loss.dtype == dt and x.grad.dtype == dt and y.grad.dtype == dt
            out[dt] = (loss.data, x.grad.data, y.grad.data)
    for got, want in zip(out[np.float32], out[np.float64]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_integer_targets_take_the_inputs_dtype_as_torch(rng):
    """float32 input with an int64 target: a float32 loss (torch's promotion), not NumPy's float64."""
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x = rng.standard_normal((3, 4)).astype(np.float32)
    t = rng.integers(0, 2, (3, 4))
    for ours, theirs in ((F.smooth_l1_loss, TF.smooth_l1_loss), (F.huber_loss, TF.huber_loss),
                         (F.binary_cross_entropy_with_logits, None)):
        if theirs is None:  # torch refuses an int target here (it cannot cast the float result to long): so do we
            with pytest.raises(RuntimeError):
                TF.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t))
            with pytest.raises(RuntimeError, match="target"):
                ours(fe.tensor(x), fe.tensor(t))
            continue
        out, want = ours(fe.tensor(x), fe.tensor(t)), theirs(torch.tensor(x), torch.tensor(t)).numpy()
        assert out.dtype == want.dtype == np.float32  # (torch's backward refuses the int64 target; ours runs)
        np.testing.assert_allclose(out.data, want, rtol=2e-6)
    same_error(torch, lambda: F.kl_div(fe.tensor(x), fe.tensor(t)), lambda: TF.kl_div(torch.tensor(x), torch.tensor(t)))
