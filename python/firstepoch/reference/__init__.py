"""NumPy implementations of every firstepoch kernel, written as a learner would write them.

They are the oracle for the tests and the baseline every benchmark reports against. NumPy only:
nothing here calls into ``firstepoch._C``.
"""
from . import softmax
from .gemm import gemm, matmul
from .softmax import cross_entropy, log_softmax

__all__ = ["gemm", "matmul", "softmax", "log_softmax", "cross_entropy"]
