"""Array-level ops over the C++ kernels (NumPy in, NumPy out). Autograd builds on these."""
from . import elementwise, reduce, shape  # the Functions of these families
from . import softmax  # softmax.softmax, softmax.log_softmax, softmax.cross_entropy_rows, ...
from .matmul import linear, matmul

__all__ = ["matmul", "linear", "softmax"]
