"""Hugging Face `datasets` for the image loaders (mnist, cifar10, fashion_mnist, a parquet path): the
optional import, one split of a hub name or a local parquet file/folder, and its image column as raw
bytes, decoded once with Pillow. `pip install '.[hf]'` adds `datasets`; Pillow is a core dependency."""
import io
import os

import numpy as np

from .._optional import import_optional

HF_INSTALL_HINT = "pip install '.[hf]' (Hugging Face datasets and Pillow)"
IMAGE_COLUMNS = ("image", "img")  # the hub's names: ylecun/mnist and fashion_mnist say image, cifar10 says img


def import_hf(who, offline_note):
    hf, _ = import_optional("datasets", "PIL.Image",  # Pillow decodes the PNGs
                            why=f"{who}: loading through Hugging Face needs the optional extra: {HF_INSTALL_HINT}"
                                + (f"; {offline_note}" if offline_note else ""))
    return hf


def pick_split(dd, hf_split, source, who):
    """One split of a DatasetDict: the one named hf_split, or the only one there is."""
    if hf_split in dd:
        return dd[hf_split]
    if len(dd) == 1:
        return next(iter(dd.values()))
    raise ValueError(f"{who}: {source} has splits {sorted(dd)}, none named {hf_split!r}")


def load_hf_dataset(hf, source, hf_split, root, who, offline_note=""):
    """One split of `source`: a parquet file (one file is one split, whatever split is asked for), a folder
    of parquet files (or, for mnist, of class-named image folders), or a hub name."""
    if os.path.isfile(source):
        dd = hf.load_dataset("parquet", data_files={"train": source}, cache_dir=root)
        return pick_split(dd, hf_split, source, who)
    if os.path.isdir(source):
        has_parquet = any(name.endswith(".parquet") for _, _, files in os.walk(source) for name in files)
        builder = "parquet" if has_parquet else "imagefolder"
        dd = hf.load_dataset(builder, data_dir=source, cache_dir=root)
        return pick_split(dd, hf_split, source, who)
    try:
        return hf.load_dataset(source, split=hf_split, cache_dir=root)
    except OSError as e:  # ConnectionError, hub HTTP errors, "not found" (all OSErrors)
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") else ""
        raise RuntimeError(f"{who}: could not load {source!r} from the Hugging Face hub{offline}: "
                           f"{type(e).__name__}: {e}. The hub is unreachable or the dataset is not cached"
                           + (f"; {offline_note}" if offline_note else "")) from None


def check_parquet(source, who):
    """A local file given as a dataset must be parquet (its first four bytes PAR1)."""
    if os.path.isfile(source):
        with open(source, "rb") as f:
            magic = f.read(4)
        if magic != b"PAR1":
            raise ValueError(f"{who}: {source} is not a parquet file (a dataset path is a parquet file, or a folder "
                             "of parquet files or of class-named image folders)")


def image_table(hf, ds, source, who):
    """(the image column as a pyarrow {bytes, path} struct column, int64 labels, class names or None) of a
    split with the hub's schema: an `image` (or `img`) column and a `label` column."""
    column = next((c for c in IMAGE_COLUMNS if c in ds.column_names), None)
    if column is None or "label" not in ds.column_names:
        raise ValueError(f"{who}: {source} needs columns 'image' (or 'img') and 'label', has {ds.column_names}")
    ds = ds.cast_column(column, hf.Image(decode=False))  # raw bytes: we decode them ourselves, once
    table = ds.with_format("arrow")[:]
    labels = table.column("label").to_numpy().astype(np.int64)
    names = getattr(ds.features["label"], "names", None)
    images = table.column(column)
    images = images.combine_chunks() if hasattr(images, "combine_chunks") else images
    return images, labels, (list(names) if names else None)


def open_images(column, source, who):
    """Pillow images, fully read, from a pyarrow {bytes, path} column; a bad one is a ValueError naming it."""
    from PIL import Image

    out = []
    for i, (blob, path) in enumerate(zip(column.field("bytes").to_pylist(), column.field("path").to_pylist())):
        try:
            img = Image.open(io.BytesIO(blob) if blob is not None else path)
            img.load()
        except (OSError, ValueError) as e:
            raise ValueError(f"{who}: image {i} of {source} cannot be read ({type(e).__name__}: {e})") from None
        out.append(img)
    return out
