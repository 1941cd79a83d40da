"""Matrix product a @ b on the GEMM kernel (the other arithmetic is in ops/elementwise.py)."""
import numpy as np

from .. import _C
from ..ops.matmul import matmul as _ops_matmul
from .function import Function, product_backward_flops, unbroadcast


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _matmul(a, b):
    """ops.matmul, copying an operand only when its layout is one the kernel cannot read (a reversed
    or strided view): at the Tensor level any view is allowed, as in PyTorch."""
    try:
        return _ops_matmul(a, b)
    except ValueError as e:
        if "ascontiguousarray" not in str(e):
            raise
        return _ops_matmul(np.ascontiguousarray(a), np.ascontiguousarray(b))


class MatMul(Function):
    """a @ b with NumPy's rules (2-D and batched), on the GEMM kernel.

    Backward of C = A @ B: dA = dC @ B^T and dB = A^T @ dC, read through the kernel's transpose flags
    (no transposed copies); batch axes that were broadcast are summed back.
    """

    kernel = "gemm"
    backward_flops = staticmethod(product_backward_flops)

    @staticmethod
    def flops(ctx, inputs, out):
        return 2 * int(out.size) * int(inputs[0].shape[-1])  # a multiply and an add per (output, k)

    @staticmethod
    def forward(ctx, a, b):
        ctx.saved_tensors = (a, b)
        if a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[0] and a.dtype in _FLOATS:
            # the common case straight to the kernel; a layout it cannot read takes the general path
            out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
            try:
                _C.gemm(a, b, out)
                return out
            except ValueError:
                pass
        return _matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad = np.ascontiguousarray(grad)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = _matmul(g, np.swapaxes(b2, -1, -2))
            da = unbroadcast(da, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:
                # b was shared by every batch entry: dB = sum_i A_i^T dC_i is one GEMM over the rows of
                # all entries at once, with no per-entry products to sum afterwards
                k = a2.shape[-1]
                db = _matmul(a2.reshape(-1, k).T, g.reshape(-1, g.shape[-1])).reshape(b.shape)
            else:
                db = _matmul(np.swapaxes(a2, -1, -2), g)
                db = unbroadcast(db, b2.shape).reshape(b.shape)
        return da, db

    @staticmethod
    def gradcheck_cases(rng):
        return [((rng.standard_normal((3, 4)), rng.standard_normal((4, 5))), {}),
                ((rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 2))), {}),
                ((rng.standard_normal((4,)), rng.standard_normal((2, 4, 3))), {}),
                ((rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((4,))), {}),
                ((rng.standard_normal((3, 4)), rng.standard_normal((4,))), {})]
