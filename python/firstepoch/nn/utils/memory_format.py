"""torch.nn.utils.memory_format: convert_conv2d_weight_memory_format and convert_conv3d_weight_memory_format.

Deliberate difference: torch re-lays each convolution weight out in the memory format asked for; here
the format is checked as torch's clone checks it (a TypeError for a value that is no memory format, a
RuntimeError for a channels-last format of the wrong rank or for preserve_format), and the weights stay
C-contiguous, as the convolution kernels and the fused optimizer updates take them. The layout changes
only speed in torch, never a value, so the results are the same."""
from ... import _formats
from ..conv import Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, memory_format, kinds):
    """Checks memory_format against the weight of every module of `kinds` in module's tree (as torch's
    clone and resize_ would), leaves the weight as it is, and returns module."""
    if isinstance(module, kinds):
        _formats.channels_last_order(memory_format, module.weight.ndim, "clone", _formats.preserve_format)
        if memory_format is _formats.preserve_format:  # torch's resize_ refuses it
            raise RuntimeError("Unsupported memory formatPreserve")
    for child in module.children():
        _convert(child, memory_format, kinds)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """As torch.nn.utils.convert_conv2d_weight_memory_format: every Conv2d and ConvTranspose2d in module's
    tree, the module returned; the format is checked, the weights stay C-contiguous (see the module's
    docstring)."""
    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module, memory_format):
    """As torch.nn.utils.convert_conv3d_weight_memory_format, for Conv3d and ConvTranspose3d (see
    convert_conv2d_weight_memory_format)."""
    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
