"""Matrix products in NumPy, the oracle for firstepoch.ops.linalg: ``gemm`` (``_C.gemm``: out = alpha *
op(a) @ op(b) + beta * out (+ bias) (ReLU)) and ``matmul`` (``ops.linalg.matmul``)."""
import numpy as np


def gemm(a, b, out=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None, relu=False):
    """Reference for ``firstepoch._C.gemm``; returns a new array (``out`` is only read, for beta)."""
    op_a = np.swapaxes(a, -1, -2) if trans_a else a
    op_b = np.swapaxes(b, -1, -2) if trans_b else b
    result = alpha * np.matmul(op_a, op_b)
    if beta != 0:  # beta == 0 never reads out, as in BLAS: NaN in out must not leak through
        result = result + beta * out
    if bias is not None:
        result = result + bias  # one value per output column
    if relu:
        result = np.maximum(result, 0)  # NaN stays NaN
    return result.astype(a.dtype, copy=False)


def matmul(a, b):
    """Reference for ``firstepoch.ops.matmul``: NumPy's own matmul."""
    return np.matmul(a, b)
