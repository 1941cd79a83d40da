"""Array-level ops over the C++ kernels (NumPy in, NumPy out). Autograd builds on these."""
from .matmul import linear, matmul

__all__ = ["matmul", "linear"]
