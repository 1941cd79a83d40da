"""torch.distributions' common members: Normal, Bernoulli, Categorical, Uniform and kl_divergence, for the
code that samples actions (REINFORCE: Categorical(logits=...).sample(), .log_prob(a)) or reparameterises
(a VAE's Normal(mu, sigma).rsample() and kl_divergence). log_prob, entropy and rsample are built from
recorded Tensor ops, so gradients flow to the parameters; sample() records nothing.

Deliberate difference: the draws come from firstepoch's generator (NumPy's stream, see firstepoch.random),
so a seed repeats a run but the values differ from torch's. Not here: the other families, transforms,
constraints objects, expand(), cdf/icdf.
"""
import math
import numbers

import numpy as np

from . import random as _random
from .autograd import no_grad
from .tensor import Tensor, get_default_dtype, tensor

__all__ = ["Distribution", "Normal", "Bernoulli", "Categorical", "Uniform", "kl_divergence"]


def _as_param(value, name, who):
    if isinstance(value, Tensor):
        return value if value.dtype.kind == "f" else value.float()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return tensor(float(value), dtype=get_default_dtype())
    raise TypeError(f"{who}: {name} must be a Tensor or a number, got {type(value).__name__}")


def _broadcast(*params):
    shape = np.broadcast_shapes(*(p.shape for p in params))
    return [p if p.shape == shape else p.expand(*shape) for p in params]


def _extended(sample_shape, shape):
    if isinstance(sample_shape, int):
        sample_shape = (sample_shape,)
    return tuple(sample_shape) + tuple(shape)


def _draw(fn, shape, dtype):
    return Tensor(np.asarray(fn(_random.as_generator(None, "distributions"), shape), dtype=dtype))


class Distribution:
    """batch_shape and event_shape as torch's; subclasses define rsample or sample, log_prob, entropy."""

    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = bool(validate_args)

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sample (rsample)")

    def sample_n(self, n):
        return self.sample((n,))

    @property
    def stddev(self):
        return self.variance.sqrt()

    _params = ()

    def __repr__(self):  # torch's: a one-element parameter by value, a larger one by its shape
        shown = []
        for name in self._params:
            v = getattr(self, name)
            shown.append(f"{name}: {v.item() if v.numel() == 1 else 'Size(' + str(list(v.shape)) + ')'}")
        return f"{type(self).__name__}({', '.join(shown)})"


class Normal(Distribution):
    """Normal(loc, scale): rsample is loc + scale * eps, so gradients reach loc and scale."""

    _params = ("loc", "scale")

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast(_as_param(loc, "loc", "Normal"), _as_param(scale, "scale", "Normal"))
        if validate_args and not bool((self.scale > 0).all()):
            raise ValueError(f"Expected parameter scale of Normal to be positive, got {self.scale}")
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale ** 2

    def rsample(self, sample_shape=()):
        shape = _extended(sample_shape, self.batch_shape)
        eps = _draw(lambda g, s: g.standard_normal(s), shape, self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = _as_param(value, "value", "Normal.log_prob")
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()



def _probs_logits(probs, logits, who, binary):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    if probs is not None:
        probs = _as_param(probs, "probs", who)
        if binary:
            eps = float(np.finfo(probs.dtype).eps)
            p = probs.clamp(eps, 1 - eps)
            return probs, p.log() - (1 - p).log()
        probs = probs / probs.sum(-1, keepdim=True)
        eps = float(np.finfo(probs.dtype).eps)
        return probs, probs.clamp(eps, 1 - eps).log()
    logits = _as_param(logits, "logits", who)
    if binary:
        return logits.sigmoid(), logits
    logits = logits - logits.logsumexp(-1, keepdim=True)
    return logits.exp(), logits


class Bernoulli(Distribution):
    """Bernoulli(probs=None, logits=None) over {0, 1}; samples are floats, as torch's."""

    _params = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=None):
        self.probs, self.logits = _probs_logits(probs, logits, "Bernoulli", True)
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return (self.probs >= 0.5).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = _extended(sample_shape, self.batch_shape)
        with no_grad():
            u = _draw(lambda g, s: g.random(s), shape, self.probs.dtype)
            return (u < self.probs).to(self.probs.dtype)

    def log_prob(self, value):
        value = _as_param(value, "value", "Bernoulli.log_prob")
        return value * self.logits - self.logits.softplus()  # -BCE with logits

    def entropy(self):
        return self.logits.softplus() - self.probs * self.logits



