"""Functional forms (firstepoch.nn.functional, as torch.nn.functional)."""
from ..autograd.loss import (binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss,  # noqa: F401
                             nll_loss)
from ..autograd.norm import batch_norm  # noqa: F401
from ..autograd.softmax import log_softmax, softmax  # noqa: F401
from ..tensor import Tensor
from .conv import adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, max_pool2d  # noqa: F401
from .dropout import dropout  # noqa: F401
from .linear import linear, linear_relu  # noqa: F401


# The pointwise activations are the Tensor methods themselves (F.relu(x) is x.relu()): one definition,
# which applies the op's Function from ops/elementwise.py.
relu = Tensor.relu
leaky_relu = Tensor.leaky_relu
sigmoid = Tensor.sigmoid
tanh = Tensor.tanh
softplus = Tensor.softplus
gelu = Tensor.gelu
