"""firstepoch.distributions against torch.distributions' formulas: log_prob, entropy, moments, KL, sample
shapes and frequencies, and gradients through rsample and log_prob (REINFORCE and VAE code). Expected
values are written out, so these run without torch; the last test compares with it."""
import math

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.distributions import Bernoulli, Categorical, Normal, Uniform, kl_divergence

LOGITS = np.array([[1.0, 2.0, -1.0], [0.0, 0.0, 3.0]])


def test_normal():
    d = Normal(fe.tensor([0.5, -1.0], dtype=fe.float64), fe.tensor([1.5, 0.3], dtype=fe.float64))
    x = np.array([0.1, 2.0])
    want = -((x - [0.5, -1.0]) ** 2) / (2 * np.array([1.5, 0.3]) ** 2) - np.log([1.5, 0.3]) - 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(d.log_prob(fe.tensor(x)).numpy(), want)
    np.testing.assert_allclose(d.entropy().numpy(), 0.5 + 0.5 * math.log(2 * math.pi) + np.log([1.5, 0.3]))
    assert d.batch_shape == (2,) and d.sample().shape == (2,) and d.sample((4, 3)).shape == (4, 3, 2)
    assert not d.sample().requires_grad
    fe.manual_seed(0)
    big = Normal(2.0, 3.0).sample((20000,)).numpy()
    assert abs(big.mean() - 2.0) < 0.1 and abs(big.std() - 3.0) < 0.1 and big.dtype == np.float32
    mu = fe.tensor([0.5], dtype=fe.float64, requires_grad=True)
    sigma = fe.tensor([2.0], dtype=fe.float64, requires_grad=True)
    fe.manual_seed(1)
    z = Normal(mu, sigma).rsample()
    z.sum().backward()
    assert mu.grad.tolist() == [1.0] and sigma.grad.item() == pytest.approx((z.item() - 0.5) / 2.0)
    with pytest.raises(ValueError, match="positive"):
        Normal(0.0, -1.0, validate_args=True)


def test_categorical():
    d = Categorical(logits=fe.tensor(LOGITS))
    norm = LOGITS - np.log(np.exp(LOGITS).sum(-1, keepdims=True))
    np.testing.assert_allclose(d.log_prob(fe.tensor([2, 0])).numpy(), [norm[0, 2], norm[1, 0]])
    np.testing.assert_allclose(d.log_prob(fe.tensor([[2], [1]])).numpy(), [[norm[0, 2], norm[1, 2]],
                                                                           [norm[0, 1], norm[1, 1]]])
    np.testing.assert_allclose(d.entropy().numpy(), -(np.exp(norm) * norm).sum(-1))
    assert d.batch_shape == (2,) and d.sample().shape == (2,) and d.sample((5,)).dtype == np.int64
    fe.manual_seed(0)
    draws = Categorical(probs=fe.tensor([0.2, 0.5, 0.3])).sample((20000,)).numpy()
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000, [0.2, 0.5, 0.3], atol=0.015)
    # zero-probability categories: never drawn, entropy finite, log_prob -inf-like
    z = Categorical(probs=fe.tensor([0.0, 1.0]))
    assert set(z.sample((100,)).numpy().tolist()) == {1} and np.isfinite(z.entropy().item())
    # REINFORCE: the gradient of log_prob reaches the logits
    logits = fe.tensor(LOGITS, requires_grad=True)
    Categorical(logits=logits).log_prob(fe.tensor([2, 0])).sum().backward()
    p = np.exp(norm)
    np.testing.assert_allclose(logits.grad.numpy(), np.eye(3)[[2, 0]] - p)
    with pytest.raises(ValueError, match="not both"):
        Categorical(probs=fe.tensor([0.5, 0.5]), logits=fe.tensor([0.0, 0.0]))


