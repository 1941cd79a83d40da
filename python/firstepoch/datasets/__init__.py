"""Datasets as NumPy arrays. MNIST: the real 10,000-digit MNIST test set ships inside the package (the
offline default); the full 70,000 come through Hugging Face `datasets` (pip install .[hf])."""
from .idx import parse_idx, read_idx
from .mnist import mnist, mnist_normalized, normalize, split_indices

__all__ = ["mnist", "mnist_normalized", "normalize", "split_indices", "read_idx", "parse_idx"]
