"""nn modules (convolutions, pools, padding, upsampling, dropout, ...) where a differential fuzz against
torch 2.13 (weights copied from torch, outputs and gradients compared) found them apart: constructor
checks with another error class, forward arguments torch takes and firstepoch refused. Expected results
are written out (so these run without torch)."""
import numpy as np
import pytest

import firstepoch as fe
from firstepoch import nn


def _x(*shape):
    return fe.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


# -- ConvTranspose forward(output_size=): an unbatched input may give (C, *spatial), as torch -----------------

def test_conv_transpose_output_size_with_the_channel_of_an_unbatched_input():
    m = nn.ConvTranspose1d(2, 3, 3, stride=2)
    assert m(_x(2, 4), output_size=[3, 10]).shape == (3, 10)  # (C, L): the C is dropped
    assert m(_x(1, 2, 4), output_size=[1, 3, 10]).shape == (1, 3, 10)
    with pytest.raises(ValueError, match="for 2D input, output_size must have 1 or 2 elements"):
        m(_x(2, 4), output_size=[1, 3, 10])  # (N, C, L) for an unbatched input: torch's ValueError
    m2 = nn.ConvTranspose2d(2, 3, 3, stride=2)
    assert m2(_x(2, 4, 5), output_size=(3, 10, 12)).shape == (3, 10, 12)


# -- constructor checks: torch's error classes ---------------------------------------------------------------

@pytest.mark.parametrize("cls", [nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d])
def test_conv_negative_channels_are_torchs_runtime_error(cls):
    with pytest.raises(RuntimeError, match="negative dimension.*in_channels=-1"):
        cls(-1, 4, 3)
    with pytest.raises(RuntimeError, match="negative dimension.*out_channels=-2"):
        cls(4, -2, 3)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv_transpose1d_string_padding_names_the_argument(padding):
    with pytest.raises(ValueError, match=f"ConvTranspose1d: padding must be an int or a tuple of ints, got '{padding}'"):
        nn.ConvTranspose1d(2, 2, 3, padding=padding)


# -- max/avg pooling: only the batch dim may be empty (torch's RuntimeError), not the channels --------------

@pytest.mark.parametrize("layer, shape", [(nn.MaxPool2d(2), (1, 0, 4, 4)), (nn.MaxPool2d(2), (0, 4, 4)),
                                          (nn.AvgPool2d(2), (1, 0, 4, 4)), (nn.AvgPool2d(2), (0, 4, 4)),
                                          (nn.MaxPool1d(2), (2, 0, 4)), (nn.MaxPool1d(2), (0, 4)),
                                          (nn.AvgPool1d(2), (1, 0, 4)), (nn.AvgPool1d(2), (0, 4)),
                                          (nn.MaxPool2d(2, return_indices=True), (1, 0, 4, 4))])
def test_pool_with_no_channels_raises_as_torch(layer, shape):
    with pytest.raises(RuntimeError, match=r"with optional 0 dim batch size for input, but got: \[.*0"):
        layer(fe.zeros(*shape))


def test_pool_of_an_empty_batch_is_empty():
    assert nn.MaxPool2d(2)(fe.zeros(0, 2, 4, 4)).shape == (0, 2, 2, 2)
    assert nn.AvgPool1d(2)(fe.zeros(0, 2, 4)).shape == (0, 2, 2)


# -- torch's _ConvNd hooks that ported conv subclasses call: _conv_forward, _reversed_padding_repeated_twice --

@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
def test_conv_forward_hook_with_a_transformed_weight(padding_mode):
    class ScaledConv(nn.Conv2d):  # the shape of timm's StdConv2d: forward transforms the weight, then convolves
        def forward(self, x):
            return self._conv_forward(x, self.weight * 2, None)

    m = ScaledConv(2, 3, 3, padding=1, padding_mode=padding_mode)
    plain = nn.Conv2d(2, 3, 3, padding=1, padding_mode=padding_mode, bias=False)
    plain.load_state_dict({"weight": m.weight.detach().numpy()})
    x = _x(1, 2, 5, 5)
    np.testing.assert_allclose(m(x).detach().numpy(), 2 * plain(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    c1 = nn.Conv1d(2, 3, 3)
    np.testing.assert_allclose(c1._conv_forward(_x(2, 6), c1.weight, c1.bias).detach().numpy(),
                               c1(_x(2, 6)).detach().numpy())


def test_conv_reversed_padding_repeated_twice_as_torch():
    assert tuple(nn.Conv2d(2, 2, (3, 4), padding="same", dilation=(1, 2))._reversed_padding_repeated_twice) == \
        (3, 3, 1, 1)
    assert tuple(nn.Conv2d(2, 2, 3, padding=(1, 2))._reversed_padding_repeated_twice) == (2, 2, 1, 1)
    assert tuple(nn.Conv1d(2, 2, 4, padding="same", dilation=3)._reversed_padding_repeated_twice) == (4, 5)
