"""firstepoch.datasets: the IDX reader, the embedded MNIST and its fixed split, normalisation, and the
Hugging Face `datasets` path run offline on local parquet files and image folders with the hub's schema."""
import gzip
import io
import os
import sys

import numpy as np
import pytest

from firstepoch.datasets import mnist, mnist_normalized, normalize, parse_idx, read_idx, split_indices
from firstepoch.datasets.idx import MAGIC_IMAGES, MAGIC_LABELS

MNIST_MODULE = sys.modules["firstepoch.datasets.mnist"]  # the package re-exports a function of the same name
LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # from NOTICE.md
TRAIN_LABEL_COUNTS = [792, 906, 813, 803, 773, 692, 779, 835, 797, 810]  # pins the 8,000 train digits


def _idx_bytes(array, code=0x08):
    array = np.asarray(array)
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


# ---- the IDX reader ------------------------------------------------------------------------------------

def test_embedded_files_read_with_their_magic_numbers():
    root = MNIST_MODULE.EMBEDDED_DIR
    images = read_idx(os.path.join(root, "t10k-images-idx3-ubyte.gz"), magic=MAGIC_IMAGES)
    labels = read_idx(os.path.join(root, "t10k-labels-idx1-ubyte.gz"), magic=MAGIC_LABELS)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8 and labels.shape == (10000,)
    assert np.bincount(labels).tolist() == LABEL_COUNTS
    assert images.max() == 255 and images.min() == 0
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        read_idx(os.path.join(root, "t10k-labels-idx1-ubyte.gz"), magic=MAGIC_IMAGES)
    assert os.path.exists(os.path.join(root, "NOTICE.md"))


@pytest.mark.parametrize("dtype,code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
                                        (np.float32, 0x0D), (np.float64, 0x0E)])
def test_idx_round_trip_every_type(tmp_path, dtype, code):
    data = (np.arange(24) - 5).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / "x.idx.gz"
    with gzip.open(path, "wb") as f:
        f.write(_idx_bytes(data, code))
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative and np.array_equal(out, data)
    out[0, 0, 0] = 1  # a writable copy


def test_idx_reader_rejects_corrupt_files(tmp_path):
    good = _idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))
    with pytest.raises(ValueError, match=r"truncated: shape \(2, 3\) of uint8 needs 6 bytes of data, found 4"):
        parse_idx(good[:-2])
    with pytest.raises(ValueError, match="longer than its header says"):
        parse_idx(good + b"\x00")
    with pytest.raises(ValueError, match="truncated inside its header"):
        parse_idx(good[:6])
    with pytest.raises(ValueError, match="bad magic 12345678"):
        parse_idx(b"\x12\x34\x56\x78")
    with pytest.raises(ValueError, match="too short"):
        parse_idx(b"\x00\x00")
    with pytest.raises(ValueError, match="negative dimension"):
        parse_idx(bytes([0, 0, 8, 1]) + np.array([-1], ">i4").tobytes())
    cut = tmp_path / "cut.idx.gz"  # a gzip stream cut off in the middle
    cut.write_bytes(gzip.compress(good * 100)[:40])
    with pytest.raises(ValueError, match="cannot read"):
        read_idx(cut)
    junk = tmp_path / "junk.idx.gz"  # not gzip at all
    junk.write_bytes(b"not a gzip file at all")
    with pytest.raises(ValueError, match="cannot read"):
        read_idx(junk)
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing.idx")


def test_root_folder_with_a_truncated_copy_fails_clearly(tmp_path):
    root = MNIST_MODULE.EMBEDDED_DIR
    with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
        images = f.read()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(images[:-100])  # unpacked names work too
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(
        open(os.path.join(root, "t10k-labels-idx1-ubyte.gz"), "rb").read())
    with pytest.raises(ValueError, match="truncated"):
        mnist("all", root=tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(images)
    x, y = mnist("all", root=tmp_path)
    assert x.shape == (10000, 28, 28) and np.bincount(y).tolist() == LABEL_COUNTS
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        mnist("test", root=tmp_path / "nowhere")


# ---- the embedded split ----------------------------------------------------------------------------------

def test_all_is_the_whole_real_test_set():
    x, y = mnist("all")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y).tolist() == LABEL_COUNTS
    x[:] = 0  # the caller gets a fresh array: the cache is untouched
    assert mnist("all")[0].max() == 255


