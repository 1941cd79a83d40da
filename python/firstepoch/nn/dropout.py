"""Dropout modules over firstepoch.ops.dropout (inverted dropout; masks come from firstepoch.manual_seed's
generator): Dropout (elements), Dropout1d, Dropout2d and Dropout3d (whole channels), AlphaDropout and
FeatureAlphaDropout (SELU networks)."""
from ..ops import dropout as _dropout
from .composite import dropout1d
from .module import Module


class _DropoutNd(Module):
    function = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        _dropout._check_p(p, type(self).__name__)
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return type(self).function(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zeroes each element with probability p while training, scaling the rest by 1/(1-p)."""
    function = staticmethod(_dropout.dropout)


class Dropout2d(_DropoutNd):
    """Zeroes whole channels of (N, C, H, W) with probability p while training. As PyTorch 2.13, a 3-d
    input is taken as (N, C, L) (with PyTorch's warning), not as an unbatched (C, H, W)."""
    function = staticmethod(_dropout.dropout2d)


class Dropout3d(_DropoutNd):
    """Zeroes whole channels of (N, C, D, H, W) or unbatched (C, D, H, W) with probability p while
    training (another rank: PyTorch's warning, F.dropout3d)."""
    function = staticmethod(_dropout.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps a SELU network's mean 0 and variance 1 (PyTorch's formula)."""
    function = staticmethod(_dropout.alpha_dropout)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) or (C, L) with probability p while training."""
    function = staticmethod(dropout1d)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (one draw per (N, C)), as torch's."""
    function = staticmethod(_dropout.feature_alpha_dropout)
