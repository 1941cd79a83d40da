"""Images beyond the 28x28 digits: torchvision's image transforms (checked against their definitions and
Pillow, and against torchvision itself where it imports), ImageFolder, cifar10 and fashion_mnist offline
on parquet files with the hub's schema, load_splits on folders and parquet of any size and channel count,
models sized by the data, and `firstepoch train` / `evaluate` / `predict` end to end on them."""
import io
import json
import math

import numpy as np
import pytest

import firstepoch as fe
from firstepoch.cli import main
from firstepoch.data import transforms as T
from firstepoch.datasets import ImageFolder

Image = pytest.importorskip("PIL.Image")  # a core dependency: present wherever firstepoch is installed
ImageEnhance = pytest.importorskip("PIL.ImageEnhance")

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _rgb(rng, h, w):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png(a):
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def _class_image(label, rng, size=32, channels=3):
    """A learnable picture of class `label`: a bright band whose row and colour say the class."""
    a = rng.integers(0, 60, (size, size, channels)).astype(np.uint8)
    band = (label * 3) % (size - 4)
    a[band:band + 4, :, label % channels] = 255
    return a if channels == 3 else a[:, :, 0]


# ---- transforms against their definitions ------------------------------------------------------------

def test_resize_int_matches_the_smaller_edge_and_is_pillows_bilinear():
    rng = np.random.default_rng(0)
    a = _rgb(rng, 20, 30)
    out = T.Resize(10)(a)
    assert out.shape == (10, 15, 3) and out.dtype == np.uint8  # short edge 10, long int(10 * 30 / 20)
    np.testing.assert_array_equal(out, np.asarray(Image.fromarray(a).resize((15, 10), Image.BILINEAR)))
    tall = T.Resize(7)(_rgb(rng, 30, 20))
    assert tall.shape == (10, 7, 3)  # int(7 * 30 / 20) = 10
    pil = T.Resize((9, 11), interpolation=T.InterpolationMode.NEAREST)(Image.fromarray(a))
    assert isinstance(pil, Image.Image) and pil.size == (11, 9)
    np.testing.assert_array_equal(np.asarray(pil), np.asarray(Image.fromarray(a).resize((11, 9), Image.NEAREST)))
    assert T.Resize(10, max_size=12)(a).shape == (8, 12, 3)  # the long edge capped, the short scaled with it
    gray = rng.integers(0, 256, (8, 8, 1), dtype=np.uint8)
    assert T.Resize(4)(gray).shape == (4, 4, 1)  # a one-channel HWC array keeps its layout
    with pytest.raises(TypeError, match="before ToTensor"):
        T.Resize(4)(np.zeros((3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="size"):
        T.Resize(0)
    with pytest.raises(ValueError, match="max_size"):
        T.Resize(10, max_size=10)


def test_center_crop_is_the_rounded_centre_and_pads_small_images():
    rng = np.random.default_rng(1)
    a = _rgb(rng, 9, 12)
    out = T.CenterCrop((4, 5))(a)
    top, left = int(round((9 - 4) / 2)), int(round((12 - 5) / 2))
    np.testing.assert_array_equal(out, a[top:top + 4, left:left + 5])
    pil = T.CenterCrop(4)(Image.fromarray(a))
    assert isinstance(pil, Image.Image) and pil.size == (4, 4)
    np.testing.assert_array_equal(np.asarray(pil), a[2:6, 4:8])  # round(2.5) = 2, round(4.0) = 4
    big = T.CenterCrop((12, 15))(a)  # torchvision pads (15-12)//2 = 1 left, 2 right, (12-9)//2 = 1 top, 2 bottom
    expected = np.zeros((12, 15, 3), np.uint8)
    expected[1:10, 1:13] = a
    np.testing.assert_array_equal(big, expected)
    assert T.CenterCrop(4)(Image.fromarray(a).convert("P")).mode == "P"  # Pillow's crop: the palette kept
    np.testing.assert_array_equal(np.asarray(T.CenterCrop((12, 15))(Image.fromarray(a))), expected)
    chw = np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 6, 6)
    np.testing.assert_array_equal(T.CenterCrop(2)(chw), chw[:, 2:4, 2:4])  # after ToTensor: (C, H, W)


def test_horizontal_flip_is_seeded_and_mirrors_every_layout():
    rng = np.random.default_rng(2)
    a = _rgb(rng, 5, 7)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(a), a[:, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(a) is a
    pil = T.RandomHorizontalFlip(p=1.0)(Image.fromarray(a))
    np.testing.assert_array_equal(np.asarray(pil), a[:, ::-1])
    chw = rng.random((3, 4, 6)).astype(np.float32)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(chw), chw[..., ::-1])
    # the decision is one uniform draw < p from the generator given: the same seed, the same flips
    flips = [T.RandomHorizontalFlip(generator=np.random.default_rng(7))(a) is not a for _ in range(1)]
    draws = np.random.default_rng(7).random(1) < 0.5
    assert flips == list(draws)
    flip = T.RandomHorizontalFlip(generator=np.random.default_rng(3))
    seq = [flip(a) is not a for _ in range(40)]
    assert seq == list(np.random.default_rng(3).random(40) < 0.5) and 5 < sum(seq) < 35


def test_random_resized_crop_follows_its_parameters_and_pillow():
    rng = np.random.default_rng(3)
    a = _rgb(rng, 40, 60)
    t = T.RandomResizedCrop(16, scale=(0.2, 0.9), generator=np.random.default_rng(11))
    ref = T.RandomResizedCrop(16, scale=(0.2, 0.9))
    g = np.random.default_rng(11)
    for _ in range(20):
        top, left, h, w = ref.get_params(40, 60, generator=g)
        assert 0 <= top and top + h <= 40 and 0 <= left and left + w <= 60
        # w * h is the target area up to the rounding of each side; the aspect lies in ratio's range
        assert 0.2 * 2400 - (h + w + 1) <= w * h <= 0.9 * 2400 + (h + w + 1)
        assert 3 / 4 - 0.1 <= w / h <= 4 / 3 + 0.1
        expected = Image.fromarray(a).crop((left, top, left + w, top + h)).resize((16, 16), Image.BILINEAR)
        np.testing.assert_array_equal(t(a), np.asarray(expected))
    # no window fits in ten tries (scale > 1): the central crop, ratio clamped (60/40 > 4/3: w = round(40 * 4/3))
    assert T.RandomResizedCrop(8, scale=(2.0, 3.0)).get_params(40, 60, np.random.default_rng(0)) == (0, 3, 40, 53)
    assert T.RandomResizedCrop(8, scale=(2.0, 3.0)).get_params(40, 40, np.random.default_rng(0)) == (0, 0, 40, 40)
    assert T.RandomResizedCrop((8, 12), generator=np.random.default_rng(0))(Image.fromarray(a)).size == (12, 8)
    with pytest.raises(ValueError, match="scale and ratio"):
        T.RandomResizedCrop(8, scale=(0.9, 0.1))


def test_color_jitter_is_pillows_enhancers_in_a_seeded_order():
    rng = np.random.default_rng(4)
    a = _rgb(rng, 12, 10)
    pil = Image.fromarray(a)
    # a fixed factor ((f, f) ranges) is exactly ImageEnhance: brightness blends with black, so it scales
    out = T.ColorJitter(brightness=(1.5, 1.5))(a)
    np.testing.assert_array_equal(out, np.asarray(ImageEnhance.Brightness(pil).enhance(1.5)))
    assert np.abs(out.astype(int) - np.clip(np.round(a * 1.5), 0, 255)).max() <= 1
    np.testing.assert_array_equal(T.ColorJitter(contrast=(0.5, 0.5))(a),
                                  np.asarray(ImageEnhance.Contrast(pil).enhance(0.5)))
    np.testing.assert_array_equal(T.ColorJitter(saturation=(0.0, 0.0))(a),  # saturation 0: Pillow's luma, 3 times
                                  np.asarray(pil.convert("L").convert("RGB")))
    # hue: the H of HSV shifted by int(f * 255) mod 256
    h, s, v = pil.convert("HSV").split()
    shifted = ((np.asarray(h).astype(int) + int(0.25 * 255)) % 256).astype(np.uint8)
    expected = Image.merge("HSV", (Image.fromarray(shifted, "L"), s, v)).convert("RGB")
    np.testing.assert_array_equal(T.ColorJitter(hue=(0.25, 0.25))(a), np.asarray(expected))
    gray = Image.fromarray(a[:, :, 0])
    assert T.adjust_hue(gray, 0.3) is gray  # grayscale has no hue
    # factors uniform in [max(0, 1 - v), 1 + v] and [-hue, hue], drawn after the order, from the generator
    jitter = T.ColorJitter(0.4, 0.3, 0.2, 0.1)
    assert (jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue) == ((0.6, 1.4), (0.7, 1.3), (0.8, 1.2),
                                                                                   (-0.1, 0.1))
    order, b, c, s_, hue = jitter.get_params(np.random.default_rng(5))
    g = np.random.default_rng(5)
    assert list(order) == list(g.permutation(4))
    assert [b, c, s_, hue] == pytest.approx([g.uniform(0.6, 1.4), g.uniform(0.7, 1.3), g.uniform(0.8, 1.2),
                                             g.uniform(-0.1, 0.1)])
    assert T.ColorJitter().get_params(np.random.default_rng(0))[1:] == (None, None, None, None)
    a1 = T.ColorJitter(0.4, 0.4, 0.4, 0.1, generator=np.random.default_rng(9))(a)
    a2 = T.ColorJitter(0.4, 0.4, 0.4, 0.1, generator=np.random.default_rng(9))(a)
    np.testing.assert_array_equal(a1, a2)
    with pytest.raises(ValueError, match="non negative"):
        T.ColorJitter(brightness=-0.1)
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)


