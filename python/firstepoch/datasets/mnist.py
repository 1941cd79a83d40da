"""MNIST as NumPy arrays: offline from the copy inside the package, or through Hugging Face `datasets`.

The embedded data is the real MNIST test set (10,000 digits, IDX format; CC BY-SA 3.0, Yann LeCun,
Corinna Cortes and Christopher J. C. Burges: see data/mnist/NOTICE.md). Its split into three disjoint
parts is fixed and does not depend on the NumPy version: digit i gets the key splitmix64(i + SPLIT_SEED);
the 8,000 digits with the smallest keys are "train"; the other 2,000 are held out, and the same hash
(seed HELD_OUT_SEED) over their positions cuts them into 1,000 "val" and 1,000 "test". The split is not
stratified (each digit's share of "train" is 80% give or take a couple of points). "all" is the whole
10,000, train digits included: it is not a test split.

Hugging Face (`pip install .[hf]`): "train" is the hub's 60,000-digit train split, "val" and "test"
are both its 10,000-digit test split ("all" is for the embedded set only). The PNGs are decoded once
per process into a uint8 array and kept in memory; batches slice that array.
"""
import io
import os

import numpy as np

from . import hub
from .idx import MAGIC_IMAGES, MAGIC_LABELS, read_idx

EMBEDDED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist")
IMAGES_FILE = "t10k-images-idx3-ubyte.gz"
LABELS_FILE = "t10k-labels-idx1-ubyte.gz"
SPLIT_SEED = 0
HELD_OUT_SEED = 1
N_TRAIN = 8000
MEAN, STD = 0.1307, 0.3081
HF_NAME = "ylecun/mnist"
HF_INSTALL_HINT = hub.HF_INSTALL_HINT

_cache = {}  # decoded arrays, one entry per source and split: never decode twice


def _split_name(split):
    names = {"train": "train", "val": "val", "validation": "val", "valid": "val", "test": "test", "all": "all"}
    if not isinstance(split, str) or split not in names:
        raise ValueError(f"mnist: split must be 'train', 'val' (or 'validation'), 'test' or 'all' (the embedded "
                         f"10,000, train digits included), got {split!r}")
    return names[split]