def test_test_split_holds_no_training_or_validation_digit():
    """A torchvision habit, mnist("test") after training on mnist("train"), must not score the model
    on digits it trained on: the three splits are disjoint and together make up "all"."""
    xt, yt = mnist("train")
    xv, yv = mnist("validation")
    xs, ys = mnist("test")
    xa, ya = mnist("all")
    assert xt.shape == (8000, 28, 28) and xv.shape == (1000, 28, 28) and xs.shape == (1000, 28, 28)
    assert yt.dtype == yv.dtype == ys.dtype == np.int64
    seen = {img.tobytes() for img in np.concatenate([xt, xv])}
    assert not any(img.tobytes() in seen for img in xs)
    idx = MNIST_MODULE.embedded_split(10000)
    parts = [idx["train"], idx["val"], idx["test"]]
    assert np.sort(np.concatenate(parts)).tolist() == list(range(10000))  # disjoint, all 10,000 covered
    for part, (x, y) in zip(parts, ((xt, yt), (xv, yv), (xs, ys))):
        assert np.array_equal(xa[part], x) and np.array_equal(ya[part], y)


def test_split_sizes_determinism():
    xt, yt = mnist("train")
    assert np.bincount(yt).tolist() == TRAIN_LABEL_COUNTS  # the split never changes
    assert (np.bincount(yt) + np.bincount(mnist("val")[1]) + np.bincount(mnist("test")[1])).tolist() == LABEL_COUNTS
    x2, y2 = mnist("train")
    assert np.array_equal(xt, x2) and np.array_equal(yt, y2)
    assert np.array_equal(mnist("val")[1], mnist("valid")[1])
    train, held = split_indices(10000, 8000)
    assert np.intersect1d(train, held).size == 0 and np.union1d(train, held).tolist() == list(range(10000))
    assert np.array_equal(mnist("all")[0][train], xt)
    share = np.bincount(yt) / np.array(LABEL_COUNTS)
    assert share.min() > 0.75 and share.max() < 0.85  # not stratified, but close


def test_bad_split_and_source():
    with pytest.raises(ValueError, match="split must be"):
        mnist("dev")
    with pytest.raises(ValueError, match="split 'all' .* needs source='embedded'"):
        mnist("all", source="hf")
    with pytest.raises(TypeError, match="source must be"):
        mnist("train", source=3)


