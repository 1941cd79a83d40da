"""Data: the IDX reader, the embedded MNIST split, DataLoader, random_split, and the Hugging Face
`datasets` path tested offline on a local parquet file with the hub's schema."""
import gzip
import io
import os

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.data import DataLoader, Dataset, TensorDataset, random_split
from firstepoch.datasets import mnist, normalize, read_idx

LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_embedded_mnist_is_the_real_test_set():
    x, y = mnist("test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y).tolist() == LABEL_COUNTS


def test_split_is_fixed_and_disjoint():
    xt, yt = mnist("train")
    xv, yv = mnist("validation")
    assert len(yt) == 8000 and len(yv) == 2000
    x2, y2 = mnist("train")
    assert np.array_equal(xt, x2) and np.array_equal(yt, y2)
    seen = {row.tobytes() for row in xt.reshape(8000, -1)}
    overlap = sum(row.tobytes() in seen for row in xv.reshape(2000, -1))
    assert overlap <= 5  # MNIST has a few duplicate images; the split itself shares no index
    with pytest.raises(ValueError, match="split must be"):
        mnist("dev")


def test_normalize():
    x, _ = mnist("val")
    z = normalize(x)
    assert z.shape == (2000, 784) and z.dtype == np.float32
    assert abs(z.mean()) < 0.1 and abs(z.std() - 1) < 0.1


def test_idx_reader_rejects_corrupt_files(tmp_path):
    good = tmp_path / "ok.idx"
    data = np.arange(6, dtype=np.uint8).reshape(2, 3)
    good.write_bytes(b"\x00\x00\x08\x02" + np.array([2, 3], ">i4").tobytes() + data.tobytes())
    assert np.array_equal(read_idx(str(good)), data)
    trunc = tmp_path / "trunc.idx.gz"
    with gzip.open(trunc, "wb") as f:
        f.write(b"\x00\x00\x08\x02" + np.array([2, 3], ">i4").tobytes() + data.tobytes()[:4])
    with pytest.raises(ValueError, match="should hold 6 bytes"):
        read_idx(str(trunc))
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x12\x34\x56\x78")
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(str(bad))


def test_dataloader_batches_shuffle_and_drop_last():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.arange(10)
    ds = TensorDataset(x, y)
    batches = list(DataLoader(ds, batch_size=4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert isinstance(batches[0][0], fe.Tensor) and batches[0][1].dtype == np.int64
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    a = [b[1].data.tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, generator=7)]
    b = [b[1].data.tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, generator=7)]
    assert a == b and sorted(sum(a, [])) == list(range(10)) and sum(a, []) != list(range(10))
    with pytest.raises(ValueError, match="array 1 has 3 rows"):
        TensorDataset(x, y[:3])


def test_generic_dataset_collates_per_sample():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float32(i), i * i

    batches = list(DataLoader(Squares(), batch_size=2))
    assert batches[1][1].data.tolist() == [4, 9]


def test_random_split():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], generator=np.random.default_rng(0))
    idx = sorted(a.indices.tolist() + b.indices.tolist())
    assert idx == list(range(10)) and len(a) == 7
    c, d = random_split(ds, [0.5, 0.5], generator=np.random.default_rng(0))
    assert len(c) == len(d) == 5
    with pytest.raises(ValueError, match="sum to 11"):
        random_split(ds, [8, 3])


def test_hugging_face_path_offline_parquet(tmp_path):
    datasets = pytest.importorskip("datasets")
    Image = pytest.importorskip("PIL.Image")
    x, y = mnist("val")
    x, y = x[:50], y[:50]
    pngs = []
    for img in x:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        pngs.append({"bytes": buf.getvalue(), "path": None})
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(num_classes=10)})
    ds = datasets.Dataset.from_dict({"image": pngs, "label": y.tolist()}, features=features)
    path = os.path.join(tmp_path, "mnist-test.parquet")
    ds.to_parquet(path)
    xi, yi = mnist("test", source=path)
    assert np.array_equal(xi, x) and np.array_equal(yi, y)


def test_hugging_face_missing_gives_install_hint(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_datasets(name, *a, **k):
        if name == "datasets":
            raise ImportError("no datasets")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(ImportError, match=r"pip install '\.\[hf\]'"):
        mnist("train", source="ylecun/mnist-not-cached")