def test_to_tensor_and_normalize():
    rng = np.random.default_rng(5)
    a = _rgb(rng, 4, 6)
    x = T.ToTensor()(a)
    assert x.shape == (3, 4, 6) and x.dtype == np.float32
    np.testing.assert_array_equal(x, a.transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(a)), x)
    g = T.ToTensor()(Image.fromarray(a[:, :, 0]))
    assert g.shape == (1, 4, 6)
    n = T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.5])(x)
    np.testing.assert_allclose(n, (x - np.array([0.5, 0.4, 0.3])[:, None, None]) / np.array([0.2, 0.25, 0.5])[:, None, None],
                               rtol=1e-5, atol=1e-6)
    y = x.copy()
    assert T.Normalize([0.5] * 3, [0.2] * 3, inplace=True)(y) is y
    np.testing.assert_allclose(y, (x - 0.5) / 0.2, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="Pillow image or a NumPy array"):
        T.CenterCrop(2)([1, 2, 3])


def test_a_composed_pipeline_is_repeatable_under_manual_seed():
    a = _rgb(np.random.default_rng(6), 48, 40)
    pipeline = T.Compose([T.RandomResizedCrop(24), T.RandomHorizontalFlip(), T.ColorJitter(0.3, 0.3, 0.3, 0.05),
                          T.ToTensor(), T.Normalize([0.5] * 3, [0.25] * 3)])
    fe.manual_seed(0)
    first = [pipeline(a) for _ in range(4)]
    fe.manual_seed(0)
    again = [pipeline(a) for _ in range(4)]
    for p, q in zip(first, again):
        assert p.shape == (3, 24, 24) and p.dtype == np.float32
        np.testing.assert_array_equal(p, q)
    assert any(not np.array_equal(first[0], f) for f in first[1:])


