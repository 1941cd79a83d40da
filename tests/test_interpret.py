"""firstepoch.interpret: confusion matrix against a loop, top losses against a hand computation, planted
label flips found by a model trained on the flipped data, figures written, bad arguments refused."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn as nn
import firstepoch.nn.functional as F
from firstepoch import interpret
from firstepoch.datasets import mnist


def test_confusion_matrix_counts_pairs():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    cm = interpret.confusion_matrix(t, p, 4)
    expected = np.zeros((4, 4), np.int64)
    for a, b in zip(t, p):
        expected[a, b] += 1
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64 and cm.sum() == 200
    np.testing.assert_array_equal(interpret.confusion_matrix(fe.tensor(t), fe.tensor(t), 4),
                                  np.diag(np.bincount(t, minlength=4)))


def test_confusion_matrix_bad_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        interpret.confusion_matrix([0], [0], 0)
    with pytest.raises(ValueError, match="same length"):
        interpret.confusion_matrix([0, 1], [0], 2)
    with pytest.raises(ValueError, match="outside"):
        interpret.confusion_matrix([0, 2], [0, 1], 2)
    with pytest.raises(TypeError, match="integer"):
        interpret.confusion_matrix([0.5], [0], 2)
    with pytest.raises(ValueError, match="1-D"):
        interpret.confusion_matrix([[0]], [[0]], 2)


def test_top_losses_are_the_highest_cross_entropies():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((50, 5)) * 3
    y = rng.integers(0, 5, 50)
    top = interpret.top_losses(logits, None, y, k=7)
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    losses = -logp[np.arange(50), y]
    np.testing.assert_array_equal(top.indices, np.argsort(-losses)[:7])
    np.testing.assert_allclose(top.losses, np.sort(losses)[::-1][:7])
    np.testing.assert_array_equal(top.pred, logits[top.indices].argmax(1))
    np.testing.assert_allclose(top.true_prob, np.exp(-top.losses))
    assert np.all(top.prob >= top.true_prob)
    f32 = F.cross_entropy(fe.tensor(logits.astype(np.float32)), fe.tensor(y), reduction="none").data
    np.testing.assert_allclose(interpret.per_example_loss(logits, None, y), f32, rtol=1e-5)


def _flipped_mnist(n, n_flip, seed):
    images, labels = mnist("train")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(labels), n, replace=False)
    x = images[idx].reshape(n, -1).astype(np.float32) / 255
    y = labels[idx].astype(np.int64)
    planted = rng.choice(n, n_flip, replace=False)
    y[planted] = (y[planted] + rng.integers(1, 10, n_flip)) % 10      # a different class, never the same
    return x, y, planted


def _train(x, y, seed, epochs=4):
    fe.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = fe.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), 50):
            b = order[i:i + 50]
            loss = F.cross_entropy(model(fe.tensor(x[b])), fe.tensor(y[b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_label_flips_rank_near_the_top(seed, tmp_path):
    n, n_flip = 1500, 60
    x, y, planted = _flipped_mnist(n, n_flip, seed)
    model = _train(x, y, seed)
    logits = interpret.logits_of(model, x)
    assert model.training                      # the mode is restored
    for method in ("self_confidence", "margin"):
        sus = interpret.suspected_mislabels(logits, y, k=2 * n_flip, method=method)
        found = np.isin(planted, sus.indices).mean()
        assert found >= 0.75, (method, found)   # most of the planted flips are in the top 2x
        assert np.all(np.diff(sus.scores) >= 0)
    sus = interpret.suspected_mislabels(logits, y, k=n_flip)
    hit = np.isin(sus.indices, planted)
    _, true_labels, _ = _flipped_mnist(n, 0, seed)
    # where a planted flip is found, the suggested label is mostly the original one
    assert (sus.suggested[hit] == true_labels[sus.indices[hit]]).mean() >= 0.75
    png = interpret.plot_top_losses(model, x, y, tmp_path / "top.png", k=12)
    assert png.read_bytes()[:4] == b"\x89PNG"
    cm = interpret.confusion_matrix(y, logits.argmax(1), 10)
    assert interpret.plot_confusion_matrix(cm, tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_top_losses_image_layouts(tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 3))
    y = rng.integers(0, 3, 6)
    for i, x in enumerate([rng.random((6, 8, 8)), rng.random((6, 1, 8, 8)), rng.random((6, 3, 8, 8)),
                           rng.random((6, 64))]):
        interpret.plot_top_losses(logits, x, y, tmp_path / f"{i}.png", k=4, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="image_shape"):
        interpret.plot_top_losses(logits, rng.random((6, 10)), y, tmp_path / "x.png")
    interpret.plot_top_losses(logits, rng.random((6, 10)), y, tmp_path / "y.png", image_shape=(2, 5))


def test_bad_arguments():
    logits = np.zeros((4, 3))
    y = np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match="k must be"):
        interpret.top_losses(logits, None, y, k=0)
    with pytest.raises(ValueError, match="labels for"):
        interpret.top_losses(logits, None, y[:3])
    with pytest.raises(ValueError, match="outside"):
        interpret.suspected_mislabels(logits, np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="method"):
        interpret.suspected_mislabels(logits, y, method="loss")
    with pytest.raises(ValueError, match="logits must be"):
        interpret.suspected_mislabels(np.zeros(4), y)
    with pytest.raises(ValueError, match="x is needed"):
        interpret.top_losses(nn.Linear(3, 3), None, y)
    with pytest.raises(TypeError, match="Module"):
        interpret.logits_of(lambda x: x, logits)
