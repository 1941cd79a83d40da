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


def _as_param(value, name, who, dtype=None):
    """A Tensor parameter as it is (an integer one as float32); a number as a 0-d Tensor of `dtype` (torch's
    broadcast_all: the dtype of the Tensor arguments given with it, else the default dtype)."""
    if isinstance(value, Tensor):
        return value if value.dtype.kind == "f" else value.float()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return tensor(float(value), dtype=get_default_dtype() if dtype is None else dtype)
    raise TypeError(f"{who}: {name} must be a Tensor or a number, got {type(value).__name__}")


def _broadcast_all(values, names, who):
    """torch.distributions.utils.broadcast_all: numbers take the first Tensor argument's dtype, then every
    argument is broadcast to one shape."""
    dtype = next((v.dtype for v in values if isinstance(v, Tensor) and v.dtype.kind == "f"), None)
    params = [_as_param(v, n, who, dtype) for v, n in zip(values, names)]
    shape = np.broadcast_shapes(*(p.shape for p in params))
    return [p if p.shape == shape else p.expand(*shape) for p in params]


def _promoted(value, *params):
    """params cast to the result dtype of value with them (torch computes in the promoted dtype)."""
    dt = np.result_type(value.dtype, *(p.dtype for p in params))
    return [p if p.dtype == dt else p.to(dt) for p in params]


def _masked(t, mask, fill):
    """t with `fill` where the NumPy bool array mask holds (torch's `t[mask] = fill`: no gradient there)."""
    mask = np.broadcast_to(mask, t.shape)
    if not mask.any():
        return t
    from .tensor import where
    return where(Tensor(mask), Tensor(np.full(t.shape, fill, dtype=t.dtype)), t)


def _extended(sample_shape, shape):
    if isinstance(sample_shape, int):
        sample_shape = (sample_shape,)
    return tuple(sample_shape) + tuple(shape)


def _draw(fn, shape, dtype):
    return Tensor(np.asarray(fn(_random.as_generator(None, "distributions"), shape), dtype=dtype))


class Distribution:
    """batch_shape and event_shape as torch's; subclasses define rsample or sample, log_prob, entropy.

    validate_args=True checks the parameters at construction and log_prob's value (a Tensor, broadcastable
    with batch_shape, inside the support), raising torch's ValueErrors. validate_args=None takes the class
    default, torch's: True unless Python runs with -O (`set_default_validate_args` changes it)."""

    has_rsample = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        if validate_args is not None:
            self._validate_args = bool(validate_args)
        if self._validate_args:
            for name, check, constraint in self._arg_checks():
                value = getattr(self, name)
                if not bool(np.all(check(value.detach().numpy()))):
                    raise ValueError(f"Expected parameter {name} (Tensor of shape {tuple(value.shape)}) of "
                                     f"distribution {self!r} to satisfy the constraint {constraint}, but found "
                                     f"invalid values:\n{value}")

    def _arg_checks(self):
        """(parameter name, check on its NumPy values, torch's constraint repr) for each given parameter."""
        return ()

    def _support_check(self, value):
        """(check on a NumPy value, torch's support repr)."""
        return (lambda v: v == v), "Real()"

    def _value(self, value, who):
        """log_prob's value as a Tensor: validated as torch's _validate_sample when validating, a number
        otherwise taking the parameters' dtype."""
        if self._validate_args:
            if not isinstance(value, Tensor):
                raise ValueError("The value argument to log_prob must be a Tensor")
            actual, expected = tuple(value.shape), self._batch_shape + self._event_shape
            if self._event_shape and actual[len(actual) - len(self._event_shape):] != self._event_shape:
                raise ValueError(f"The right-most size of value must match event_shape: {actual} vs "
                                 f"{self._event_shape}.")
            for i, j in zip(reversed(actual), reversed(expected)):
                if i != 1 and j != 1 and i != j:
                    raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {actual} vs "
                                     f"{expected}.")
            values = value.detach().numpy()
            check, support = self._support_check(values)
            if not bool(np.all(check(values))):
                raise ValueError(f"Expected value argument (Tensor of shape {actual}) to be within the support "
                                 f"({support}) of the distribution {self!r}, but found invalid values:\n{value}")
        return _as_param(value, "value", who, getattr(self, self._params[0]).dtype)

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

    def __repr__(self):  # torch's: the parameters given, a one-element one by value, a larger one by its shape
        shown = []
        for name in self._params:
            v = getattr(self, name)
            text = v.item() if v.ndim == 0 else v if v.numel() == 1 else 'Size(' + str(list(v.shape)) + ')'
            shown.append(f"{name}: {text}")
        return f"{type(self).__name__}({', '.join(shown)})"