def test_transforms_match_torchvision_where_it_imports():
    tv = pytest.importorskip("torchvision.transforms")
    a = _rgb(np.random.default_rng(7), 21, 34)
    pil = Image.fromarray(a)
    for ours, theirs in ((T.Resize(10), tv.Resize(10)), (T.Resize((9, 13)), tv.Resize((9, 13))),
                         (T.CenterCrop(11), tv.CenterCrop(11)), (T.CenterCrop((25, 40)), tv.CenterCrop((25, 40)))):
        np.testing.assert_array_equal(np.asarray(ours(pil)), np.asarray(theirs(pil)))
    np.testing.assert_allclose(T.ToTensor()(pil), tv.ToTensor()(pil).numpy(), rtol=0, atol=0)


# ---- ImageFolder ------------------------------------------------------------------------------------

@pytest.fixture
def mixed_folder(tmp_path):
    """cat/ and dog/ with PNG and JPEG, RGB and grayscale, 16x16 to 40x30, one in a subfolder."""
    rng = np.random.default_rng(8)
    root = tmp_path / "pets"
    (root / "cat" / "more").mkdir(parents=True)
    (root / "dog").mkdir()
    Image.fromarray(_rgb(rng, 20, 24)).save(root / "cat" / "a.png")
    Image.fromarray(_rgb(rng, 40, 30)).save(root / "cat" / "b.JPG", quality=95)
    Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(root / "cat" / "more" / "c.png")
    Image.fromarray(rng.integers(0, 256, (18, 22), dtype=np.uint8)).save(root / "dog" / "d.jpeg")
    Image.fromarray(_rgb(rng, 32, 32)).save(root / "dog" / "e.bmp")
    (root / "dog" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_classes_samples_and_rgb_loader(mixed_folder):
    ds = ImageFolder(mixed_folder)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    names = [p.replace(str(mixed_folder), "") for p, _ in ds.samples]
    assert names == ["/cat/a.png", "/cat/b.JPG", "/cat/more/c.png", "/dog/d.jpeg", "/dog/e.bmp"]
    assert ds.targets == [0, 0, 0, 1, 1] and ds.imgs is ds.samples and len(ds) == 5
    img, target = ds[2]
    assert img.mode == "RGB" and img.size == (16, 16) and target == 0  # grayscale read as RGB, as torchvision
    t = ImageFolder(mixed_folder, transform=T.Compose([T.Resize(8), T.CenterCrop(8), T.ToTensor()]),
                    target_transform=lambda y: y * 10)
    x, y = t[4]
    assert x.shape == (3, 8, 8) and x.dtype == np.float32 and y == 10
    loader = fe.data.DataLoader(t, batch_size=5)
    xb, yb = next(iter(loader))
    assert tuple(xb.shape) == (5, 3, 8, 8) and list(yb.numpy()) == [0, 0, 0, 10, 10]
    only_png = ImageFolder(mixed_folder, is_valid_file=lambda p: p.endswith(".png"), allow_empty=True)
    assert len(only_png) == 2


def test_image_folder_bad_input(tmp_path, mixed_folder):
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(flat / "x.png")
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        ImageFolder(flat)
    (mixed_folder / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty"):
        ImageFolder(mixed_folder)
    (mixed_folder / "empty" / "broken.png").write_bytes(b"\x89PNG not really")
    ds = ImageFolder(mixed_folder)
    with pytest.raises(ValueError, match=r"cannot read image .*broken.png"):
        ds[len(ds) - 1]  # empty/broken.png sorts last


# ---- cifar10 and fashion_mnist offline ----------------------------------------------------------------

def _hf():
    return pytest.importorskip("datasets")


def _write_cifar(path, n=300, seed=0, size=32):
    """A parquet file with uoft-cs/cifar10's schema: `img` PNG structs {bytes, path}, `label` a ClassLabel."""
    datasets = _hf()
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=CIFAR_NAMES)})
    images = [{"bytes": _png(_class_image(int(c), rng, size)), "path": None} for c in y]
    datasets.Dataset.from_dict({"img": images, "label": y.tolist()}, features=features).to_parquet(str(path))
    return y


