"""CIFAR-10 and Fashion-MNIST as NumPy arrays, through Hugging Face `datasets` (pip install '.[hf]'):
a hub name (default uoft-cs/cifar10, zalando-datasets/fashion_mnist) or a local parquet file or folder
with the hub's schema (cifar10: `img` PNGs and a `label` ClassLabel; fashion_mnist: `image`, `label`).
Each split is decoded once per process and kept in memory."""
import os

import numpy as np

from . import hub
from .images import stack_images

CIFAR10_NAME = "uoft-cs/cifar10"
FASHION_MNIST_NAME = "zalando-datasets/fashion_mnist"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FASHION_MNIST_CLASSES = ("T - shirt / top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot")  # the hub's ClassLabel names

_cache = {}


def _hf_split(split, who):
    names = {"train": "train", "test": "test", "val": "test", "validation": "test"}
    if not isinstance(split, str) or split not in names:
        raise ValueError(f"{who}: split must be 'train' or 'test' ('val' reads the test split, as mnist), "
                         f"got {split!r}")
    return names[split]


def load_images(source, split, root=None, who="dataset"):
    """(Pillow images, int64 labels, class names or None) of one split of a hub name or local parquet
    path with the hub's schema, cached per process (the same list on a second call)."""
    source = os.fspath(source)
    hub.check_parquet(source, who)
    hf = hub.import_hf(who, "")
    hf_split = _hf_split(split, who)
    key = (os.path.abspath(source) if os.path.exists(source) else source, hf_split, root)
    if key not in _cache:
        ds = hub.load_hf_dataset(hf, source, hf_split, root, who)
        column, labels, names = hub.image_table(hf, ds, source, who)
        _cache[key] = (hub.open_images(column, source, who), labels, names)
    return _cache[key]


def _arrays(source, split, root, who, channels, size, n_classes):
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"{who}: source must be a hub name or a path, got {type(source).__name__}")
    images, labels, _ = load_images(source, split, None if root is None else os.fspath(root), who)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{who}: labels of {os.fspath(source)} must lie in 0..{n_classes - 1}, "
                         f"found {labels.min()}..{labels.max()}")
    for i, img in enumerate(images):
        if (img.height, img.width) != size:
            raise ValueError(f"{who}: image {i} of {os.fspath(source)} is {(img.height, img.width)}, expected {size}")
    x, _, _ = stack_images(images, channels=channels, size=size)
    return (x if channels == 3 else x[..., 0]), labels.copy()


def cifar10(split="train", source=CIFAR10_NAME, root=None):
    """(uint8 (N, 32, 32, 3) images, int64 labels (N,)) of CIFAR-10's "train" (50,000) or "test" (10,000;
    "val" reads it too) split; class names in CIFAR10_CLASSES. source: a hub name or a local parquet file
    or folder with the hub's schema; root: Hugging Face's cache folder (None: its default)."""
    return _arrays(source, split, root, "cifar10", 3, (32, 32), 10)


def fashion_mnist(split="train", source=FASHION_MNIST_NAME, root=None):
    """(uint8 (N, 28, 28) images, int64 labels (N,)) of Fashion-MNIST's "train" (60,000) or "test" (10,000;
    "val" reads it too) split; class names in FASHION_MNIST_CLASSES. source and root as cifar10's."""
    return _arrays(source, split, root, "fashion_mnist", 1, (28, 28), 10)
