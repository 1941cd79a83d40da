"""ResNet-small and Conv1d shapes and gradients; augmentation transforms: identities, seeding, the
geometry of a shift and of a rotation."""
import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F
from firstepoch.data import transforms as T
from firstepoch.reference import conv as R


def test_resnet_small_trains_a_step():
    fe.manual_seed(0)
    model = fe.models.resnet_small(widths=(8, 16, 32))
    opt = fe.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = fe.randn(8, 1, 28, 28)
    y = np.arange(8) % 10
    losses = []
    for _ in range(5):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert "layers.1.shortcut.0.weight" in model.state_dict()
    assert "layers.0.bn1.running_mean" in model.state_dict()
    model.eval()
    assert model(x).shape == (8, 10)


def test_conv1d_matches_2d_reference(rng):
    x = rng.standard_normal((2, 4, 11))
    w = rng.standard_normal((6, 2, 3))
    y = F.conv1d(fe.tensor(x), fe.tensor(w), stride=2, padding=1, groups=2).data
    want = R.conv2d_forward(x[:, :, None], w[:, :, None], stride=(1, 2), padding=(0, 1), groups=2)[:, :, 0]
    np.testing.assert_allclose(y, want, rtol=1e-12)
    with pytest.raises(RuntimeError, match=r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d"):
        F.conv1d(fe.tensor(x[0, 0]), fe.tensor(w))  # (C, L) is an unbatched input (tests/test_conv17.py)


def test_transforms_identities_and_seeding():
    x = np.random.default_rng(0).random((6, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(T.RandomCrop(28, 0)(x), x)
    np.testing.assert_allclose(T.RandomRotation(0)(x), x, atol=1e-6)
    aug = lambda seed: T.Compose([T.RandomCrop(28, 3, generator=np.random.default_rng(seed)),
                                  T.RandomRotation(15, generator=np.random.default_rng(seed))])(x)
    assert np.array_equal(aug(1), aug(1)) and not np.array_equal(aug(1), aug(2))
    z = T.Normalize([0.5], [0.25])(x)
    np.testing.assert_allclose(z, (x - 0.5) / 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(40, 2)(x)


def test_crop_is_a_shift():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1
    shifted = T.RandomCrop(5, 1, generator=np.random.default_rng(0))(x)
    (r, c), = np.argwhere(shifted[0, 0] == 1)
    assert abs(r - 2) <= 1 and abs(c - 2) <= 1 and shifted.sum() == 1


def test_rotation_by_90_degrees():
    class Fixed:  # a generator that always draws the upper bound
        def uniform(self, lo, hi, n):
            return np.full(n, hi)

    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 0, 2] = 1  # top centre
    y = T.RandomRotation(90, generator=Fixed())(x)
    (r, c), = np.argwhere(y[0, 0] > 0.5)
    assert (r, c) in [(2, 0), (2, 4)]  # a quarter turn puts it at the middle of a side