@pytest.fixture(scope="module")
def cifar_parquet(tmp_path_factory):
    _hf()
    path = tmp_path_factory.mktemp("cifar") / "cifar10-train.parquet"
    return path, _write_cifar(path)


def test_cifar10_from_a_parquet_file_with_the_hubs_schema(cifar_parquet, tmp_path):
    path, y = cifar_parquet
    x, labels = fe.datasets.cifar10("train", source=path, root=tmp_path / "cache")
    assert x.shape == (300, 32, 32, 3) and x.dtype == np.uint8 and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, y)
    rng = np.random.default_rng(0)
    rng.integers(0, 10, 300)
    np.testing.assert_array_equal(x[0], _class_image(int(y[0]), rng))  # PNG is lossless: the very pixels
    assert fe.datasets.CIFAR10_CLASSES == tuple(CIFAR_NAMES)
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        fe.datasets.cifar10("all", source=path)


def test_fashion_mnist_from_a_parquet_file_and_the_wrong_shapes(tmp_path):
    datasets = _hf()
    rng = np.random.default_rng(1)
    names = list(fe.datasets.FASHION_MNIST_CLASSES)
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=names)})
    x = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    rows = {"image": [{"bytes": _png(a), "path": None} for a in x], "label": list(range(10)) + [0, 1]}
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / "fm.parquet"))
    xi, yi = fe.datasets.fashion_mnist("test", source=tmp_path / "fm.parquet", root=tmp_path / "cache")
    assert xi.shape == (12, 28, 28) and xi.dtype == np.uint8
    np.testing.assert_array_equal(xi, x)
    np.testing.assert_array_equal(yi, rows["label"])
    with pytest.raises(ValueError, match=r"fashion_mnist: image 0 of .*cifar.parquet is \(32, 32\), expected \(28, 28\)"):
        _write_cifar(tmp_path / "cifar.parquet", n=4)
        fe.datasets.fashion_mnist("train", source=tmp_path / "cifar.parquet", root=tmp_path / "cache")
    datasets.Dataset.from_dict({"pixels": [1, 2], "label": [1, 2]}).to_parquet(str(tmp_path / "cols.parquet"))
    with pytest.raises(ValueError, match=r"needs columns 'image' \(or 'img'\) and 'label'"):
        fe.datasets.cifar10("train", source=tmp_path / "cols.parquet", root=tmp_path / "cache")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="is not a parquet file"):
        fe.datasets.cifar10("train", source=tmp_path / "notes.txt")


