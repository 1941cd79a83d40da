"""torch.nn.utils: the gradient utilities clip_grad_norm_, get_total_norm, clip_grads_with_norm_,
clip_grad_value_, parameters_to_vector, vector_to_parameters (`foreach` is accepted and changes nothing:
there is one NumPy path), skip_init, the variable-length sequence tools in nn.utils.rnn, parametrize and
parametrizations (weight_norm, spectral_norm), the older hook-based weight_norm and spectral_norm, the
conv/linear + batch-norm fusions, stateless.functional_call, and convert_conv2d/3d_weight_memory_format
(which check their format and keep the weights C-contiguous; see nn.utils.memory_format). The submodules
clip_grad and convert_parameters hold the gradient and vector utilities, as torch's."""
import inspect

from ..module import Module
from . import clip_grad, convert_parameters, fusion, memory_format, parametrizations, parametrize, rnn, stateless
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .memory_format import convert_conv2d_weight_memory_format, convert_conv3d_weight_memory_format
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm", "parameters_to_vector",
           "vector_to_parameters", "skip_init", "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights", "weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm",
           "parametrize", "parametrizations", "rnn", "stateless", "clip_grad", "convert_parameters",
           "clip_grad_norm", "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) for a Module class that takes device=, as torch's skip_init.
    Deliberate difference: firstepoch has no "meta" device, so the parameters are initialised as usual
    (torch leaves them uninitialised: any values are within its contract, and yours are to be set)."""
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)
