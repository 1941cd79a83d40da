"""Ops, one file per family: each holds that family's autograd Functions (<Op>Fn, forward and backward
side by side) and is the only Python that calls _C for it; reference/<family>.py mirrors it in NumPy.
matmul.py and softmax.py hold array-level functions over the kernels (NumPy in, NumPy out)."""
from . import elementwise, reduce, shape  # the Functions of these families
from . import softmax  # softmax.softmax, softmax.log_softmax, softmax.cross_entropy_rows, ...
from .matmul import linear, matmul

__all__ = ["elementwise", "reduce", "shape", "matmul", "linear", "softmax"]
