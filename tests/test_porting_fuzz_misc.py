"""Differences found by fuzzing interpolate, fold/unfold, embedding, one_hot and distributions against
PyTorch 2.13; expected values are written out (torch's), so these run without torch."""
import math

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.distributions import Bernoulli, Categorical, Distribution, Normal, Uniform, kl_divergence


@pytest.mark.parametrize("sf", [math.inf, math.nan, 1e30])
def test_interpolate_unrepresentable_scale_is_runtime_error(sf):
    with pytest.raises(RuntimeError, match="int64_t without overflow"):
        F.interpolate(fe.zeros(1, 1, 4, 4), scale_factor=sf)


def test_unfold_fold_rank_and_empty_dims():
    with pytest.raises(IndexError, match=r"\[8, 6\]"):
        F.unfold(fe.zeros(8, 6), 2)
    with pytest.raises(RuntimeError, match="kernel size should be greater than zero"):
        F.unfold(fe.zeros(8, 6), 0)  # the arguments are checked before the rank, as torch
    for shape in [(1, 0, 4, 4), (0, 4, 4), (4, 0, 4)]:
        with pytest.raises(RuntimeError, match="non-zero"):
            F.unfold(fe.zeros(*shape), 1)
    for shape in [(1, 0, 4), (1, 4, 0), (0, 4), (4, 0)]:
        with pytest.raises(RuntimeError, match="non-zero"):
            F.fold(fe.zeros(*shape), 2, 1)
    assert F.unfold(fe.zeros(0, 2, 3, 3), 2).shape == (0, 8, 4)  # an empty batch is fine
    assert F.fold(fe.zeros(0, 4, 4), 3, 2).shape == (0, 1, 3, 3)


def test_embedding_zero_dim_backward():
    w = fe.zeros(3, 0, requires_grad=True)
    F.embedding(fe.tensor([[0, 2, 2]]), w).sum().backward()
    assert w.grad.shape == (3, 0)


@pytest.mark.parametrize("nc", [0, -2])
def test_one_hot_empty_without_classes(nc):
    with pytest.raises(RuntimeError, match="Can not infer total number of classes"):
        F.one_hot(fe.zeros(2, 0, dtype=fe.int64), nc)
    assert F.one_hot(fe.zeros(0, dtype=fe.int64), 3).shape == (0, 3)


def test_distribution_numbers_take_the_tensor_dtype():
    d = Normal(fe.tensor([0.5], dtype=fe.float64), 0.1)
    assert d.scale.dtype == np.float64
    # torch: -0.5 * ((0.7 - 0.5) / 0.1)**2 - log(0.1) - log(sqrt(2 pi)) in float64
    assert d.log_prob(fe.tensor([0.7], dtype=fe.float64)).item() == pytest.approx(-0.6163534402106259, rel=1e-14)
    with pytest.raises(ValueError, match="must be a Tensor"):  # torch validates by default
        d.log_prob(0.7)
    assert Normal(fe.tensor([0.5], dtype=fe.float64), 0.1, validate_args=False).log_prob(0.7).dtype == np.float64
    u = Uniform(fe.tensor([0.0], dtype=fe.float64), 0.3)
    assert u.high.dtype == np.float64 and u.stddev.item() == pytest.approx(0.3 / 12 ** 0.5, rel=1e-15)


def test_uniform_mode_and_kl():
    assert np.isnan(Uniform(0.0, 1.0).mode.item())
    p, q = Uniform(fe.tensor([0.0, 0.0]), fe.tensor([1.0, 1.0])), Uniform(fe.tensor([-1.0, 0.5]), fe.tensor([2.0, 3.0]))
    np.testing.assert_allclose(kl_divergence(p, q).numpy(), [math.log(3.0), math.inf])


def test_bernoulli_mode_and_kl_edges():
    np.testing.assert_array_equal(Bernoulli(probs=fe.tensor([0.2, 0.5, 0.7])).mode.numpy(), [0.0, np.nan, 1.0])
    p = Bernoulli(probs=fe.tensor([0.3, 0.3, 0.0, 1.0]))
    q = Bernoulli(probs=fe.tensor([0.0, 1.0, 0.5, 0.5]))
    np.testing.assert_allclose(kl_divergence(p, q).numpy(), [math.inf, math.inf, math.log(2), math.log(2)], rtol=1e-6)


def test_categorical_kl_zero_probability_in_q():
    p = Categorical(probs=fe.tensor([[0.5, 0.5], [1.0, 0.0]]))
    q = Categorical(probs=fe.tensor([[1.0, 0.0], [0.5, 0.5]]))
    np.testing.assert_allclose(kl_divergence(p, q).numpy(), [math.inf, math.log(2)], rtol=1e-6)


def test_validate_args_errors():
    with pytest.raises(ValueError, match="parameter probs"):
        Bernoulli(probs=fe.tensor([1.5]), validate_args=True)
    with pytest.raises(ValueError, match="parameter low"):
        Uniform(fe.tensor([1.0]), fe.tensor([0.0]), validate_args=True)
    with pytest.raises(ValueError, match="parameter loc"):
        Normal(fe.tensor([math.nan]), 1.0, validate_args=True)
    with pytest.raises(ValueError, match="within the support"):
        Bernoulli(probs=0.3, validate_args=True).log_prob(fe.tensor(0.5))
    with pytest.raises(ValueError, match="within the support"):
        Categorical(logits=fe.zeros(3), validate_args=True).log_prob(fe.tensor(3))
    with pytest.raises(ValueError, match="within the support"):
        Uniform(0.0, 1.0, validate_args=True).log_prob(fe.tensor(2.0))
    with pytest.raises(ValueError, match="must be a Tensor"):
        Normal(0.0, 1.0, validate_args=True).log_prob(0.5)
    with pytest.raises(ValueError, match="not broadcastable"):
        Normal(fe.zeros(3), 1.0, validate_args=True).log_prob(fe.zeros(2))
    assert Uniform(0.0, 1.0, validate_args=True).log_prob(fe.tensor(1.0)).item() == -math.inf  # closed support
    default = Distribution._validate_args
    assert default is True  # torch's default (validate unless python -O)
    with pytest.raises(ValueError):
        Normal(0.0, -1.0)
    try:
        Distribution.set_default_validate_args(False)
        Normal(0.0, -1.0)  # not validated
    finally:
        Distribution.set_default_validate_args(default)


def test_normal_sample_negative_scale_and_repr():
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        Normal(0.0, -1.0, validate_args=False).sample()  # (validated, the constructor refuses it)
    assert repr(Bernoulli(logits=fe.tensor([0.1, 0.2]))) == "Bernoulli(logits: Size([2]))"
    assert repr(Categorical(logits=fe.zeros(2, 3))) == "Categorical(logits: Size([2, 3]))"
    assert repr(Normal(fe.tensor([0.0]), 1.0)) == "Normal(loc: tensor([0.]), scale: tensor([1.]))"