def _splitmix64(x):
    """A fixed bijective hash of uint64s (Vigna's splitmix64 finaliser), vectorised; wraps mod 2**64."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def split_indices(n, n_train, seed=SPLIT_SEED):
    """(train, val) index arrays, each sorted: the n_train indices with the smallest hash keys, and the rest."""
    order = np.argsort(_splitmix64(np.arange(n, dtype=np.uint64) + np.uint64(seed)), kind="stable")
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def embedded_split(n):
    """{'train', 'val', 'test'} -> sorted, disjoint index arrays into the n embedded digits: the N_TRAIN
    with the smallest keys train, the rest cut in half (seed HELD_OUT_SEED) into val and test."""
    train, held = split_indices(n, N_TRAIN)
    val, test = split_indices(len(held), len(held) // 2, seed=HELD_OUT_SEED)
    return {"train": train, "val": held[val], "test": held[test]}


# ---- embedded IDX files --------------------------------------------------------------------------------

def _find(root, name):
    for candidate in (name, name[:-3]):  # the .gz file or its unpacked twin
        path = os.path.join(root, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"mnist: no {name} (or {name[:-3]}) in {root}")


def _load_idx_pair(root):
    key = ("idx", os.path.abspath(root))
    if key not in _cache:
        images = read_idx(_find(root, IMAGES_FILE), magic=MAGIC_IMAGES)
        labels = read_idx(_find(root, LABELS_FILE), magic=MAGIC_LABELS).astype(np.int64)
        if images.shape[1:] != (28, 28):
            raise ValueError(f"mnist: images in {root} are {images.shape[1:]}, expected (28, 28)")
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"mnist: {root} holds {images.shape[0]} images but {labels.shape[0]} labels")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise ValueError(f"mnist: labels in {root} must lie in 0..9, found {labels.min()}..{labels.max()}")
        _cache[key] = (images, labels)
    return _cache[key]


# ---- Hugging Face ----------------------------------------------------------------------------------------

_OFFLINE_NOTE = "the embedded default (source='embedded') needs neither"


def _import_hf():
    return hub.import_hf("mnist", _OFFLINE_NOTE)


def _load_hf_dataset(hf, source, hf_split, root):
    return hub.load_hf_dataset(hf, source, hf_split, root, "mnist",
                               "the embedded copy works offline: mnist(split) with source='embedded'")


def _decode_images(column, source):
    """A pyarrow column of {"bytes", "path"} PNG structs -> uint8 (N, 28, 28), each PNG decoded once."""
    from PIL import Image

    blobs = column.field("bytes").to_pylist()
    paths = column.field("path").to_pylist()
    images = np.empty((len(blobs), 28, 28), dtype=np.uint8)
    for i, (blob, path) in enumerate(zip(blobs, paths)):
        with Image.open(io.BytesIO(blob) if blob is not None else path) as img:
            pixels = np.asarray(img if img.mode == "L" else img.convert("L"))
        if pixels.shape != (28, 28):
            raise ValueError(f"mnist: image {i} of {source} is {pixels.shape}, expected (28, 28)")
        images[i] = pixels
    return images


def _labels_as_digits(labels, names, source):
    # an imagefolder's ClassLabel indexes its folder names in sorted order; map folders "0".."9" to digits
    if names and all(str(n).isdigit() for n in names):
        labels = np.asarray([int(n) for n in names], dtype=np.int64)[labels]
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"mnist: labels of {source} must lie in 0..9, found {labels.min()}..{labels.max()}")
    return labels


def _load_hf(split, source, root):
    hf = _import_hf()
    hf_split = "train" if split == "train" else "test"
    local = os.path.exists(source)
    key = ("hf", os.path.abspath(source) if local else source, hf_split, root)
    if key not in _cache:
        ds = _load_hf_dataset(hf, source, hf_split, root)
        column, labels, names = hub.image_table(hf, ds, source, "mnist")
        _cache[key] = (_decode_images(column, source), _labels_as_digits(labels, names, source))
    return _cache[key]


# ---- the public functions ------------------------------------------------------------------------------

def mnist(split="train", source="embedded", root=None):
    """(images uint8 (N, 28, 28), labels int64 (N,)) of one split of MNIST, as fresh NumPy arrays.

    split: "train", "val" (or "validation"), "test", or "all" (embedded only: the whole 10,000, train
        digits included, so never a test split for a model trained on "train").
    source: "embedded" (the default; offline, the 10,000 digits inside the package split into disjoint
        8,000 train / 1,000 val / 1,000 test), "hf" or "ylecun/mnist" (the Hugging Face hub, any hub name with the same
        schema also works), or a local path: a parquet file, or a folder of parquet files or of images
        (an imagefolder, one subfolder per digit) with the hub's schema: an `image` column of PNGs and
        a `label` column. A single file is one split and is returned whole for any split.
    root: for "embedded", a folder holding the two t10k IDX files (.gz or unpacked) to read instead of
        the package's copy; for the hub and local paths, Hugging Face's cache folder (load_dataset's
        cache_dir; None uses its default).
    """
    split = _split_name(split)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"mnist: source must be 'embedded', 'hf', a hub name or a path, got {type(source).__name__}")
    source = os.fspath(source)
    if source == "embedded":
        images, labels = _load_idx_pair(EMBEDDED_DIR if root is None else os.fspath(root))
        if split == "all":
            return images.copy(), labels.copy()
        idx = embedded_split(len(labels))[split]
        return images[idx], labels[idx]
    if split == "all":
        raise ValueError(f"mnist: split 'all' (the 10,000 embedded digits) needs source='embedded', got {source!r}")
    if source == "hf":
        source = HF_NAME
    hub.check_parquet(source, "mnist")
    images, labels = _load_hf(split, source, None if root is None else os.fspath(root))
    return images.copy(), labels.copy()  # the cache stays intact whatever the caller does


def normalize(images, flatten=True):
    """uint8 images -> float32 (x / 255 - 0.1307) / 0.3081 (MNIST's mean and std), flattened to
    (N, 784) by default."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"normalize: expected uint8 images (0..255), got dtype {images.dtype}")
    x = (images.astype(np.float32) / np.float32(255) - np.float32(MEAN)) / np.float32(STD)
    return x.reshape(len(x), -1) if flatten else x


def mnist_normalized(split="train", source="embedded", root=None, flatten=True):
    """mnist(split, source, root) with the images through normalize: (float32 (N, 784), int64 (N,)),
    ready for an MLP (flatten=False keeps (N, 28, 28))."""
    images, labels = mnist(split, source, root)
    return normalize(images, flatten=flatten), labels
