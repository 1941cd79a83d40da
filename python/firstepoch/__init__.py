"""firstepoch: deep learning from first principles that is also fast.

Readable NumPy references (``firstepoch.reference``) beside C++ SIMD/OpenMP kernels (``firstepoch._C``).
"""
from . import _C
from ._C import get_num_threads, set_num_threads
from . import autograd
from . import data, datasets, models, nn, optim
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .random import manual_seed
from . import distributed, io, viz
from .io import load, save
from .trainer import Trainer
from .profiler import profile
from . import inspect, interpret
from .tensor import (Tensor, arange, cat, from_numpy, full, matmul, ones, ones_like, rand, rand_like, randn,
                     randn_like, stack, tensor, where, zeros, zeros_like)

float32 = "float32"
float64 = "float64"
int64 = "int64"


def cpu_info():
    """The ISA in use, the ISAs this CPU and build support, the thread count and the kernel names."""
    return _C.cpu_info()


__version__ = getattr(_C, "__version__", "0.0.0")

__all__ = ["cpu_info", "get_num_threads", "set_num_threads", "__version__", "Tensor", "tensor", "from_numpy",
           "zeros", "ones", "full", "rand", "randn", "arange", "zeros_like", "ones_like", "rand_like",
           "randn_like", "cat", "stack", "where", "matmul", "manual_seed", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "autograd", "nn", "optim", "data", "datasets", "models", "float32",
           "float64", "int64", "io", "viz", "distributed", "save", "load", "Trainer", "profile", "inspect", "interpret"]
