"""MNIST, offline from the embedded copy or through Hugging Face `datasets`.

The embedded data is the real MNIST test set (10,000 digits, IDX format; CC BY-SA 3.0, Yann LeCun,
Corinna Cortes and Christopher J. C. Burges: see data/mnist/NOTICE.md). Its default split is fixed:
a permutation drawn with seed 0 sends 8,000 digits to "train" and the other 2,000 to "val".
"test" is all 10,000 (it overlaps both: report it only for models trained on other data).
"""
import gzip
import io
import os

import numpy as np

_HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist")
_IMAGES = "t10k-images-idx3-ubyte.gz"
_LABELS = "t10k-labels-idx1-ubyte.gz"
SPLIT_SEED = 0
N_TRAIN = 8000
MEAN, STD = 0.1307, 0.3081

_cache = {}


def read_idx(path):
    """Reads an IDX file (optionally gzip): big-endian magic (0x08 = uint8 data, then the rank), the
    dimension sizes as big-endian int32, then the data. Raises ValueError on a corrupt or truncated file."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"read_idx: cannot read {path}: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"read_idx: {path} is not an IDX file of uint8 data (bad magic {raw[:4]!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated inside its header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    count = int(np.prod(dims))
    if len(raw) - header != count:
        raise ValueError(f"read_idx: {path} should hold {count} bytes of data for shape {dims}, "
                         f"found {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _embedded():
    if "embedded" not in _cache:
        images = read_idx(os.path.join(_HERE, _IMAGES))
        labels = read_idx(os.path.join(_HERE, _LABELS)).astype(np.int64)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"embedded MNIST: {images.shape[0]} images but {labels.shape[0]} labels")
        _cache["embedded"] = (images, labels)
    return _cache["embedded"]


def _split_name(split):
    names = {"train": "train", "val": "val", "validation": "val", "valid": "val", "test": "test"}
    if split not in names:
        raise ValueError(f"mnist: split must be 'train', 'val' (or 'validation') or 'test', got {split!r}")
    return names[split]


def _from_hf_table(ds):
    """Decodes a Hugging Face dataset with an `image` column (PNG) and `label` once, into arrays."""
    from PIL import Image

    table = ds.with_format("arrow")[:] if hasattr(ds, "with_format") else ds
    images_col = table.column("image").to_pylist()
    labels = np.asarray(table.column("label").to_pylist(), dtype=np.int64)
    images = np.empty((len(images_col), 28, 28), dtype=np.uint8)
    for i, item in enumerate(images_col):  # decode each PNG once, here, never per batch
        data = item["bytes"] if isinstance(item, dict) else item
        images[i] = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    return images, labels


def _hf(split, source):
    try:
        import datasets as hf
    except ImportError:
        raise ImportError("mnist(source=...) from Hugging Face needs the optional extra: pip install '.[hf]' "
                          "(datasets and Pillow); the embedded default (source='embedded') needs neither") from None
    key = (source, split)
    if key in _cache:
        return _cache[key]
    hf_split = {"train": "train", "val": "test", "test": "test"}[split]
    try:
        if os.path.exists(source):
            if os.path.isdir(source):
                ds = hf.load_dataset("imagefolder", data_dir=source, split=hf_split)
            else:
                ds = hf.load_dataset("parquet", data_files={hf_split: source}, split=hf_split)
        else:
            ds = hf.load_dataset(source, split=hf_split)
    except (ConnectionError, OSError, ValueError) as e:
        if os.path.exists(source):
            raise
        raise RuntimeError(f"mnist: could not load {source!r} from the Hugging Face hub ({e}); the embedded "
                           "copy works offline: mnist(split, source='embedded')") from None
    images, labels = _from_hf_table(ds.cast_column("image", hf.Image(decode=False)))
    _cache[key] = (images, labels)
    return images, labels


def mnist(split="train", source="embedded"):
    """(images uint8 (N, 28, 28), labels int64 (N,)) of one split.

    source: "embedded" (offline, the default), "ylecun/mnist" or "hf" (the hub: its "train" split for
    "train", its "test" split for "val"/"test"), or a path to a parquet file or an imagefolder with the
    hub's schema (an `image` column of PNG bytes, an int `label`).
    """
    split = _split_name(split)
    if source == "embedded":
        images, labels = _embedded()
        if split == "test":
            return images, labels
        order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
        idx = order[:N_TRAIN] if split == "train" else order[N_TRAIN:]
        idx = np.sort(idx)
        return images[idx], labels[idx]
    if source == "hf":
        source = "ylecun/mnist"
    return _hf(split, source)


def normalize(images, flatten=True):
    """uint8 images -> float32 (x / 255 - 0.1307) / 0.3081, flattened to (N, 784) by default."""
    x = (images.astype(np.float32) / 255.0 - MEAN) / STD
    return x.reshape(len(x), -1) if flatten else x