class Categorical(Distribution):
    """Categorical(probs=None, logits=None) over the last dimension's categories: sample gives int64
    indices of batch_shape; log_prob(value) the normalised logit at each index."""

    _params = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=None):
        self.probs, self.logits = _probs_logits(probs, logits, "Categorical", False)
        if self.probs.ndim < 1:
            raise ValueError("Categorical: probs or logits need at least one dimension (the categories)")
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1], (), validate_args)

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return Tensor(np.full(self.batch_shape, np.nan, self.probs.dtype))

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return Tensor(np.full(self.batch_shape, np.nan, self.probs.dtype))

    def sample(self, sample_shape=()):
        shape = _extended(sample_shape, self.batch_shape)
        p = self.probs.detach().numpy().astype(np.float64)
        cdf = np.cumsum(p, axis=-1)
        cdf /= cdf[..., -1:]
        u = _random.as_generator(None, "Categorical.sample").random(shape + (1,))
        idx = (u >= np.broadcast_to(cdf, shape + (self._num_events,))).sum(-1)
        return Tensor(np.minimum(idx, self._num_events - 1).astype(np.int64))

    def log_prob(self, value):
        if not isinstance(value, Tensor):
            value = Tensor(np.asarray(value, dtype=np.int64))
        value = value.long()
        shape = np.broadcast_shapes(value.shape, self.batch_shape)
        logits = self.logits.expand(*(shape + (self._num_events,))) if shape != self.batch_shape else self.logits
        index = value.expand(*shape) if value.shape != shape else value
        return logits.gather(-1, index.unsqueeze(-1)).squeeze(-1)

    def entropy(self):
        low = float(np.finfo(self.logits.dtype).min)
        return -(self.probs * self.logits.clamp(min=low)).sum(-1)

    def enumerate_support(self, expand=True):
        values = np.arange(self._num_events, dtype=np.int64).reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = np.broadcast_to(values, (self._num_events,) + self.batch_shape).copy()
        return Tensor(values)



class Uniform(Distribution):
    """Uniform(low, high) on [low, high): rsample is low + (high - low) * u."""

    _params = ("low", "high")

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = _broadcast(_as_param(low, "low", "Uniform"), _as_param(high, "high", "Uniform"))
        if validate_args and not bool((self.low < self.high).all()):
            raise ValueError("Expected parameter low of Uniform to be less than high")
        super().__init__(self.low.shape, (), validate_args)

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        shape = _extended(sample_shape, self.batch_shape)
        u = _draw(lambda g, s: g.random(s), shape, self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        value = _as_param(value, "value", "Uniform.log_prob")
        inside = ((value >= self.low) & (value < self.high)).to(self.low.dtype)
        return inside.log() - (self.high - self.low).log()

    def entropy(self):
        return (self.high - self.low).log()



def kl_divergence(p, q):
    """KL(p || q) for two Normals, two Bernoullis or two Categoricals (NotImplementedError otherwise)."""
    if isinstance(p, Normal) and isinstance(q, Normal):
        var_ratio = (p.scale / q.scale) ** 2
        t1 = ((p.loc - q.loc) / q.scale) ** 2
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        return (p.probs * (_log_sigmoid(p.logits) - _log_sigmoid(q.logits))
                + (1 - p.probs) * (_log_sigmoid(-p.logits) - _log_sigmoid(-q.logits)))
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        t = p.probs * (p.logits - q.logits)
        t = t * (p.probs > 0).to(t.dtype)  # 0 log 0 = 0
        return t.sum(-1)
    raise NotImplementedError(f"kl_divergence: no formula for {type(p).__name__} and {type(q).__name__}")


def _log_sigmoid(x):
    return -(-x).softplus()