def test_normalize():
    x, _ = mnist("val")
    z = normalize(x)
    assert z.shape == (1000, 784) and z.dtype == np.float32
    assert abs(z.mean()) < 0.1 and abs(z.std() - 1) < 0.1
    edge = normalize(np.array([[[0, 255]]], np.uint8), flatten=False)
    assert edge.shape == (1, 1, 2)
    np.testing.assert_allclose(edge.ravel(), [-0.1307 / 0.3081, (1 - 0.1307) / 0.3081], rtol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        normalize(x.astype(np.float32))
    xf, yf = mnist_normalized("val")
    assert np.array_equal(xf, z) and yf.shape == (1000,)
    assert mnist_normalized("val", flatten=False)[0].shape == (1000, 28, 28)


# ---- Hugging Face, offline ------------------------------------------------------------------------------

@pytest.fixture
def hf():
    datasets = pytest.importorskip("datasets")
    image = pytest.importorskip("PIL.Image")
    return datasets, image


def _png(image_module, img):
    buf = io.BytesIO()
    image_module.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def _write_parquet(hf, path, x, y):
    """A parquet file with the hub's schema: `image` PNG structs {bytes, path}, `label` a ClassLabel."""
    datasets, image = hf
    features = datasets.Features({"image": datasets.Image(),
                                  "label": datasets.ClassLabel(names=[str(d) for d in range(10)])})
    pngs = [{"bytes": _png(image, img), "path": None} for img in x]
    datasets.Dataset.from_dict({"image": pngs, "label": y.tolist()}, features=features).to_parquet(str(path))


def test_hf_parquet_file_decodes_once(hf, tmp_path, monkeypatch):
    x, y = mnist("val")
    x, y = x[:60], y[:60]
    path = tmp_path / "mnist-test.parquet"
    _write_parquet(hf, path, x, y)
    calls = []
    decode = MNIST_MODULE._decode_images
    monkeypatch.setattr(MNIST_MODULE, "_decode_images", lambda *a: calls.append(1) or decode(*a))
    xi, yi = mnist("test", source=path, root=tmp_path / "cache")
    assert xi.dtype == np.uint8 and yi.dtype == np.int64
    assert np.array_equal(xi, x) and np.array_equal(yi, y)
    xj, yj = mnist("val", source=str(path), root=tmp_path / "cache")  # "val" reads the hub's test split
    assert np.array_equal(xj, x) and len(calls) == 1  # decoded once, then served from memory


def test_hf_parquet_folder_with_train_and_test_files(hf, tmp_path):
    x, y = mnist("test")
    folder = tmp_path / "mnist"
    folder.mkdir()
    _write_parquet(hf, folder / "train-00000-of-00001.parquet", x[:40], y[:40])
    _write_parquet(hf, folder / "test-00000-of-00001.parquet", x[40:60], y[40:60])
    xt, yt = mnist("train", source=folder, root=tmp_path / "cache")
    xv, yv = mnist("val", source=folder, root=tmp_path / "cache")
    assert np.array_equal(xt, x[:40]) and np.array_equal(yt, y[:40])
    assert np.array_equal(xv, x[40:60]) and np.array_equal(yv, y[40:60])


def test_hf_imagefolder_labels_are_folder_digits(hf, tmp_path):
    _, image = hf
    x, y = mnist("test")
    keep = np.flatnonzero((y == 3) | (y == 7))[:12]  # two digits only: ClassLabel indices 0, 1 mean 3, 7
    for i in keep:
        folder = tmp_path / "digits" / str(y[i])
        folder.mkdir(parents=True, exist_ok=True)
        image.fromarray(x[i]).convert("RGB").save(folder / f"{i:05d}.png")  # RGB files decode to grey
    xi, yi = mnist("train", source=tmp_path / "digits", root=tmp_path / "cache")
    assert sorted(yi.tolist()) == sorted(y[keep].tolist())
    for img, label in zip(xi, yi):  # each decoded image is one of the originals with its label
        match = np.flatnonzero((x[keep] == img).all(axis=(1, 2)))
        assert match.size and y[keep][match[0]] == label


def test_hf_wrong_image_size_or_columns(hf, tmp_path):
    datasets, image = hf
    big = np.zeros((2, 32, 32), np.uint8)
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})
    datasets.Dataset.from_dict({"image": [{"bytes": _png(image, b), "path": None} for b in big], "label": [1, 2]},
                               features=features).to_parquet(str(tmp_path / "big.parquet"))
    with pytest.raises(ValueError, match=r"image 0 of .*big.parquet is \(32, 32\), expected \(28, 28\)"):
        mnist("test", source=tmp_path / "big.parquet", root=tmp_path / "cache")
    datasets.Dataset.from_dict({"pixels": [1, 2], "label": [1, 2]}).to_parquet(str(tmp_path / "cols.parquet"))
    with pytest.raises(ValueError, match=r"needs columns 'image' \(or 'img'\) and 'label'"):
        mnist("test", source=tmp_path / "cols.parquet", root=tmp_path / "cache")


def test_hf_hub_unreachable_points_to_the_embedded_copy(hf, tmp_path):
    datasets, _ = hf
    if not datasets.config.HF_HUB_OFFLINE:
        pytest.skip("HF_HUB_OFFLINE is not set: this test must not touch the network")
    with pytest.raises(RuntimeError, match="could not load 'ylecun/mnist'.*works offline"):
        mnist("train", source="hf", root=tmp_path / "empty-cache")


def test_hf_missing_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError, installed or not
    with pytest.raises(ImportError, match=r"pip install '\.\[hf\]'.*embedded"):
        mnist("train", source="ylecun/mnist")


def test_a_local_file_that_is_not_parquet_is_named_as_such(tmp_path):
    """A stray file given as a dataset is refused for what it is, with or without the hf extra."""
    junk = tmp_path / "notes.txt"
    junk.write_text("not digits\n")
    with pytest.raises(ValueError, match=r"notes.txt is not a parquet file \(a dataset path is a parquet file"):
        mnist("train", source=junk)
