"""NumPy implementations of every firstepoch kernel, written as a learner would write them.

They are the oracle for the tests and the baseline every benchmark reports against. NumPy only:
nothing here calls into ``firstepoch._C``.
"""
from .gemm import gemm, matmul

__all__ = ["gemm", "matmul"]
