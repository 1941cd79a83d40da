"""Datasets. MNIST: the real 10,000-digit MNIST test set ships inside the package (offline default);
the full set comes through Hugging Face `datasets` (pip install .[hf])."""
from .mnist import mnist, normalize, read_idx

__all__ = ["mnist", "normalize", "read_idx"]
