"""The training data: the splits a recipe's dataset names, as arrays (load_splits), and what the loop
iterates, a data.DataLoader per epoch (epoch_loader) and per evaluation (eval_loader).

An epoch visits the order the trainer's sampler gives for it (by default data.SeededShuffle: a
permutation drawn from (seed, epoch)), cut into batches; a run resumed mid-epoch starts its loader at the
batch it stopped before, and each batch's augmentation is drawn from (seed, epoch, batch), so a resumed
run sees bitwise the batches an uninterrupted one would.
"""
import os

import numpy as np

from ..data import DataLoader, TensorDataset, transforms
from ..datasets.cifar import CIFAR10_NAME, FASHION_MNIST_NAME, load_images
from ..datasets.images import load_image_folder, stack_images
from ..datasets.mnist import mnist, normalize, split_indices
from .config import MNIST_PREPROCESS

HUB_NAMES = {"cifar10": CIFAR10_NAME, CIFAR10_NAME: CIFAR10_NAME,
             "fashion_mnist": FASHION_MNIST_NAME, FASHION_MNIST_NAME: FASHION_MNIST_NAME}
DIGITS = [str(d) for d in range(10)]


class Splits(dict):
    """{'train', 'val', 'test'} -> (float32 (N, C, H, W) normalised images, int64 labels), and
    .preprocess: how the images were made (see config.py), for the model and the checkpoint."""

    def __init__(self, splits, preprocess):
        super().__init__(splits)
        self.preprocess = preprocess


def _prepare(images, labels):
    return normalize(images, flatten=False)[:, None], np.ascontiguousarray(labels, dtype=np.int64)


def _to_model(images, labels, pre):
    """uint8 (N, H, W, C) -> float32 (N, C, H, W), (x / 255 - mean) / std per channel."""
    x = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).astype(np.float32) / np.float32(255)
    return transforms.Normalize(pre["mean"], pre["std"], inplace=True)(x), np.ascontiguousarray(labels, np.int64)


def images_to_model(images, pre):
    """float32 (N, C, H, W) model input of Pillow images, as the preprocessing record `pre` says: converted
    to its channels, resized to its size (datasets.images.stack_images), normalised."""
    x, _, _ = stack_images(images, pre["in_channels"], tuple(pre["image_size"]))
    return _to_model(x, np.zeros(len(x), np.int64), pre)[0]


def _channel_stats(images):
    """Per-channel mean and std of x / 255 over uint8 (N, H, W, C) images (float64 sums, fixed order)."""
    x = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    mean = x.mean(axis=0)
    std = np.sqrt(np.maximum(((x - mean) ** 2).mean(axis=0), 0.0))
    return [float(m) for m in mean], [float(max(s, 1e-6)) for s in std]


def _class_names(labels, names, what):
    if names is None:  # no ClassLabel: integer labels; digits 0..9 keep their ten classes
        top = int(labels.max()) + 1 if labels.size else 0
        names = DIGITS if top <= 10 else [str(i) for i in range(top)]
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
        raise ValueError(f"{what}: labels must lie in 0..{len(names) - 1}, found {labels.min()}..{labels.max()}")
    return [str(n) for n in names]


def _preprocess(train_images, classes, pre=None):
    """The preprocessing record: the given one (a checkpoint's), or MNIST's for 28 x 28 grayscale digits
    (the recipe's constants), or the training images' own per-channel mean and std."""
    if pre is not None:
        return pre
    _, h, w, c = train_images.shape
    if (c, h, w) == (1, 28, 28) and classes == DIGITS:
        return dict(MNIST_PREPROCESS)
    mean, std = _channel_stats(train_images)
    return {"in_channels": int(c), "image_size": [int(h), int(w)], "mean": mean, "std": std, "classes": classes}


def _stack(images, pre, what):
    channels, size = (None, None) if pre is None else (pre["in_channels"], tuple(pre["image_size"]))
    if not images:
        raise ValueError(f"{what}: no images")
    x, _, _ = stack_images(images, channels, size)
    return x