class Normal(Distribution):
    """Normal(loc, scale): rsample is loc + scale * eps, so gradients reach loc and scale."""

    _params = ("loc", "scale")

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast_all((loc, scale), ("loc", "scale"), "Normal")
        super().__init__(self.loc.shape, (), validate_args)

    def _arg_checks(self):
        return (("loc", lambda v: v == v, "Real()"),
                ("scale", lambda v: v > 0, "GreaterThan(lower_bound=0.0) (scale must be positive)"))

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

    def sample(self, sample_shape=()):
        if not bool(np.all(self.scale.detach().numpy() >= 0)):
            raise RuntimeError(f"normal expects all elements of std >= 0.0 (Normal.sample: scale of shape "
                               f"{tuple(self.scale.shape)})")
        return super().sample(sample_shape)

    def rsample(self, sample_shape=()):
        shape = _extended(sample_shape, self.batch_shape)
        eps = _draw(lambda g, s: g.standard_normal(s), shape, self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = self._value(value, "Normal.log_prob")
        loc, scale = _promoted(value, self.loc, self.scale)
        var = scale ** 2
        return -((value - loc) ** 2) / (2 * var) - scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()



def _probs_logits(probs, logits, who, binary):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    if probs is not None:
        probs = _as_param(probs, "probs", who)
        if not binary and probs.ndim < 1:
            raise ValueError("`probs` parameter must be at least one-dimensional.")
        if binary:
            eps = float(np.finfo(probs.dtype).eps)
            p = probs.clamp(eps, 1 - eps)
            return probs, p.log() - (1 - p).log()
        probs = probs / probs.sum(-1, keepdim=True)
        eps = float(np.finfo(probs.dtype).eps)
        return probs, probs.clamp(eps, 1 - eps).log()
    logits = _as_param(logits, "logits", who)
    if not binary and logits.ndim < 1:
        raise ValueError("`logits` parameter must be at least one-dimensional.")
    if binary:
        return logits.sigmoid(), logits
    logits = logits - logits.logsumexp(-1, keepdim=True)
    return logits.exp(), logits


class Bernoulli(Distribution):
    """Bernoulli(probs=None, logits=None) over {0, 1}; samples are floats, as torch's."""

    _params = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._given = "probs" if probs is not None else "logits"
        self.probs, self.logits = _probs_logits(probs, logits, "Bernoulli", True)
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def _params(self):
        return (self._given,)

    def _arg_checks(self):
        if self._given == "probs":
            return (("probs", lambda v: (v >= 0) & (v <= 1), "Interval(lower_bound=0.0, upper_bound=1.0)"),)
        return (("logits", lambda v: v == v, "Real()"),)

    def _support_check(self, value):
        return (lambda v: (v == 0) | (v == 1)), "Boolean()"

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = np.array(self.probs.detach().numpy() >= 0.5, dtype=self.probs.dtype)
        mode[self.probs.detach().numpy() == 0.5] = np.nan
        return Tensor(mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = _extended(sample_shape, self.batch_shape)
        with no_grad():
            u = _draw(lambda g, s: g.random(s), shape, self.probs.dtype)
            return (u < self.probs).to(self.probs.dtype)

    def log_prob(self, value):
        value = self._value(value, "Bernoulli.log_prob")
        logits, = _promoted(value, self.logits)
        return value * logits - logits.softplus()  # -BCE with logits

    def entropy(self):
        return self.logits.softplus() - self.probs * self.logits



class Categorical(Distribution):
    """Categorical(probs=None, logits=None) over the last dimension's categories: sample gives int64
    indices of batch_shape; log_prob(value) the normalised logit at each index."""

    _params = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._given = "probs" if probs is not None else "logits"
        self.probs, self.logits = _probs_logits(probs, logits, "Categorical", False)
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1], (), validate_args)

    @property
    def _params(self):
        return (self._given,)

    def _arg_checks(self):
        if self._given == "probs":
            return (("probs", lambda v: np.all(v >= 0, -1) & (np.abs(v.sum(-1) - 1) < 1e-6), "Simplex()"),)
        return (("logits", lambda v: np.all(v == v, -1), "IndependentConstraint(Real(), 1)"),)

    def _support_check(self, value):
        k = self._num_events - 1
        return (lambda v: (v % 1 == 0) & (v >= 0) & (v <= k)), f"IntegerInterval(lower_bound=0, upper_bound={k})"

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
        if self._validate_args:
            self._value(value, "Categorical.log_prob")
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
        self.low, self.high = _broadcast_all((low, high), ("low", "high"), "Uniform")
        super().__init__(self.low.shape, (), validate_args)

    def _arg_checks(self):
        low, high = self.low.detach().numpy(), self.high.detach().numpy()
        return (("low", lambda v: v < high, f"LessThan(upper_bound={self.high})"),
                ("high", lambda v: v > low, f"GreaterThan(lower_bound={self.low})"))

    def _support_check(self, value):
        low, high = self.low.detach().numpy(), self.high.detach().numpy()
        return (lambda v: (low <= v) & (v <= high)), f"Interval(lower_bound={self.low}, upper_bound={self.high})"

    @property
    def mode(self):
        return self.high * math.nan

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

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
        value = self._value(value, "Uniform.log_prob")
        inside = ((value >= self.low) & (value < self.high)).to(self.low.dtype)  # the parameters' dtype, as torch
        return inside.log() - (self.high - self.low).log()

    def entropy(self):
        return (self.high - self.low).log()



