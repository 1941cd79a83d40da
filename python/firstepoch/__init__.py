"""firstepoch: deep learning from first principles that is also fast.

Readable NumPy references (``firstepoch.reference``) beside C++ SIMD/OpenMP kernels (``firstepoch._C``).
"""
from . import _C
from ._C import get_num_threads, set_num_threads


def cpu_info():
    """The ISA in use, the ISAs this CPU and build support, the thread count and the kernel names."""
    return _C.cpu_info()


__version__ = getattr(_C, "__version__", "0.0.0")

__all__ = ["cpu_info", "get_num_threads", "set_num_threads", "__version__"]
