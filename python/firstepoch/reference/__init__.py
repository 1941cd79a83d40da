"""NumPy implementations of every firstepoch kernel, written as a learner would write them.

They are the oracle for the tests and the baseline every benchmark reports against. NumPy only:
nothing here calls into ``firstepoch._C``.
"""
from . import conv, elementwise, norm, reduce, rnn, shape
from .gemm import gemm, matmul
from .mlp import NumpyMLP
from .softmax import (cross_entropy, cross_entropy_backward, log_softmax, log_softmax_backward, softmax,
                      softmax_backward)

__all__ = ["conv", "elementwise", "norm", "reduce", "rnn", "shape", "gemm", "matmul", "softmax", "log_softmax",
           "softmax_backward", "log_softmax_backward", "cross_entropy", "cross_entropy_backward"]
