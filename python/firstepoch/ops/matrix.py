"""Square-matrix ops on NumPy's LAPACK: inverse, determinant, solve (firstepoch.linalg builds on them).

`LinAlgError` is torch.linalg.LinAlgError: a RuntimeError subclass, raised for a singular or
non-positive-definite input, naming the op and the batch entry as torch does.
"""
import numpy as np


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a factorisation or inversion could not be completed (a RuntimeError)."""
