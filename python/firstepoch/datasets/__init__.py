"""Datasets as NumPy arrays. MNIST: the real 10,000-digit MNIST test set ships inside the package (the
offline default); the full 70,000 come through Hugging Face `datasets` (pip install .[hf]), as do
cifar10 and fashion_mnist. ImageFolder reads a folder of class-named subfolders of image files."""
from .cifar import CIFAR10_CLASSES, FASHION_MNIST_CLASSES, cifar10, fashion_mnist
from .idx import parse_idx, read_idx
from .images import ImageFolder
from .mnist import mnist, mnist_normalized, normalize, split_indices

__all__ = ["mnist", "mnist_normalized", "normalize", "split_indices", "read_idx", "parse_idx", "ImageFolder",
           "cifar10", "fashion_mnist", "CIFAR10_CLASSES", "FASHION_MNIST_CLASSES"]
