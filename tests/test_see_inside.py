"""Seeing inside a network (issue 18): the first layer's filters as a tile grid, each conv layer's
feature maps, saliency and Grad-CAM for a class, and the images that most activate a channel. Each
picture is written and read back: the planted object is where the map is brightest."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch import interpret

Image = pytest.importorskip("PIL.Image")

SIDE = 16


def _png(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int64)


def _panel(rgb, i, h, w, gap=interpret.GAP):
    """Panel i of a row of panels of h x w pixels (the layout of _grid)."""
    return rgb[gap:gap + h, gap + i * (w + gap):gap + i * (w + gap) + w]


def _square_image(r, c, size=4, noise=0.0, seed=0):
    x = np.random.default_rng(seed).normal(0, noise, (1, SIDE, SIDE)).astype(np.float32)
    x[0, r:r + size, c:c + size] += 1.0
    return x


def _brightness_detector():
    """Hand-set weights: conv1's channel 0 sums a 3x3 neighbourhood minus 4 (fires only on a bright
    patch), channel 1 is its negative; global average pooling; class 1's logit = channel 0's mean, class
    0's = minus it. So the evidence for class 1 is exactly the bright square."""
    conv = nn.Conv2d(1, 2, 3, padding=1)
    conv.weight.data = fe.tensor(np.stack([np.ones((1, 3, 3)), -np.ones((1, 3, 3))]).astype(np.float32))
    conv.bias.data = fe.tensor(np.array([-4.0, 0.0], np.float32))
    head = nn.Linear(2, 2)
    head.weight.data = fe.tensor(np.array([[-1.0, 0.0], [1.0, 0.0]], np.float32))
    head.bias.data = fe.tensor(np.zeros(2, np.float32))
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)


def _mask(r, c, size=4, grow=0):
    m = np.zeros((SIDE, SIDE), bool)
    m[max(r - grow, 0):r + size + grow, max(c - grow, 0):c + size + grow] = True
    return m


