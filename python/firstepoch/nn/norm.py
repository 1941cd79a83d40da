"""Batch normalisation layers; running statistics live in buffers and travel in state_dict."""
import numpy as np

from ..ops.norm import BatchNormFn
from .module import Module, Parameter


class _BatchNorm(Module):
    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 dtype=np.float32):
        super().__init__()
        if num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be positive, got {num_features}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def forward(self, x):
        if x.ndim not in self.expected_dims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input of {self.expected_dims[0]} "
                             f"or {self.expected_dims[-1]} dims with {self.num_features} channels, got {tuple(x.shape)}")
        if self.weight is not None and x.dtype != self.weight.dtype:  # as torch (RuntimeError, its message)
            raise RuntimeError(f"mixed dtype (CPU): all inputs must share same datatype. ({type(self).__name__}: "
                               f"input {x.dtype}, weight {self.weight.dtype})")
        use_batch = self.training or not self.track_running_stats
        rm = self.running_mean if self.track_running_stats else None
        rv = self.running_var if self.track_running_stats else None
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
        # training: batch statistics, running ones updated; evaluation: the running statistics
        return BatchNormFn.apply(x, self.weight, self.bias, rm, rv, use_batch, self.momentum, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L)."""
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W)."""
    expected_dims = (4,)