# ---- load_splits: any folder or parquet, sized and normalised, the record in .preprocess ---------------

def test_load_splits_on_a_mixed_folder_makes_square_rgb_at_the_smallest_side(mixed_folder):
    from firstepoch.train import load_splits
    s = load_splits(str(mixed_folder))
    pre = s.preprocess
    assert pre["in_channels"] == 3 and pre["image_size"] == [16, 16] and pre["classes"] == ["cat", "dog"]
    assert sum(len(s[k][1]) for k in s) == 5
    x = s["train"][0]
    assert x.shape[1:] == (3, 16, 16) and x.dtype == np.float32
    # the training split's own per-channel statistics: normalised, it has mean 0 and std 1 per channel
    np.testing.assert_allclose(x.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=(0, 2, 3)), 1, atol=1e-3)


def test_load_splits_keeps_grayscale_one_channel_and_digits_mnists_constants(tmp_path):
    from firstepoch.train import load_splits
    rng = np.random.default_rng(9)
    root = tmp_path / "digits"
    for i in range(30):
        (root / str(i % 10)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(root / str(i % 10) / f"{i}.png")
    pre = load_splits(str(root)).preprocess
    assert pre == {"in_channels": 1, "image_size": [28, 28], "mean": [0.1307], "std": [0.3081],
                   "classes": [str(d) for d in range(10)]}
    gray = tmp_path / "gray"
    for i in range(10):
        (gray / ("ab"[i % 2])).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (12, 20), dtype=np.uint8)).save(gray / "ab"[i % 2] / f"{i}.png")
    s = load_splits(str(gray))
    assert s.preprocess["in_channels"] == 1 and s.preprocess["image_size"] == [12, 20]
    assert s["train"][0].shape[1:] == (1, 12, 20)