def load_splits(dataset="mnist-embedded", preprocess=None):
    """A Splits dict {'train', 'val', 'test'} -> (float32 (N, C, H, W) normalised images, int64 labels),
    with .preprocess (config.py) saying how they were made.

    'mnist-embedded': datasets.mnist's fixed, disjoint split of the 10,000 digits inside the package:
    8,000 train, 1,000 val, 1,000 test.
    'ylecun/mnist': the hub's 60,000 train digits split 55,000 / 5,000 into train / val, its test split
    as test. 'cifar10' (uoft-cs/cifar10) and 'fashion_mnist' (zalando-datasets/fashion_mnist): the same,
    with 5,000 of the train split (a tenth when smaller) held out for val.
    A path: a folder of class-named subfolders of image files (any size, grayscale or colour, the formats
    Pillow reads: datasets.ImageFolder), or a parquet file or folder of parquet files with the hub's
    schema (an `image` or `img` column, a `label` column); all its images split 80 / 10 / 10 in a fixed
    hash order. All grayscale images stay one channel; otherwise every image becomes RGB. Images of one
    size keep it; mixed sizes are resized and centre-cropped to the smallest side, square.
    The mean and std are the training split's per channel (MNIST's constants for 28 x 28 digits).
    preprocess: a checkpoint's record, to make the images exactly as that model was trained on.
    """
    if dataset == "mnist-embedded" and preprocess in (None, MNIST_PREPROCESS):
        return Splits({k: _prepare(*mnist(k)) for k in ("train", "val", "test")}, dict(MNIST_PREPROCESS))
    if dataset in ("ylecun/mnist", "hf") and preprocess in (None, MNIST_PREPROCESS):
        x, y = mnist("train", source="ylecun/mnist")
        tx, ty = mnist("test", source="ylecun/mnist")
        train, val = split_indices(len(y), len(y) - 5000, seed=1)
        return Splits({"train": _prepare(x[train], y[train]), "val": _prepare(x[val], y[val]),
                       "test": _prepare(tx, ty)}, dict(MNIST_PREPROCESS))
    if dataset == "mnist-embedded":  # a checkpoint's own preprocessing on the embedded digits
        images = {k: mnist(k) for k in ("train", "val", "test")}
        return Splits({k: _to_model(_stack_gray(x, preprocess), y, preprocess) for k, (x, y) in images.items()},
                      preprocess)
    if dataset in HUB_NAMES:
        name = HUB_NAMES[dataset]
        images, labels, names = load_images(name, "train", who=dataset)
        test_images, test_labels, _ = load_images(name, "test", who=dataset)
        n = len(labels)
        train, val = split_indices(n, n - min(5000, n // 10), seed=1)
        parts = {"train": ([images[i] for i in train], labels[train]), "val": ([images[i] for i in val], labels[val]),
                 "test": (test_images, test_labels)}
    elif not os.path.exists(dataset):
        raise FileNotFoundError(f"dataset must be 'mnist-embedded', 'ylecun/mnist', 'cifar10', 'fashion_mnist' or an "
                                f"existing path, got {dataset!r}")
    else:
        images, labels, names = _load_path(dataset)
        n = len(labels)
        train, rest = split_indices(n, n - 2 * (n // 10), seed=1)
        val, test = split_indices(len(rest), n // 10, seed=2)  # by hash too: a folder lists its files class by class
        val, test = rest[val], rest[test]
        parts = {k: ([images[i] for i in idx], labels[idx]) for k, idx in (("train", train), ("val", val),
                                                                            ("test", test))}
    classes = _class_names(labels, names, dataset) if preprocess is None else preprocess["classes"]
    if preprocess is not None and labels.size and labels.max() >= len(classes):
        raise ValueError(f"{dataset} has labels up to {labels.max()}, the checkpoint's model knows {len(classes)} "
                         "classes")
    train_x = _stack(parts["train"][0], preprocess, f"{dataset} (train split)")
    pre = _preprocess(train_x, classes, preprocess)
    out = {"train": _to_model(train_x, parts["train"][1], pre)}
    for k in ("val", "test"):
        x = _stack(parts[k][0], pre, f"{dataset} ({k} split)") if len(parts[k][1]) else \
            np.zeros((0, *pre["image_size"], pre["in_channels"]), np.uint8)
        out[k] = _to_model(x, parts[k][1], pre)
    return Splits(out, pre)


def _stack_gray(x, pre):
    from PIL import Image
    return stack_images([Image.fromarray(a, "L") for a in x], pre["in_channels"], tuple(pre["image_size"]))[0]


def _load_path(path):
    """(Pillow images, int64 labels, class names or None) of a local dataset path."""
    path = os.fspath(path)
    if os.path.isdir(path) and not any(f.endswith(".parquet") for _, _, files in os.walk(path) for f in files):
        return load_image_folder(path)
    return load_images(path, "train", who=path)


def check_finite(what, x):
    """A NaN or inf pixel would surface later as a diverging loss and the advice to lower the learning
    rate; name it before training instead."""
    if x is None or not np.issubdtype(np.asarray(x).dtype, np.floating) or np.isfinite(x).all():
        return
    x = np.asarray(x)
    bad = int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum())
    raise ValueError(f"the {what} data contain non-finite values ({bad} image{'s' if bad != 1 else ''})")


class SeededShifts:
    """The --augment transform: random shifts of up to 2 pixels (RandomCrop(size, padding=2), size the
    images' (H, W)), each batch's drawn from a generator seeded with (seed, epoch, batch, 1), batches
    counted from first_batch in the order the DataLoader calls it (once per batch)."""

    def __init__(self, seed, epoch, first_batch=0, size=(28, 28)):
        self.crop = transforms.RandomCrop(tuple(size), padding=2)
        self.seed, self.epoch, self.batch = int(seed), int(epoch), int(first_batch)

    def __call__(self, x):
        self.crop.generator = np.random.default_rng([self.seed, self.epoch, self.batch, 1])
        self.batch += 1
        return self.crop(x).astype(np.float32, copy=False)


def epoch_loader(dataset, order, batch_size, first_batch=0, transform=None):
    """The DataLoader of one training epoch: `dataset` visited in `order` (the epoch's index array), in
    batches of batch_size, from batch first_batch on (a resumed epoch skips the batches already done)."""
    order = np.asarray(order, dtype=np.int64)
    return DataLoader(dataset, batch_size=batch_size, sampler=order[first_batch * batch_size:], transform=transform)


def eval_loader(x, y, batch_size):
    """Arrays x, y in order, in batches of batch_size (the last one shorter)."""
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)