def kl_divergence(p, q):
    """KL(p || q) for two Normals, Bernoullis, Categoricals or Uniforms (NotImplementedError otherwise), with
    torch's infinities where q gives zero probability to what p may draw."""
    if isinstance(p, Normal) and isinstance(q, Normal):
        var_ratio = (p.scale / q.scale) ** 2
        t1 = ((p.loc - q.loc) / q.scale) ** 2
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        pp, qp = p.probs.detach().numpy(), q.probs.detach().numpy()
        t1 = p.probs * ((-q.logits).softplus() - (-p.logits).softplus())
        t1 = _masked(_masked(t1, qp == 0, math.inf), pp == 0, 0.0)
        t2 = (1 - p.probs) * (q.logits.softplus() - p.logits.softplus())
        t2 = _masked(_masked(t2, qp == 1, math.inf), pp == 1, 0.0)
        return t1 + t2
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        t = p.probs * (p.logits - q.logits)
        t = _masked(t, q.probs.detach().numpy() == 0, math.inf)
        t = _masked(t, p.probs.detach().numpy() == 0, 0.0)  # 0 log 0 = 0
        return t.sum(-1)
    if isinstance(p, Uniform) and isinstance(q, Uniform):
        result = ((q.high - q.low) / (p.high - p.low)).log()
        outside = (q.low.detach().numpy() > p.low.detach().numpy()) | (q.high.detach().numpy() < p.high.detach().numpy())
        return _masked(result, outside, math.inf)
    raise NotImplementedError(f"kl_divergence: no formula for {type(p).__name__} and {type(q).__name__}")