def test_bernoulli_uniform_and_kl():
    b = Bernoulli(logits=fe.tensor([0.1, 2.0], dtype=fe.float64))
    p = 1 / (1 + np.exp(-np.array([0.1, 2.0])))
    np.testing.assert_allclose(b.log_prob(fe.tensor([1.0, 0.0], dtype=fe.float64)).numpy(), [np.log(p[0]), np.log(1 - p[1])])
    np.testing.assert_allclose(b.entropy().numpy(), -(p * np.log(p) + (1 - p) * np.log(1 - p)))
    fe.manual_seed(0)
    assert abs(Bernoulli(probs=0.3).sample((20000,)).numpy().mean() - 0.3) < 0.015
    u = Uniform(fe.tensor([0.0, 1.0]), fe.tensor([2.0, 1.5]))
    np.testing.assert_allclose(u.log_prob(fe.tensor([1.0, 1.2])).numpy(), -np.log([2.0, 0.5]), rtol=1e-6)
    with pytest.raises(ValueError, match="within the support"):  # torch's default: validate_args
        u.log_prob(fe.tensor([3.0, 1.2]))
    unchecked = Uniform(fe.tensor([0.0, 1.0]), fe.tensor([2.0, 1.5]), validate_args=False)
    assert unchecked.log_prob(fe.tensor([3.0, 1.2])).numpy()[0] == -np.inf
    np.testing.assert_allclose(u.entropy().numpy(), np.log([2.0, 0.5]), rtol=1e-6)
    # KL of two normals: log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2
    kl = kl_divergence(Normal(0.5, 1.5), Normal(0.0, 1.0)).item()
    assert kl == pytest.approx(math.log(1 / 1.5) + (1.5 ** 2 + 0.25) / 2 - 0.5, rel=1e-6)
    q = np.array([0.3, 0.3, 0.4])
    kl = kl_divergence(Categorical(probs=fe.tensor([0.2, 0.5, 0.3])), Categorical(probs=fe.tensor(q))).item()
    assert kl == pytest.approx(float(np.sum([0.2, 0.5, 0.3] * np.log(np.array([0.2, 0.5, 0.3]) / q))), rel=1e-5)
    with pytest.raises(NotImplementedError, match="Normal and Uniform"):
        kl_divergence(Normal(0.0, 1.0), Uniform(0.0, 1.0))


def test_matches_torch_where_installed():
    torch = pytest.importorskip("torch")
    T = torch.distributions
    q = np.array([[0.3, 0.3, 0.4], [0.1, 0.1, 0.8]])
    pairs = [
        (Categorical(logits=fe.tensor(LOGITS)), T.Categorical(logits=torch.tensor(LOGITS)), np.array([2, 0])),
        (Bernoulli(logits=fe.tensor([0.1, -3.0])), T.Bernoulli(logits=torch.tensor([0.1, -3.0])), np.array([1.0, 0.0])),
        (Normal(fe.tensor([0.5, -1.0]), fe.tensor([1.5, 0.3])), T.Normal(torch.tensor([0.5, -1.0]), torch.tensor([1.5, 0.3])),
         np.array([0.1, 2.0], np.float32)),
        (Uniform(fe.tensor([0.0, 1.0]), fe.tensor([2.0, 1.5])), T.Uniform(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 1.5])),
         np.array([1.0, 1.2], np.float32)),
    ]
    for ours, theirs, v in pairs:
        np.testing.assert_allclose(ours.log_prob(fe.tensor(v)).numpy(), theirs.log_prob(torch.tensor(v)).numpy(), rtol=1e-5)
        np.testing.assert_allclose(ours.entropy().numpy(), theirs.entropy().numpy(), rtol=1e-5)
        assert ours.batch_shape == tuple(theirs.batch_shape) and ours.sample((3,)).shape == tuple(theirs.sample((3,)).shape)
    np.testing.assert_allclose(
        kl_divergence(Categorical(logits=fe.tensor(LOGITS)), Categorical(probs=fe.tensor(q))).numpy(),
        T.kl_divergence(T.Categorical(logits=torch.tensor(LOGITS)), T.Categorical(probs=torch.tensor(q))).numpy(), rtol=1e-6)
    assert repr(Bernoulli(probs=0.3)) == repr(T.Bernoulli(probs=torch.tensor(0.3)))