def test_saliency_is_largest_on_the_planted_pixels(tmp_path):
    model = _brightness_detector()
    x = _square_image(9, 3)
    s = interpret.saliency(model, x, target=1)
    assert s.shape == (SIDE, SIDE)
    inside = _mask(9, 3, grow=1)  # the 3x3 filter reaches one pixel past the square
    assert s[~inside].max() == 0 and s[_mask(9, 3)].min() > 0
    path, s2 = interpret.plot_saliency(model, x, tmp_path / "saliency.png", target=1, scale=4)
    np.testing.assert_array_equal(s, s2)
    heat = _panel(_png(path), 1, SIDE * 4, SIDE * 4).sum(axis=2)
    r, c = np.unravel_index(heat.argmax(), heat.shape)
    assert inside[r // 4, c // 4]
    assert heat[~np.repeat(np.repeat(inside, 4, 0), 4, 1)].max() < heat.max() / 4


def test_saliency_default_target_is_the_prediction():
    model = _brightness_detector()
    x = _square_image(2, 2)
    np.testing.assert_array_equal(interpret.saliency(model, x), interpret.saliency(model, x, target=1))


def test_grad_cam_peaks_on_the_planted_square(tmp_path):
    model = _brightness_detector()
    for r, c in ((1, 1), (10, 7), (6, 11)):
        x = _square_image(r, c, noise=0.05, seed=r)
        cam = interpret.grad_cam(model, x, target=1, layer="0", upsample=False)
        assert cam.shape == (SIDE, SIDE) and cam.max() == 1.0
        pr, pc = np.unravel_index(cam.argmax(), cam.shape)
        assert _mask(r, c)[pr, pc]
        assert cam[~_mask(r, c, grow=1)].max() == 0
    path, up = interpret.plot_grad_cam(model, x, tmp_path / "gradcam.png", target=1, layer="0", scale=3)
    heat = _panel(_png(path), 1, SIDE * 3, SIDE * 3).sum(axis=2)
    pr, pc = np.unravel_index(heat.argmax(), heat.shape)
    assert _mask(6, 11, grow=1)[pr // 3, pc // 3]


def test_grad_cam_of_a_trained_net_finds_the_square():
    """A tiny conv net trained a few steps on images whose class 1 holds a bright 4x4 square somewhere
    (class 0: noise only) looks at the square."""
    fe.manual_seed(0)
    rng = np.random.default_rng(0)
    n = 256
    x = rng.normal(0, 0.3, (n, 1, SIDE, SIDE)).astype(np.float32)
    y = np.arange(n) % 2
    where = rng.integers(0, SIDE - 4, (n, 2))
    for i in np.flatnonzero(y):
        x[i, 0, where[i, 0]:where[i, 0] + 4, where[i, 1]:where[i, 1] + 4] += 1.5
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    opt = fe.optim.Adam(model.parameters(), lr=0.01)
    for step in range(60):
        b = rng.integers(0, n, 64)
        loss = F.cross_entropy(model(fe.tensor(x[b])), fe.tensor(y[b]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    hits = 0
    for seed in range(10):
        r, c = np.random.default_rng(100 + seed).integers(0, SIDE - 4, 2)
        img = np.random.default_rng(seed).normal(0, 0.3, (1, SIDE, SIDE)).astype(np.float32)
        img[0, r:r + 4, c:c + 4] += 1.5
        cam = interpret.grad_cam(model, img, target=1)  # default layer: the last Conv2d ("2")
        pr, pc = np.unravel_index(cam.argmax(), cam.shape)
        hits += bool(_mask(r, c, grow=1)[pr, pc])
    assert hits >= 8


def test_filters_grid_has_one_tile_per_filter(tmp_path):
    conv = nn.Conv2d(1, 6, 5)
    w = np.zeros((6, 1, 5, 5), np.float32)
    for i in range(6):
        w[i, 0, i % 5, i % 5] = 1.0  # filter i: one bright weight at (i % 5, i % 5)
    w[5, 0, 0, 4] = -1.0
    conv.weight.data = fe.tensor(w)
    model = nn.Sequential(conv, nn.ReLU())
    path = interpret.plot_filters(model, tmp_path / "filters.png", scale=4)
    img = _png(path)
    tile, gap = 5 * 4, interpret.GAP
    assert img.shape == (2 * (tile + gap) + gap, 3 * (tile + gap) + gap, 3)  # 6 tiles: 2 rows of 3
    for i in range(6):
        r, c = divmod(i, 3)
        t = img[gap + r * (tile + gap):gap + r * (tile + gap) + tile, gap + c * (tile + gap):gap + c * (tile + gap) + tile, 0]
        bright = np.argwhere(t == t.max())
        assert t.max() == 255 and tuple(bright.min(axis=0) // 4) == (i % 5, i % 5)
        assert t[2 + 4 * (4 - i % 5 if i % 5 == 0 else 0), 2] in (128, 255)  # zero weights are mid-gray
    t5 = img[gap + tile + gap:gap + 2 * tile + gap, gap + 2 * (tile + gap):gap + 2 * (tile + gap) + tile, 0]
    assert t5[1, 4 * 4 + 1] == 0  # the negative weight is black


def test_filters_of_rgb_and_multichannel_layers(tmp_path):
    fe.manual_seed(0)
    tiles, cols = interpret.filter_tiles(nn.Conv2d(3, 4, 3).weight)
    assert len(tiles) == 4 and cols is None and tiles[0].shape == (3, 3, 3)
    tiles, cols = interpret.filter_tiles(nn.Conv2d(6, 16, 5).weight)
    assert len(tiles) == 96 and cols == 6  # a row per filter, a column per input channel
    mlp = fe.models.create("mlp")
    name, w = interpret.first_layer_weights(mlp, (1, 28, 28))
    assert name == "1" and w.shape == (256, 1, 28, 28)
    with pytest.raises(ValueError, match="neither a Conv2d nor a Linear"):
        interpret.first_layer_weights(mlp)


def test_feature_maps_of_every_conv_layer(tmp_path):
    fe.manual_seed(0)
    model = fe.models.create("lenet")
    x = np.random.default_rng(0).normal(size=(1, 28, 28)).astype(np.float32)
    maps = interpret.feature_maps(model, x)
    assert list(maps) == ["features.0", "features.3"]
    assert maps["features.0"].shape == (6, 28, 28) and maps["features.3"].shape == (16, 10, 10)
    expect = fe.nn.functional.conv2d(fe.tensor(x[None]), model.features[0].weight, model.features[0].bias, padding=2)
    np.testing.assert_allclose(maps["features.0"], expect._data[0], rtol=1e-5, atol=1e-5)
    assert model.training  # the mode is restored
    path = interpret.plot_feature_maps(maps["features.3"], tmp_path / "f.png", scale=2)
    img = _png(path)
    side, gap = 10 * 2, interpret.GAP
    assert img.shape == (4 * (side + gap) + gap, 4 * (side + gap) + gap, 3)  # 16 maps: 4 x 4


def test_top_activating_images_are_the_planted_ones(tmp_path):
    model = _brightness_detector()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.3, (20, 1, SIDE, SIDE)).astype(np.float32)
    planted = {3: 5, 11: 4, 17: 3}  # image -> square side: a bigger square fires channel 0 more
    for i, size in planted.items():
        x[i, 0, 4:4 + size, 4:4 + size] = 1.0
    idx, scores = interpret.top_activating(model, x, "1", channel=0, k=3, batch_size=7)  # after the ReLU
    assert list(idx) == [3, 11, 17] and scores[0] > scores[1] > scores[2] > 0
    path, idx2, _ = interpret.plot_top_activating(model, x, "0", 0, tmp_path / "top.png", k=4, scale=1)
    assert list(idx2[:3]) == [3, 11, 17]
    img = _png(path)
    assert img.shape == (2 * (SIDE + 2) + 2, 2 * (SIDE + 2) + 2, 3)
    first = _panel(img, 0, SIDE, SIDE)[..., 0]
    assert first[4:9, 4:9].min() == 255  # the first tile is image 3, its 5x5 square white


def test_bad_arguments_are_named():
    model = _brightness_detector()
    x = _square_image(2, 2)
    with pytest.raises(ValueError, match=r"unknown layer 'conv9'.*conv layers are 0"):
        interpret.grad_cam(model, x, layer="conv9")
    with pytest.raises(ValueError, match="target 5 is out of range: the model has 2 classes"):
        interpret.saliency(model, x, target=5)
    with pytest.raises(ValueError, match="channel 7 is out of range"):
        interpret.top_activating(model, x[None], "0", 7)
    with pytest.raises(ValueError, match="one image"):
        interpret.saliency(model, np.zeros((2, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match="no Conv2d layer"):
        interpret.grad_cam(fe.models.create("mlp"), np.zeros((1, 28, 28), np.float32))