def test_a_folder_listed_class_by_class_gives_val_and_test_of_every_class(tmp_path):
    from firstepoch.train import load_splits
    for i in range(200):
        (tmp_path / "abcd"[i // 50]).mkdir(exist_ok=True)
        Image.fromarray(np.full((4, 4), i, np.uint8)).save(tmp_path / "abcd"[i // 50] / f"{i}.png")
    s = load_splits(str(tmp_path))
    assert [len(s[k][1]) for k in ("train", "val", "test")] == [160, 20, 20]
    for k in ("val", "test"):
        assert set(s[k][1]) == {0, 1, 2, 3}, k  # not the lowest (val) and highest (test) held-out indices
    seen = np.concatenate([s[k][0][:, 0, 0, 0] for k in s])
    assert len(np.unique(seen)) == 200  # disjoint, and all of them


def test_load_splits_on_cifar_parquet(cifar_parquet):
    from firstepoch.train import load_splits
    path, y = cifar_parquet
    s = load_splits(str(path))
    assert [len(s[k][1]) for k in ("train", "val", "test")] == [240, 30, 30]
    assert s.preprocess["classes"] == CIFAR_NAMES and s.preprocess["image_size"] == [32, 32]
    assert s["train"][0].shape[1:] == (3, 32, 32)
    again = load_splits(str(path), preprocess=s.preprocess)  # a checkpoint's record: the same arrays
    np.testing.assert_array_equal(again["test"][0], s["test"][0])


# ---- models sized by the data -------------------------------------------------------------------------

@pytest.mark.parametrize("name", fe.models.NAMES)
def test_every_model_takes_any_channels_and_size(name):
    for c, size in ((1, 28), (3, 32), (3, (20, 24))):
        model = fe.models.create(name, num_classes=7, in_channels=c, image_size=size)
        h, w = (size, size) if isinstance(size, int) else size
        assert model(fe.tensor(np.zeros((2, c, h, w), np.float32))).shape == (2, 7)


def test_create_refuses_what_a_model_cannot_take():
    with pytest.raises(ValueError, match="LeNet5: image_size must be at least 12 x 12"):
        fe.models.create("lenet", in_channels=3, image_size=8)
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        fe.models.create("mlp", in_channels=0)
    with pytest.raises(ValueError, match="image_size must be"):
        fe.models.create("mlp", image_size=(3, 4, 5))
    default = fe.models.create("lenet")  # the recipe's LeNet-5 is unchanged: 1 x 28 x 28, 16 * 5 * 5 features
    assert default.classifier[1].in_features == 400 and default.features[0].in_channels == 1


# ---- the command line -----------------------------------------------------------------------------------

def _tiny_pets(root, n=24, seed=0):
    """Two classes of RGB JPEGs and PNGs, 36x36 and 40x48, told apart by colour."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        label = "red" if i % 2 else "blue"
        a = rng.integers(0, 40, (36, 36, 3) if i % 3 else (40, 48, 3)).astype(np.uint8)
        a[:, :, 0 if label == "red" else 2] += np.uint8(200)
        (root / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(root / label / f"{i}.{'jpg' if i % 4 else 'png'}")
    return root


def test_cli_trains_on_an_image_folder_then_predicts_and_evaluates(tmp_path, capsys):
    pets = _tiny_pets(tmp_path / "pets")
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(pets), "--model", "lenet", "--epochs", "1", "--quiet",
                 "--out", str(out), "--lr", "0.01"]) == 0
    text = capsys.readouterr().out
    assert f"lenet on {pets}:" in text and "images 3 x 36 x 36, 2 classes: blue, red" in text
    ckpt = out / "checkpoints" / "last.safetensors"
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["preprocess"]["classes"] == ["blue", "red"] and config["preprocess"]["image_size"] == [36, 36]
    red = np.zeros((50, 60, 3), np.uint8)
    red[:, :, 0] = 230
    Image.fromarray(red).save(tmp_path / "red.png")
    Image.fromarray(np.full((30, 30), 128, np.uint8)).save(tmp_path / "gray.jpg")
    assert main(["predict", str(ckpt), str(tmp_path / "red.png"), str(tmp_path / "gray.jpg"), "--topk", "5"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == str(tmp_path / "red.png") and lines[3] == str(tmp_path / "gray.jpg") and len(lines) == 6
    probs = [float(line.split("%")[0]) / 100 for line in lines[1:3]]
    assert probs == sorted(probs, reverse=True) and math.isclose(sum(probs), 1, abs_tol=2e-4)
    assert {line.split()[-1] for line in lines[1:3]} == {"blue", "red"}
    assert "gray.jpg is grayscale and the model takes RGB: its channel is repeated three times" in captured.err
    assert main(["predict", str(ckpt), str(tmp_path / "red.png"), "--topk", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["evaluate", "--checkpoint", str(ckpt)]) == 0
    assert f"lenet from {ckpt} on {pets} test" in capsys.readouterr().out
    # visualize reads the image as predict does (3 x 36 x 36 here, not MNIST's 1 x 28 x 28)
    assert main(["visualize", str(ckpt), str(tmp_path / "red.png"), "--out", str(tmp_path / "see"),
                 "--channel", "0"]) == 0
    text = capsys.readouterr().out
    assert "explaining class" in text and ("(red," in text or "(blue," in text)
    for name in ("filters.png", "saliency.png", "gradcam.png", "top_activating.png"):
        assert (tmp_path / "see" / name).stat().st_size > 0


def test_predict_input_matches_the_training_arrays(tmp_path):
    """predict's preprocessing and load_splits' give the same array for an image of the training size."""
    from firstepoch.cli import _predict_inputs
    from firstepoch.train import load_splits
    pets = _tiny_pets(tmp_path / "pets", n=6)
    s = load_splits(str(pets))
    files = sorted((pets / "blue").iterdir()) + sorted((pets / "red").iterdir())
    x = _predict_inputs([str(f) for f in files], s.preprocess, parser=None)
    every = np.concatenate([s[k][0] for k in ("train", "val", "test")])
    for row in x:
        assert any(np.array_equal(row, e) for e in every)


# every CLI model but the zoo's big siblings (VGG-16, ResNet-34: VGG-11's and ResNet-18's code at several times
# the cost); ResNet-18 on the CIFAR-10 parquet is the run the issue names
@pytest.mark.parametrize("name", [n for n in fe.models.NAMES if n not in ("vgg16", "vgg16_bn", "resnet34")])
def test_cli_trains_every_model_on_cifar_parquet(cifar_parquet, tmp_path, capsys, name):
    path, _ = cifar_parquet
    assert main(["train", "--dataset", str(path), "--model", name, "--epochs", "1", "--quiet", "--out",
                 str(tmp_path / name), "--augment"]) == 0
    out = capsys.readouterr().out
    assert f"{name} on {path}: 240 train / 30 val / 30 test" in out and "test accuracy" in out
    assert "images 3 x 32 x 32, 10 classes: airplane, automobile" in out


def test_cli_bad_image_data_are_usage_errors(tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(flat / "a.png")
    pets = _tiny_pets(tmp_path / "pets", n=8)
    (pets / "red" / "broken.png").write_bytes(b"not a png")
    tiny = _tiny_pets(tmp_path / "tiny", n=4)
    for f in tiny.rglob("*.*"):
        Image.open(f).convert("RGB").resize((8, 8)).save(f)
    cases = [(["train", "--dataset", str(flat)], "Couldn't find any class folder in"),
             (["train", "--dataset", str(pets)], "cannot read image"),
             (["train", "--dataset", str(tiny), "--model", "lenet"], "--model lenet on --dataset"),
             (["predict", str(tmp_path / "missing.safetensors"), str(flat / "a.png")], "does not exist"),
             (["predict"], "the following arguments are required: CHECKPOINT, IMAGE")]
    for argv, message in cases:
        with pytest.raises(SystemExit) as info:
            main(argv + ["--quiet"] * (argv[0] == "train") + ["--out", str(tmp_path / "o")] * (argv[0] == "train"))
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert not (tmp_path / "o").exists()  # refused before a run folder is made


def test_predict_with_an_unreadable_image_or_topk_zero(tmp_path, capsys):
    pets = _tiny_pets(tmp_path / "pets", n=8)
    assert main(["train", "--dataset", str(pets), "--model", "mlp", "--epochs", "1", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    ckpt = str(tmp_path / "run" / "checkpoints" / "last.safetensors")
    (tmp_path / "bad.png").write_bytes(b"junk")
    for argv, message in ((["predict", ckpt, str(tmp_path / "bad.png")], "cannot read image"),
                          (["predict", ckpt, str(tmp_path / "nope.png")], "nope.png: No such file"),
                          (["predict", ckpt, str(tmp_path / "bad.png"), "--topk", "0"], "--topk: expected a positive")):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_a_checkpoint_with_a_broken_preprocess_record_is_refused(tmp_path):
    from firstepoch.io import CheckpointError, load_safetensors, save_safetensors
    from firstepoch.train import read_checkpoint_fields
    pets = _tiny_pets(tmp_path / "pets", n=8)
    assert main(["train", "--dataset", str(pets), "--model", "mlp", "--epochs", "1", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    ckpt = tmp_path / "run" / "checkpoints" / "last.safetensors"
    tensors, meta = load_safetensors(ckpt)
    config = json.loads(meta["config"])
    config["preprocess"]["std"] = [0.2, 0.0, 0.2]
    save_safetensors(tensors, tmp_path / "bad.safetensors", dict(meta, config=json.dumps(config)))
    with pytest.raises(CheckpointError, match="preprocess has std"):
        read_checkpoint_fields(tmp_path / "bad.safetensors")


def test_cli_hub_names_cifar10_and_fashion_mnist_offline(tmp_path, monkeypatch, capsys):
    """--dataset cifar10 reads the hub's train and test splits of uoft-cs/cifar10 (here served from local
    parquet files with its schema); fashion_mnist likewise, one channel."""
    import firstepoch.datasets.cifar as cifar
    from firstepoch.datasets import hub
    datasets = _hf()
    files = {("uoft-cs/cifar10", "train"): tmp_path / "c-train.parquet", ("uoft-cs/cifar10", "test"): tmp_path / "c-test.parquet"}
    _write_cifar(files["uoft-cs/cifar10", "train"], n=120, seed=1)
    _write_cifar(files["uoft-cs/cifar10", "test"], n=20, seed=2)
    rng = np.random.default_rng(3)
    features = datasets.Features({"image": datasets.Image(),
                                  "label": datasets.ClassLabel(names=list(fe.datasets.FASHION_MNIST_CLASSES))})
    for split, n in (("train", 60), ("test", 10)):
        y = rng.integers(0, 10, n)
        rows = {"image": [{"bytes": _png(_class_image(int(c), rng, 28, 1)), "path": None} for c in y], "label": y.tolist()}
        path = tmp_path / f"f-{split}.parquet"
        datasets.Dataset.from_dict(rows, features=features).to_parquet(str(path))
        files["zalando-datasets/fashion_mnist", split] = path
    real = hub.load_hf_dataset

    def offline(hf, source, hf_split, root, who, offline_note=""):
        assert not source.endswith(".parquet"), source  # only the hub names are redirected
        return real(hf, str(files[source, hf_split]), hf_split, str(tmp_path / "cache"), who)
    monkeypatch.setattr(hub, "load_hf_dataset", offline)
    monkeypatch.setattr(cifar, "_cache", {})
    for name, shape, classes in (("cifar10", "3 x 32 x 32", "airplane, automobile"),
                                 ("fashion_mnist", "1 x 28 x 28", "T - shirt / top, Trouser")):
        assert main(["train", "--dataset", name, "--model", "lenet", "--epochs", "1", "--quiet",
                     "--out", str(tmp_path / name)]) == 0
        out = capsys.readouterr().out
        n_train = 120 - 12 if name == "cifar10" else 60 - 6  # a tenth of the train split held out for val
        assert f"lenet on {name}: {n_train} train / {120 - n_train if name == 'cifar10' else 6} val" in out
        assert f"images {shape}, 10 classes: {classes}" in out
    x, y = fe.datasets.fashion_mnist("test")
    assert x.shape == (10, 28, 28) and y.dtype == np.int64


def test_hub_unreachable_is_a_clear_error(tmp_path, monkeypatch, capsys):
    datasets = _hf()
    import firstepoch.datasets.cifar as cifar
    monkeypatch.setattr(cifar, "_cache", {})

    def unreachable(*args, **kwargs):  # what datasets raises offline (ConnectionError is an OSError)
        raise ConnectionError("Couldn't reach 'uoft-cs/cifar10' on the Hub (LocalEntryNotFoundError)")
    monkeypatch.setattr(datasets, "load_dataset", unreachable)  # never a download, network or not
    with pytest.raises(SystemExit) as info:
        main(["train", "--dataset", "cifar10", "--quiet", "--out", str(tmp_path / "o")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--dataset cifar10: cifar10: could not load 'uoft-cs/cifar10' from the Hugging Face hub" in err, err
    assert "Traceback" not in err
